import { describe, expect, it } from 'vitest'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { turn, withMaster } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

const NS = 'order'
const REPLY = `${NS}/reply/c1`

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


function submit(id: string): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'submit', id, kind: 'noop', replyTo: REPLY })
}

describe('nothing is said before its write is durable', () => {
  it('a reply waits for the flush that follows its save, not for one already in flight', async () => {
    const store = new HeldStore()
    await withMaster(
      NS,
      async (_master, transport) => {
        try {
          const accepted = () =>
            transport.sent
              .filter((m) => m.topic === REPLY)
              .map((m) => JSON.parse(m.payload.toString()))
              .filter((r) => r.type === 'accepted')
              .map((r) => r.jobId)
          transport.deliver(topics.submit(NS), submit('first'))
          await turn()
          await turn()
          expect(store.held).toHaveLength(1) // the flush covering `first` is in flight
          transport.deliver(topics.submit(NS), submit('second'))
          await turn()
          await turn()
          expect(store.held).toHaveLength(2) // `second` got a flush of its own, made after its save
          store.held[0]!()
          await turn()
          expect(accepted()).toEqual(['first'])
          store.held[1]!()
          await turn()
          expect(accepted()).toEqual(['first', 'second'])
        } finally {
          store.releaseAll()
        }
      },
      store,
    )
  })

  it('after failed flushes, the replies wait, are retried without new traffic, and keep their order', async () => {
    const store = new HeldStore()
    await withMaster(
      NS,
      async (master, transport) => {
        try {
          const accepted = () =>
            transport
              .messagesOn(REPLY)
              .filter((r) => r.type === 'accepted')
              .map((r) => r.jobId)
          transport.deliver(topics.submit(NS), submit('a'))
          await turn()
          await turn()
          transport.deliver(topics.submit(NS), submit('b'))
          await turn()
          await turn()
          expect(store.held).toHaveLength(2)
          // The disk fails both, in the order they were made (as the store settles them).
          store.fail[0]!(new Error('disk on fire'))
          store.fail[1]!(new Error('disk on fire'))
          await turn()
          expect(accepted()).toEqual([])
          // No 'error' listener: the failure is logged, never thrown. A retry comes on its own.
          await waitFor(() => store.held.length === 3, { timeoutMs: 5000, what: 'a retried flush' })
          store.held[2]!()
          await waitFor(() => accepted().length === 2, { timeoutMs: 2000, what: 'both accepted' })
          expect(accepted()).toEqual(['a', 'b'])
          expect(master.listenerCount('error')).toBe(0)
        } finally {
          store.releaseAll()
        }
      },
      store,
    )
  })
})
