import { afterEach, describe, expect, it } from 'vitest'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { waitFor } from '../helpers/wait.js'

/** A store whose flushes resolve only when the test says so, one by one, as a slow disk would. */
class HeldStore extends MemoryJobStore {
  readonly held: Array<() => void> = []
  readonly fail: Array<(error: Error) => void> = []
  private released = false
  override flush(): Promise<void> {
    if (this.released) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.held.push(resolve)
      this.fail.push(reject)
    })
  }
  /** From now on flushes resolve at once (so the master can close). */
  releaseAll(): void {
    this.released = true
    for (const resolve of this.held.splice(0)) resolve()
  }
}

/**
 * A master on a real broker whose store the test holds: what a submitter hears, over MQTT, must
 * wait for the flush that made it durable (docs/protocol.md §4: `accepted` means stored).
 */
describe('nothing is said before its write is durable', () => {
  let cluster: TestCluster
  let submitter: PlainSubmitter
  let store: HeldStore
  afterEach(async () => {
    store?.releaseAll()
    await submitter?.close()
    await cluster?.close()
  })

  async function start() {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('order')
    store = new HeldStore()
    const { master } = await cluster.externalMaster(ns, store)
    submitter = await PlainSubmitter.connect(cluster.url, ns, 'c1')
    return master
  }

  const accepted = () =>
    [...submitter.replies.values()]
      .flat()
      .filter((r) => r.type === 'accepted')
      .map((r) => r.jobId)

  it('a reply waits for the flush that follows its save, not for one already in flight', async () => {
    await start()
    submitter.submit({ id: 'first', kind: 'noop' })
    await waitFor(() => store.held.length === 1, { what: 'the flush covering first, in flight' })
    submitter.submit({ id: 'second', kind: 'noop' })
    await waitFor(() => store.held.length === 2, { what: 'a flush of its own for second, made after its save' })
    expect(accepted()).toEqual([])
    store.held[0]!()
    await waitFor(() => accepted().length > 0, { what: 'first accepted' })
    // Had `second` ridden on the first flush, it would have been published with `first`, in the same turn.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(accepted()).toEqual(['first'])
    store.held[1]!()
    await waitFor(() => accepted().length === 2, { what: 'second accepted' })
    expect(accepted()).toEqual(['first', 'second'])
  })

  it('after failed flushes, the replies wait, are retried without new traffic, and keep their order', async () => {
    const master = await start()
    submitter.submit({ id: 'a', kind: 'noop' })
    await waitFor(() => store.held.length === 1, { what: 'the flush covering a' })
    submitter.submit({ id: 'b', kind: 'noop' })
    await waitFor(() => store.held.length === 2, { what: 'the flush covering b' })
    // The disk fails both, in the order they were made (as the store settles them).
    store.fail[0]!(new Error('disk on fire'))
    store.fail[1]!(new Error('disk on fire'))
    // No 'error' listener: the failure is logged, never thrown. A retry comes on its own.
    await waitFor(() => store.held.length === 3, { timeoutMs: 5000, what: 'a retried flush' })
    expect(accepted()).toEqual([])
    store.held[2]!()
    await waitFor(() => accepted().length === 2, { timeoutMs: 2000, what: 'both accepted' })
    expect(accepted()).toEqual(['a', 'b'])
    expect(master.listenerCount('error')).toBe(0)
  })
})
