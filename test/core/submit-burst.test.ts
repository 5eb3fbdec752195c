import { describe, expect, it, vi } from 'vitest'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { turn, withMaster } from '../helpers/recording-transport.js'

const NS = 'burst'
const REPLY = `${NS}/reply/c1`

function submit(id: string): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'submit', id, kind: 'noop', replyTo: REPLY })
}

function rpc(id: string, method: string, params: unknown): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'rpc', id, method, params, replyTo: REPLY })
}



describe('submits admitted a burst at a time', () => {
  it('one store lookup serves every submit of a turn', async () => {
    await withMaster(NS, async (_master, transport, store) => {
      const getMany = vi.spyOn(store, 'getMany')
      for (let i = 0; i < 50; i++) transport.deliver(topics.submit(NS), submit(`b${i}`))
      await turn()
      expect(getMany).toHaveBeenCalledTimes(1)
      expect(getMany.mock.calls[0]![0]).toHaveLength(50)
      await store.flush()
      await turn()
      expect(transport.messagesOn(REPLY).filter((r) => r.type === 'accepted')).toHaveLength(50)
    })
  })

  it('a message that arrives after a submit, in the same turn, sees the job admitted', async () => {
    await withMaster(NS, async (_master, transport) => {
      transport.deliver(topics.submit(NS), submit('early'))
      transport.deliver(topics.rpc(NS), rpc('r1', 'jobs.cancel', { id: 'early' }))
      await turn()
      await turn()
      const answer = transport.messagesOn(REPLY).find((r) => r.type === 'rpc' && r.correlationId === 'r1')
      expect(answer).toMatchObject({ ok: true })
      expect(transport.messagesOn(REPLY).find((r) => r.type === 'result' && r.jobId === 'early')).toMatchObject({ state: 'canceled' })
    })
  })

  it('the same id twice in one burst makes one job; the second submit hears it is a duplicate', async () => {
    await withMaster(NS, async (master, transport) => {
      transport.deliver(topics.submit(NS), submit('twice'))
      transport.deliver(topics.submit(NS), submit('twice'))
      await turn()
      await turn()
      expect(master.ctx.counters.toJSON()).toMatchObject({ admitted: 1, duplicate_submits: 1 })
      const accepted = transport.messagesOn(REPLY).filter((r) => r.type === 'accepted' && r.jobId === 'twice')
      expect(accepted).toHaveLength(2)
      expect(accepted.filter((r) => r.duplicate === true)).toHaveLength(1)
    })
  })

  it('the same id twice in one burst stays one job when the first is parked at once (a long queue)', async () => {
    await withMaster(
      NS,
      async (master, transport) => {
        for (let i = 0; i < 3; i++) transport.deliver(topics.submit(NS), submit(`ahead-${i}`))
        await turn()
        transport.deliver(topics.submit(NS), submit('parked'))
        transport.deliver(topics.submit(NS), submit('parked'))
        await turn()
        await turn()
        expect(master.ctx.active.has('parked')).toBe(false) // parked: the queue is past parkAbove
        expect(master.ctx.counters.toJSON()).toMatchObject({ admitted: 4, duplicate_submits: 1 })
        const accepted = transport.messagesOn(REPLY).filter((r) => r.type === 'accepted' && r.jobId === 'parked')
        expect(accepted.map((r) => r.duplicate ?? false)).toEqual([false, true])
      },
      undefined,
      { parkAbove: 1 },
    )
  })
})
