import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, encode, jobReplySchema, replyBatchSchema, topics } from '../../src/protocol/index.js'
import { Notifier } from '../../broker/master/notifier.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import { RecordingTransport, turn, withMaster } from '../helpers/recording-transport.js'

const NS = 'rbatch'
const REPLY = `${NS}/reply/c1`

function submit(id: string, batchReplies?: boolean): Buffer {
  return encode({ v: PROTOCOL_VERSION, type: 'submit', id, kind: 'noop', progress: false, replyTo: REPLY, ...(batchReplies === undefined ? {} : { batchReplies }) })
}



describe('reply batches (the batchReplies extension, docs/protocol.md §14)', () => {
  it('the replies one commit releases for batchReplies jobs go out as one batch message, in order', async () => {
    await withMaster(NS, async (_master, transport, store) => {
      for (let i = 0; i < 5; i++) transport.deliver(topics.submit(NS), submit(`b${i}`, true))
      await turn()
      await store.flush()
      await turn()
      const messages = transport.messagesOn(REPLY)
      expect(messages).toHaveLength(1)
      const batch = replyBatchSchema.parse(messages[0])
      expect(batch.replies.map((r) => [r.type, r.jobId])).toEqual([0, 1, 2, 3, 4].map((i) => ['accepted', `b${i}`]))
    })
  })

  it('a submitter that did not ask (a third-party client) gets every reply on its own, as DESIGN §3 has it', async () => {
    await withMaster(NS, async (_master, transport, store) => {
      for (let i = 0; i < 5; i++) transport.deliver(topics.submit(NS), submit(`p${i}`, i % 2 === 0 ? undefined : false))
      await turn()
      await store.flush()
      await turn()
      const messages = transport.messagesOn(REPLY)
      expect(messages).toHaveLength(5)
      for (const message of messages) expect(jobReplySchema.parse(message)).toMatchObject({ type: 'accepted' })
    })
  })

  it('a lone reply goes out as itself, even for a batchReplies job', async () => {
    await withMaster(NS, async (_master, transport, store) => {
      transport.deliver(topics.submit(NS), submit('alone', true))
      await turn()
      await store.flush()
      await turn()
      const messages = transport.messagesOn(REPLY)
      expect(messages).toHaveLength(1)
      expect(jobReplySchema.parse(messages[0])).toMatchObject({ type: 'accepted', jobId: 'alone' })
    })
  })

  it('a reply that cannot be encoded costs only itself: the rest of its batch goes out one by one', () => {
    // Nobody follows these jobs, so only the reply topic is written.
    const transport = Object.assign(new RecordingTransport(), { hasSubscribers: () => false })
    const notifier = new Notifier(transport, NS)
    const job = (id: string) => ({ id, replyTo: REPLY, spec: { batchReplies: true, progress: true } }) as unknown as JobRecord
    const errors: unknown[] = []
    notifier.batched(() => {
      notifier.toJob(job('ok-1'), { type: 'accepted', state: 'queued' })
      notifier.toJob(job('bad'), { type: 'progress', state: 'running', attempt: 1, detail: { big: 1n } })
      notifier.toJob(job('ok-2'), { type: 'accepted', state: 'queued' })
    }, (error) => errors.push(error))
    expect(errors).toHaveLength(2) // the batch, then the one reply inside it
    expect(transport.messagesOn(REPLY).map((r) => r.jobId)).toEqual(['ok-1', 'ok-2'])
  })
})
