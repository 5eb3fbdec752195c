import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'

describe('end-to-end flow', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('runs jobs across two workers, each with exactly one result', async () => {
    cluster = await TestCluster.start()
    const a = await cluster.worker({ slots: 4 })
    const b = await cluster.worker({ slots: 4 })
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).filter((n) => n.state === 'online').length === 2, { what: 'two nodes online' })
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.submit({ id: `job-${i}`, kind: 'noop', sleepMs: 2 })),
    )
    expect(results.every((r) => r.type === 'result' && r.state === 'succeeded')).toBe(true)
    const byNode = new Map<string, number>()
    for (const r of results) if (r.type === 'result') byNode.set(r.node!, (byNode.get(r.node!) ?? 0) + 1)
    expect(byNode.get(a.id)).toBeGreaterThan(0)
    expect(byNode.get(b.id)).toBeGreaterThan(0)
    expect(new Set(results.map((r) => (r as { jobId: string }).jobId)).size).toBe(200)
  })

  it('rejects wait:false with NO_NODE within 1 s when no worker is online', async () => {
    cluster = await TestCluster.start()
    const client = await cluster.client()
    const started = Date.now()
    const reply = await client.submit({ kind: 'noop', wait: false })
    expect(reply.type).toBe('rejected')
    expect(reply.type === 'rejected' && reply.code).toBe('NO_NODE')
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('queues by default and runs the job once a worker joins', async () => {
    cluster = await TestCluster.start()
    const client = await cluster.client()
    const events: string[] = []
    const done = client.submit({ kind: 'noop' }, { onEvent: (e) => events.push(e.type === 'progress' ? `progress:${e.state}` : e.type) })
    await waitFor(() => events.includes('progress:waiting'), { what: 'waiting notice' })
    await cluster.worker()
    const result = await done
    expect(result.type === 'result' && result.state).toBe('succeeded')
  })
})
