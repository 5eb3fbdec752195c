import { afterEach, describe, expect, it } from 'vitest'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import type { FinalReply } from '../../src/client/client.js'
import type { JobReply } from '../../src/protocol/index.js'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `edgerun master` against a broker that stays up while the master restarts: the broker keeps
 * every retained birth, published at each worker's connect, so their `running[]` is stale.
 */
describe('an external master restarting behind a broker that stays up', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  const startMaster = (ns: string, store: MemoryJobStore) => cluster.externalMaster(ns, store, { reconcileMs: 3000 })

  it('a node\'s stale retained birth does not cost its running job an attempt', async () => {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('ext')
    const store = new MemoryJobStore()
    const first = await startMaster(ns, store)
    await cluster.worker({ namespace: ns, id: 'steady' })
    const client = await cluster.client({ namespace: ns })
    const events: JobReply[] = []
    const done = client.submit({ id: 'long', kind: 'noop', sleepMs: 1500, maxAttempts: 1 }, { onEvent: (e) => events.push(e) }) as Promise<FinalReply>
    await waitFor(() => events.some((e) => e.type === 'progress' && e.state === 'running'), { what: 'running' })
    // The master dies without a word; the broker and the worker's connection stay up.
    await first.connection.close({ force: true })
    await startMaster(ns, store)
    expect(await done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, node: 'steady' })
  })

  it('a submit sent while no master listens is sent again when a master comes up', async () => {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('ext')
    const store = new MemoryJobStore()
    const first = await startMaster(ns, store)
    await cluster.worker({ namespace: ns, id: 'w' })
    const client = await cluster.client({ namespace: ns })
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ state: 'succeeded' })
    await first.connection.close({ force: true })
    const lost = client.submit({ id: 'while-down', kind: 'noop' }) as Promise<FinalReply>
    await new Promise((resolve) => setTimeout(resolve, 100))
    await startMaster(ns, store)
    expect(await lost).toMatchObject({ type: 'result', jobId: 'while-down', state: 'succeeded' })
  })
})

describe('a job every capable node refuses as UNSUPPORTED', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('fails instead of waiting forever, and the jobs behind it still run', async () => {
    cluster = await TestCluster.start()
    const fake = new FakeWorker(cluster.url, cluster.namespace, 'picky')
    await fake.connect()
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).length === 1, { what: 'node' })
    const refused = client.submit({ id: 'refused', kind: 'noop' }) as Promise<FinalReply>
    const assign = await fake.nextAssign()
    await fake.send({ type: 'rejected', jobId: assign.job.id, attempt: assign.attempt, epoch: assign.epoch, code: 'UNSUPPORTED', message: 'not today' })
    const result = await refused
    expect(result).toMatchObject({ type: 'result', state: 'failed' })
    expect(result.type === 'result' && result.error).toMatch(/refused it; last: .*not today/)
    const next = client.submit({ id: 'next', kind: 'noop' }) as Promise<FinalReply>
    const second = await fake.nextAssign(1)
    await fake.result(second)
    expect(await next).toMatchObject({ type: 'result', state: 'succeeded' })
    await fake.stop()
  })
})
