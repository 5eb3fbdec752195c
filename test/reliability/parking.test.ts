import { afterEach, describe, expect, it } from 'vitest'
import type { FinalReply } from '../../src/client/client.js'
import { TestCluster } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'

describe('a long queue parks its records in the store', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('parked jobs are dispatched, canceled and answered like any other', async () => {
    cluster = await TestCluster.start({ master: { parkAbove: 2 } })
    const client = await cluster.client()
    const results = Array.from({ length: 10 }, (_, i) => client.submit({ id: `p-${i}`, kind: 'noop', priority: i === 9 ? 5 : 0 }) as Promise<FinalReply>)
    await waitFor(async () => (await client.stats()).queued === 10, { what: '10 queued' })
    expect(cluster.broker.master.footprint().jobs).toBeLessThanOrEqual(3)
    expect(await client.cancelJob('p-5')).toMatchObject({ state: 'canceled' })
    expect((await client.getJob('p-6')).state).toBe('queued')
    await cluster.worker({ slots: 1 })
    const finals = await Promise.all(results)
    expect(finals.filter((r) => r.type === 'result' && r.state === 'succeeded')).toHaveLength(9)
    expect(finals[5]).toMatchObject({ type: 'result', state: 'canceled' })
    // Priority still rules when records are parked: p-9 ran first.
    const views = await client.listJobs({ limit: 20 })
    const byId = new Map(views.map((v) => [v.id, v]))
    expect(byId.get('p-9')!.updatedAt).toBeLessThanOrEqual(byId.get('p-0')!.updatedAt)
  })

  it('a late result for a requeued job that got parked still wins', async () => {
    cluster = await TestCluster.start({ master: { parkAbove: 0, ackTimeoutMs: 5000 } })
    const fake = new FakeWorker(cluster.url, cluster.namespace, 'fake-p')
    await fake.connect()
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).length === 1, { what: 'node' })
    const done = client.submit({ id: 'late-parked', kind: 'noop' }) as Promise<FinalReply>
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    fake.die()
    await waitFor(async () => (await client.getJob('late-parked')).state === 'queued', { what: 'requeued' })
    await fake.connect()
    await fake.result(assign)
    expect(await done).toMatchObject({ type: 'result', state: 'succeeded', node: 'fake-p' })
    await fake.stop()
  })
})
