import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { waitFor } from '../helpers/wait.js'
import { turn, withMaster } from '../helpers/recording-transport.js'

const NS = 'budget'
const REPLY = `${NS}/reply/c1`

function submit(id: string, labels: string[], priority = 0): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'submit', id, kind: 'noop', priority, requires: { labels }, replyTo: REPLY })
}

function birth(labels: string[], epoch = 'n1.1'): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch, slots: 1, labels, capabilities: { languages: [], commands: [] }, running: [], version: 'test', ts: Date.now() })
}

describe('read-ahead memory', () => {
  it('shares one readAhead budget among the queue classes', async () => {
    await withMaster(
      NS,
      async (master, transport) => {
        for (let i = 0; i < 10; i++) transport.deliver(topics.submit(NS), submit(`a-${i}`, ['a']))
        for (let i = 0; i < 10; i++) transport.deliver(topics.submit(NS), submit(`b-${i}`, ['b']))
        await turn()
        await turn()
        const resident = (prefix: string) => [...master.ctx.active.keys()].filter((id) => id.startsWith(prefix)).length
        expect(resident('a-') + resident('b-')).toBeLessThanOrEqual(3) // parkAbove 1, plus the heads
        // A node that can run only the `a` jobs takes one; the master reads ahead once idle.
        transport.deliver(topics.nodeState(NS, 'n1'), birth(['a']))
        await waitFor(() => master.ctx.counters.get('read_ahead') > 0, { what: 'a read-ahead' })
        await turn()
        // Two classes, a budget of 4: the next two of each class, and nothing past them.
        expect(master.ctx.active.has('a-1') && master.ctx.active.has('a-2')).toBe(true)
        expect(master.ctx.active.has('a-3')).toBe(false)
        expect(master.ctx.active.has('b-0') && master.ctx.active.has('b-1')).toBe(true)
        expect(master.ctx.active.has('b-2')).toBe(false)
      },
      undefined,
      { parkAbove: 1, readAhead: 4 },
    )
  })

  it('parks again what it loaded once jobs of a higher priority push it out of the window', async () => {
    await withMaster(
      NS,
      async (master, transport, store) => {
        const residentQueued = () => [...master.ctx.active.values()].filter((job) => job.state === 'queued').length
        const counts: number[] = []
        for (let round = 1; round <= 6; round++) {
          // Each round, higher-priority jobs arrive ahead of everything read ahead before.
          for (let i = 0; i < 10; i++) transport.deliver(topics.submit(NS), submit(`p${round}-${i}`, [], round))
          await turn()
          await turn()
          const before = master.ctx.counters.get('read_ahead')
          transport.deliver(topics.nodeState(NS, `n${round}`), birth([], `n${round}.1`))
          await waitFor(() => master.ctx.counters.get('read_ahead') > before, { what: `read-ahead in round ${round}` })
          await turn()
          counts.push(residentQueued())
        }
        // parkAbove 1 plus the window of 4 plus a head or two; without parking again: 4, 8, 12 …
        expect(Math.max(...counts)).toBeLessThanOrEqual(1 + 4 + 2)
        expect(master.ctx.counters.get('read_ahead_parked')).toBeGreaterThan(0)
        // What was parked again is in the store as it was in memory, and still queued.
        await store.flush()
        const parkedAgain = [...Array(6).keys()].flatMap((r) => [...Array(10).keys()].map((i) => `p${r + 1}-${i}`)).filter((id) => master.ctx.queue.has(id) && !master.ctx.active.has(id))
        expect(parkedAgain.length).toBeGreaterThan(0)
        for (const id of parkedAgain) expect(store.get(id)?.state).toBe('queued')
      },
      undefined,
      { parkAbove: 1, readAhead: 4 },
    )
  })
})
