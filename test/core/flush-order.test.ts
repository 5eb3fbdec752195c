import { describe, expect, it } from 'vitest'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { turn, withMaster } from '../helpers/recording-transport.js'

const NS = 'order'
const REPLY = `${NS}/reply/c1`

/** A store whose flushes resolve only when the test says so, one by one, as a slow disk would. */
class HeldStore extends MemoryJobStore {
  readonly held: Array<() => void> = []
  private released = false
  override flush(): Promise<void> {
    if (this.released) return Promise.resolve()
    return new Promise((resolve) => this.held.push(resolve))
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
})
