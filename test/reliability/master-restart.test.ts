import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EdgerunClient, type FinalReply } from '../../src/client/client.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { spawnBroker, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { freePort } from '../helpers/ports.js'

const startBroker = (port: number, dataDir: string, namespace: string) => spawnBroker(port, dataDir, namespace, ['--reconcile-timeout', '1500'])

describe('master restart (kill -9 of the broker-master, same --data-dir and port)', () => {
  const processes: CliProcess[] = []
  const clients: EdgerunClient[] = []
  let dataDir: string
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()))
    for (const p of processes.splice(0)) p.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('keeps queued jobs, reconciles running ones, requeues orphans, and still delivers every result once', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgerun-restart-'))
    const port = await freePort()
    const ns = uniqueNamespace('restart')
    const url = `mqtt://127.0.0.1:${port}`
    let broker = await startBroker(port, dataDir, ns)
    processes.push(broker)
    const keeper = await spawnWorker(url, ns, 'keeper', ['--slots', '4', '--label', 'keeper'])
    const doomed = await spawnWorker(url, ns, 'doomed', ['--slots', '4', '--label', 'doomed'])
    processes.push(keeper, doomed)
    const client = await EdgerunClient.connect({ url, namespace: ns })
    clients.push(client)
    // What the submitter was finally handed (a result message, or a jobs.get catch-up when the
    // result went out while it was reconnecting), and every result message that reached it.
    const results = new Map<string, FinalReply[]>()
    const delivered = new Map<string, number>()
    client.on('reply', (reply) => {
      if (reply.type === 'result') delivered.set(reply.jobId, (delivered.get(reply.jobId) ?? 0) + 1)
    })
    const submit = (id: string, spec: Record<string, unknown>) => {
      results.set(id, [])
      void client.submit({ id, kind: 'noop', ...spec } as never).then((reply) => results.get(id)!.push(reply as FinalReply))
    }
    // running on a node that survives the restart
    submit('running-kept', { sleepMs: 2500, requires: { labels: ['keeper'] } })
    // running on a node that dies with the master and never comes back
    submit('running-orphan', { sleepMs: 2500, requires: { labels: ['doomed'] } })
    // queued: no node has the label yet
    submit('queued', { requires: { labels: ['later'] } })
    // already final before the crash
    submit('done-before', {})
    await waitFor(async () => {
      const [a, b, q, d] = await Promise.all(['running-kept', 'running-orphan', 'queued', 'done-before'].map((id) => client.getJob(id)))
      return a!.state === 'running' && b!.state === 'running' && q!.state === 'queued' && d!.state === 'succeeded'
    }, { timeoutMs: 10_000, what: 'jobs in each state' })

    broker.kill('SIGKILL')
    doomed.kill('SIGKILL')
    await broker.exited
    broker = await startBroker(port, dataDir, ns)
    processes.push(broker)
    // A node with the label the queued job needs joins after the restart; so does a generic one for the orphan.
    processes.push(await spawnWorker(url, ns, 'later', ['--label', 'later', '--label', 'doomed']))

    await waitFor(() => ['running-kept', 'running-orphan', 'queued'].every((id) => results.get(id)!.length > 0), {
      timeoutMs: 20_000,
      what: `all results: ${JSON.stringify([...results])}`,
    })
    const kept = results.get('running-kept')![0]!
    expect(kept).toMatchObject({ type: 'result', state: 'succeeded', node: 'keeper' })
    const orphan = results.get('running-orphan')![0]!
    expect(orphan).toMatchObject({ type: 'result', state: 'succeeded', node: 'later' })
    expect(results.get('queued')![0]).toMatchObject({ type: 'result', state: 'succeeded', node: 'later' })
    expect(results.get('done-before')).toHaveLength(1)
    expect((await client.getJob('done-before')).state).toBe('succeeded')
    // Nothing arrives twice.
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (const [id, list] of results) expect(list, id).toHaveLength(1)
    for (const [id, count] of delivered) expect(count, id).toBeLessThanOrEqual(1)
  })
})
