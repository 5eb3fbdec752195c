import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { waitFor } from '../helpers/wait.js'
import { turn, withMaster } from '../helpers/recording-transport.js'

const NS = 'budget'
const REPLY = `${NS}/reply/c1`

function submit(id: string, labels: string[]): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'submit', id, kind: 'noop', requires: { labels }, replyTo: REPLY })
}

function birth(labels: string[]): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch: 'n1.1', slots: 1, labels, capabilities: { languages: [], commands: [] }, running: [], version: 'test', ts: Date.now() })
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
})
