import { describe, expect, it } from 'vitest'
import { SentResults } from '../../broker/lease/sent-results.js'
import { Master } from '../../broker/master/master.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import { createJobStore } from '../../broker/store/index.js'
import { encode, workerEvent } from '../../src/protocol/index.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { RecordingTransport, withMaster } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

const EPOCH = 'oldproc.1'

/**
 * A result the previous master committed but never sent (docs/protocol.md §7a, "Results across a
 * failover"): the new master sends it once when the worker's outbox resends it, however many
 * times the outbox goes out before that first copy's commit is answered.
 */
describe('a result another master committed and never sent', () => {
  it('is sent once, though the worker resends it several times in a row; every copy is acknowledged', async () => {
    const ns = uniqueNamespace('resend')
    const store = createJobStore({ kind: 'memory' })
    // Ended by the master before this one: committed, its reply never left.
    const ended = endedJob(ns)
    store.save(ended)
    await store.flush()
    const transport = new RecordingTransport()
    const master = new Master({ namespace: ns }, { transport, store })
    // The standby watched every result since before the job ended, and saw none for it.
    master.noteSentResults([], ended.updatedAt - 5_000)
    await master.start()
    try {
      const result = resultEvent()
      const events = `${ns}/nodes/w1/events`
      // The outbox on the new master's `online`, and again on its `rebirth`, in one turn and later.
      transport.deliver(events, result)
      transport.deliver(events, result)
      await new Promise((resolve) => setImmediate(resolve))
      transport.deliver(events, result)
      const results = () => transport.messagesOn(`${ns}/reply/sub`).filter((m) => m.type === 'result')
      const acks = () => transport.messagesOn(`${ns}/nodes/w1/control`).filter((m) => m.op === 'ack')
      await waitFor(() => acks().length >= 3, { what: 'every copy acknowledged' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(results()).toHaveLength(1)
      expect(results()[0]).toMatchObject({ jobId: 'r1', state: 'succeeded', attempts: 1, node: 'w1' })
      transport.deliver(events, result)
      await waitFor(() => acks().length >= 4, { what: 'a later copy acknowledged' })
      expect(results()).toHaveLength(1)
    } finally {
      await master.close()
      await store.close()
    }
  })

  it('is not sent by a master that knows nothing of what was sent (a restart, no standby watching): the worker gets an ack, the submitter\'s resubmit gets the result', async () => {
    const ns = uniqueNamespace('resend')
    const store = createJobStore({ kind: 'memory' })
    store.save(endedJob(ns))
    await store.flush()
    await withMaster(
      ns,
      async (_master, transport) => {
        transport.deliver(`${ns}/nodes/w1/events`, resultEvent())
        const acks = () => transport.messagesOn(`${ns}/nodes/w1/control`).filter((m) => m.op === 'ack')
        await waitFor(() => acks().length >= 1, { what: 'the copy acknowledged' })
        await new Promise((resolve) => setTimeout(resolve, 50))
        // It may well have reached the submitter before the restart: no copy on a guess.
        expect(transport.messagesOn(`${ns}/reply/sub`)).toEqual([])
      },
      store,
    )
  })

  it('is not sent again when a standby saw the old master send it (only its ack was lost): the worker gets an ack', async () => {
    const ns = uniqueNamespace('resend')
    const store = createJobStore({ kind: 'memory' })
    store.save(endedJob(ns))
    await store.flush()
    // What the standby's subscription to {ns}/reply/+ heard while the old master was active.
    const seen = new SentResults()
    seen.add(`${ns}/reply/sub`, Buffer.from(JSON.stringify({ v: 1, type: 'accepted', state: 'queued', jobId: 'r1' })))
    seen.add(`${ns}/reply/sub`, Buffer.from(JSON.stringify({ v: 1, type: 'result', state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true }, jobId: 'r1' })))
    seen.add(`${ns}/reply/other`, Buffer.from(JSON.stringify({ v: 1, type: 'batch', replies: [{ v: 1, type: 'result', state: 'failed', attempts: 1, node: 'w1', output: null, jobId: 'b1', correlationId: 'c' }] })))
    expect(seen.size).toBe(2)
    const transport = new RecordingTransport()
    const master = new Master({ namespace: ns }, { transport, store })
    master.noteSentResults(seen.take())
    await master.start()
    try {
      transport.deliver(`${ns}/nodes/w1/events`, resultEvent())
      const acks = () => transport.messagesOn(`${ns}/nodes/w1/control`).filter((m) => m.op === 'ack')
      await waitFor(() => acks().length >= 1, { what: 'the copy acknowledged' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(transport.messagesOn(`${ns}/reply/sub`)).toEqual([])
    } finally {
      await master.close()
      await store.close()
    }
  })
})

describe('results the previous master committed in its last moments, looked for at takeover', () => {
  it('sends each that no standby saw sent, once; a later copy from an outbox gets an ack only', async () => {
    const ns = uniqueNamespace('unsent')
    const store = createJobStore({ kind: 'memory' })
    const seenSent = endedJob(ns, 'seen')
    const neverSent = endedJob(ns, 'never')
    const live: JobRecord = { ...endedJob(ns, 'live'), state: 'running', finalState: undefined }
    for (const job of [seenSent, neverSent, live]) store.save(job)
    await store.flush()
    const seen = new SentResults()
    seen.add(`${ns}/reply/sub`, Buffer.from(JSON.stringify({ v: 1, type: 'result', state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true }, jobId: 'seen' })))
    const transport = new RecordingTransport()
    const master = new Master({ namespace: ns }, { transport, store })
    master.noteSentResults(seen.take(), neverSent.updatedAt - 5_000)
    await master.start()
    try {
      expect(master.sendUnsentResults([seenSent, neverSent, live])).toBe(1)
      const results = () => transport.messagesOn(`${ns}/reply/sub`).filter((m) => m.type === 'result')
      // It leaves after the commit in hand, as every reply does.
      await waitFor(() => results().length > 0, { what: 'the unsent result' })
      expect(results()).toEqual([expect.objectContaining({ jobId: 'never', state: 'succeeded', node: 'w1' })])
      // The worker was not dead after all: its outbox brings the same result.
      transport.deliver(`${ns}/nodes/w1/events`, resultEvent('never'))
      const acks = () => transport.messagesOn(`${ns}/nodes/w1/control`).filter((m) => m.op === 'ack')
      await waitFor(() => acks().length >= 1, { what: 'the copy acknowledged' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(results()).toHaveLength(1)
      expect(master.sendUnsentResults([neverSent])).toBe(0)
      expect(master.counter('results_resent_after_takeover')).toBe(1)
    } finally {
      await master.close()
      await store.close()
    }
  })
})

function resultEvent(jobId = 'r1'): Buffer {
  return encode(workerEvent.result({ jobId, attempt: 1, epoch: EPOCH }, { state: 'succeeded', output: { ok: true } }))
}

/** Ended by the master before this one (a second ago), on w1's first attempt. */
function endedJob(ns: string, id = 'r1'): JobRecord {
  const endedAt = Date.now() - 1_000
  return {
    id,
    spec: { kind: 'noop', id, priority: 0, timeoutMs: 60_000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: false },
    state: 'succeeded',
    finalState: 'succeeded',
    attempts: 1,
    output: { ok: true },
    replyTo: `${ns}/reply/sub`,
    owner: 'sub',
    priority: 0,
    seq: 1,
    createdAt: endedAt - 100,
    updatedAt: endedAt,
    attempt: 1,
    charged: 0,
    node: 'w1',
    epoch: EPOCH,
    history: [{ attempt: 1, node: 'w1', epoch: EPOCH, at: endedAt - 50 }],
  }
}
