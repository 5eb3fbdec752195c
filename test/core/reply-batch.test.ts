import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { LIMITS, PROTOCOL_VERSION, jobReplySchema, replyBatchSchema, topics } from '../../src/protocol/index.js'
import { Notifier } from '../../broker/master/notifier.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { RecordingTransport } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

const NS = 'rbatch'
const REPLY = `${NS}/reply/c1`

describe('reply batches (the batchReplies extension, docs/protocol.md §14)', () => {
  let cluster: TestCluster | undefined
  let submitter: PlainSubmitter | undefined
  afterEach(async () => {
    await submitter?.close()
    await cluster?.close()
    cluster = submitter = undefined
  })

  /** A plain MQTT submitter on a real broker; a burst of submits is one TCP write, so one commit answers it. */
  async function start() {
    cluster = await TestCluster.start()
    submitter = await PlainSubmitter.connect(cluster.url, cluster.namespace, 'c1')
    return submitter
  }

  /** Replies that arrived, batches opened up. */
  const replies = (s: PlainSubmitter) => s.messages.flatMap((m) => (m.type === 'batch' ? (m.replies as Array<Record<string, unknown>>) : [m]))
  /** Long enough for a reply that should not come to have come. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100))

  it('the replies one commit releases for batchReplies jobs go out as one batch message, in order', async () => {
    const s = await start()
    s.submitTogether(Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, kind: 'noop', progress: false, batchReplies: true })))
    await waitFor(() => replies(s).length >= 10, { what: 'ten replies' })
    await settle()
    expect(s.messages).toHaveLength(1)
    const batch = replyBatchSchema.parse(s.messages[0])
    // No node is online: every submitter hears `waiting` after `accepted`, asked for progress or not.
    expect(batch.replies.map((r) => [r.type, r.jobId])).toEqual([0, 1, 2, 3, 4].flatMap((i) => [['accepted', `b${i}`], ['progress', `b${i}`]]))
  })

  it('a submitter that did not ask (a third-party client) gets every reply on its own, as docs/protocol.md §5 has it', async () => {
    const s = await start()
    s.submitTogether(Array.from({ length: 5 }, (_, i) => ({ id: `p${i}`, kind: 'noop', progress: false, ...(i % 2 === 0 ? {} : { batchReplies: false }) })))
    await waitFor(() => s.messages.length >= 10, { what: 'ten replies' })
    await settle()
    expect(s.messages).toHaveLength(10)
    const parsed = s.messages.map((message) => jobReplySchema.parse(message))
    expect(parsed.map((r) => r.type)).toEqual([0, 1, 2, 3, 4].flatMap(() => ['accepted', 'progress']))
    for (const reply of parsed.filter((r) => r.type === 'progress')) expect(reply).toMatchObject({ state: 'waiting' })
  })

  it('a lone reply goes out as itself, even for a batchReplies job', async () => {
    const s = await start()
    const ns = cluster!.namespace
    // A node is online, so `accepted` is the only reply the commit releases (no `waiting`). Sent
    // on the submitter's own connection, the birth reaches the master before the submit.
    s.send(topics.nodeState(ns, 'n1'), { v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch: 'n1.1', slots: 1, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: 'test', ts: Date.now() })
    s.submit({ id: 'alone', kind: 'noop', progress: false, batchReplies: true })
    await waitFor(() => s.messages.length > 0, { what: 'the reply' })
    await settle()
    expect(s.messages).toHaveLength(1)
    expect(jobReplySchema.parse(s.messages[0])).toMatchObject({ type: 'accepted', jobId: 'alone' })
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
    expect(errors).toHaveLength(1)
    const [batch] = transport.messagesOn(REPLY)
    expect(replyBatchSchema.parse(batch).replies.map((r) => r.jobId)).toEqual(['ok-1', 'ok-2'])
  })

  it('a batch stays under LIMITS.maxReplyBatchBytes: big results split it, and one too big for any batch goes alone', () => {
    const transport = Object.assign(new RecordingTransport(), { hasSubscribers: () => false })
    const notifier = new Notifier(transport, NS)
    const job = (id: string) => ({ id, replyTo: REPLY, spec: { batchReplies: true, progress: true } }) as unknown as JobRecord
    const result = (bytes: number) => ({ type: 'result' as const, state: 'failed' as const, attempts: 1, node: 'w1', output: null, error: 'x'.repeat(bytes) })
    notifier.batched(() => {
      for (let i = 0; i < 3; i++) notifier.toJob(job(`big-${i}`), result(100_000))
      notifier.toJob(job('huge'), result(LIMITS.maxReplyBatchBytes + 1))
      notifier.toJob(job('small'), { type: 'accepted', state: 'queued' })
    }, (error) => { throw error })
    const sizes = transport.sent.filter((m) => m.topic === REPLY).map((m) => m.payload.length)
    for (const size of sizes.filter((_, i) => i !== 2)) expect(size).toBeLessThanOrEqual(LIMITS.maxReplyBatchBytes + 200)
    const ids = transport.messagesOn(REPLY).map((m) => (m.type === 'batch' ? replyBatchSchema.parse(m).replies.map((r) => r.jobId) : [m.jobId]))
    expect(ids).toEqual([['big-0', 'big-1'], ['big-2'], ['huge'], ['small']])
  })

  it('the TS client takes every good reply of a batch, even beside a malformed one', async () => {
    const cluster = await TestCluster.start()
    try {
      // No worker: the job waits, and the test plays the master's part on the reply topic.
      const client = await cluster.client()
      const done = client.submit({ id: 'from-batch', kind: 'noop' })
      const raw = await mqtt.connectAsync(cluster.url)
      const good = { v: 1, type: 'result', jobId: 'from-batch', state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true } }
      const bad = { v: 1, type: 'result', jobId: 'from-batch', state: 'exploded' }
      await raw.publishAsync(client.replyTo, JSON.stringify({ v: 1, type: 'batch', replies: [bad, good] }), { qos: 1 })
      expect(await done).toMatchObject({ type: 'result', state: 'succeeded', node: 'w1' })
      await raw.endAsync()
    } finally {
      await cluster.close()
    }
  })
})
