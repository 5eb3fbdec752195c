import { describe, expect, it } from 'vitest'
import type { JobRecord } from '../../broker/store/job-record.js'
import { createJobStore } from '../../broker/store/index.js'
import { encode, workerEvent } from '../../src/protocol/index.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { withMaster } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A result the previous master committed but never sent (docs/protocol.md §7a, "Results across a
 * failover"): the new master sends it once when the worker's outbox resends it, however many
 * times the outbox goes out before that first copy's commit is answered.
 */
describe('a result another master committed and never sent', () => {
  it('is sent once, though the worker resends it several times in a row; every copy is acknowledged', async () => {
    const ns = uniqueNamespace('resend')
    const store = createJobStore({ kind: 'memory' })
    const epoch = 'oldproc.1'
    const endedAt = Date.now() - 1_000
    // Ended by the master before this one: committed, its reply never left.
    const ended: JobRecord = {
      id: 'r1',
      spec: { kind: 'noop', id: 'r1', priority: 0, timeoutMs: 60_000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: false },
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
      epoch,
      history: [{ attempt: 1, node: 'w1', epoch, at: endedAt - 50 }],
    }
    store.save(ended)
    await store.flush()
    await withMaster(
      ns,
      async (_master, transport) => {
        const result = encode(workerEvent.result({ jobId: 'r1', attempt: 1, epoch }, { state: 'succeeded', output: { ok: true } }))
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
      },
      store,
    )
  })
})
