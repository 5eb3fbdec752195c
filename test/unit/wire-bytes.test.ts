import mqtt from 'mqtt'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Notifier } from '../../broker/master/notifier.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import {
  assign,
  control,
  decodeReply,
  encode,
  jobFeed,
  jobReply,
  masterInstanceState,
  masterState,
  masterStats,
  nodeState,
  rejectedReply,
  replyBatch,
  replyBody,
  rpcReply,
  rpcRequest,
  serialize,
  submit,
  workerEvent,
  type ProtocolMessage,
} from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { RecordingTransport } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The bytes every message is sent as, pinned: key order included, since a third-party reader may
 * depend on it. These literals were captured from the code as it was before the typed builders of
 * src/protocol/messages.ts (the master's Notifier, the worker's and the client's own literals).
 */
const TS = 1764270000000
const NS = 'wire'
const REPLY = `${NS}/reply/c1`

/** Captured from the master's Notifier before the builders: what its replies, controls and states are. */
const MASTER_BYTES = {
  accepted: '{"v":1,"type":"accepted","state":"queued","jobId":"j1","correlationId":"c-1"}',
  duplicate: '{"v":1,"type":"accepted","state":"running","duplicate":true,"jobId":"j1"}',
  waiting: '{"v":1,"type":"progress","state":"waiting","attempt":0,"detail":"no online node supports noop jobs yet","jobId":"j1","correlationId":"c-1"}',
  assigned: '{"v":1,"type":"progress","state":"assigned","attempt":1,"node":"w1","jobId":"j1","correlationId":"c-1"}',
  running: '{"v":1,"type":"progress","state":"running","attempt":1,"jobId":"j1"}',
  requeued: '{"v":1,"type":"progress","state":"requeued","attempt":1,"detail":"node w1 went offline (connection lost)","jobId":"j1","correlationId":"c-1"}',
  relayed: '{"v":1,"type":"progress","state":"test","attempt":2,"node":"w1","detail":{"index":0,"total":2,"verdict":"AC"},"jobId":"j1","correlationId":"c-1"}',
  succeeded: '{"v":1,"type":"result","state":"succeeded","attempts":1,"node":"w1","output":{"ok":true},"jobId":"j1","correlationId":"c-1"}',
  gaveUp: '{"v":1,"type":"result","state":"failed","attempts":3,"node":"w3","output":null,"error":"gave up","code":"MAX_ATTEMPTS","lost":3,"jobId":"j1","correlationId":"c-1"}',
  rejected: '{"v":1,"type":"rejected","code":"UNSUPPORTED","message":"no online node supports command \\"ls\\"","jobId":"j1","correlationId":"c-9"}',
  rejectedBare: '{"v":1,"type":"rejected","code":"BAD_MESSAGE","message":"payload is not JSON"}',
  rpcOk: '{"v":1,"type":"rpc","correlationId":"r-1","ok":true,"result":{"id":"j1","state":"queued"}}',
  rpcError: '{"v":1,"type":"rpc","correlationId":"r-2","ok":false,"error":{"code":"NOT_FOUND","message":"no job j9"}}',
  assign: '{"v":1,"type":"assign","job":{"kind":"noop","id":"j1","priority":0,"timeoutMs":60000,"maxAttempts":3,"requires":{"labels":[]},"wait":true,"progress":false,"batchReplies":true},"attempt":1,"epoch":"abc.1","ackBy":1764270005000}',
  ack: '{"v":1,"type":"control","op":"ack","jobId":"j1","attempt":1}',
  ackBatch: '{"v":1,"type":"control","op":"ack","jobs":[{"jobId":"a","attempt":1},{"jobId":"b","attempt":2}]}',
  cancel: '{"v":1,"type":"control","op":"cancel","jobId":"j1"}',
  rebirth: '{"v":1,"type":"control","op":"rebirth"}',
  masterOnline: '{"v":1,"type":"master","state":"online","instance":"m1","ts":1764270000000}',
  masterOffline: '{"v":1,"type":"master","state":"offline","instance":"m1","ts":1764270000000}',
}

function job(overrides: Partial<JobRecord> & { spec?: Partial<JobRecord['spec']> } = {}): JobRecord {
  const { spec, ...rest } = overrides
  return { id: 'j1', replyTo: REPLY, correlationId: 'c-1', charged: 0, node: null, watchers: undefined, ...rest, spec: { progress: true, batchReplies: false, ...spec } } as unknown as JobRecord
}

function sent(transport: RecordingTransport): string[] {
  const out = transport.sent.map((m) => m.payload.toString())
  transport.sent.length = 0
  return out
}

describe('wire bytes (docs/protocol.md §5–§8)', () => {
  beforeEach(() => void vi.spyOn(Date, 'now').mockReturnValue(TS))
  afterEach(() => void vi.restoreAllMocks())

  it('master → client replies', () => {
    const transport = Object.assign(new RecordingTransport(), { hasSubscribers: () => false })
    const notifier = new Notifier(transport, NS)
    notifier.toJob(job(), { type: 'accepted', state: 'queued' })
    notifier.toTarget({ replyTo: REPLY }, 'j1', { type: 'accepted', state: 'running', duplicate: true })
    notifier.toJob(job(), { type: 'progress', state: 'waiting', attempt: 0, detail: 'no online node supports noop jobs yet' })
    notifier.toJob(job(), { type: 'progress', state: 'assigned', attempt: 1, node: 'w1' })
    notifier.toJob(job({ correlationId: undefined }), { type: 'progress', state: 'running', attempt: 1, node: undefined })
    notifier.toJob(job(), { type: 'progress', state: 'requeued', attempt: 1, detail: 'node w1 went offline (connection lost)' })
    notifier.toJob(job(), { type: 'progress', state: 'test', attempt: 2, node: 'w1', detail: { index: 0, total: 2, verdict: 'AC' } })
    notifier.toJob(job(), { type: 'result', state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true } })
    notifier.toJob(job(), { type: 'result', state: 'failed', attempts: 3, node: 'w3', output: null, error: 'gave up', code: 'MAX_ATTEMPTS', lost: 3 })
    notifier.rejected(REPLY, 'UNSUPPORTED', 'no online node supports command "ls"', { jobId: 'j1', correlationId: 'c-9' })
    notifier.rejected(REPLY, 'BAD_MESSAGE', 'payload is not JSON', {})
    notifier.rpc(REPLY, { correlationId: 'r-1', ok: true, result: { id: 'j1', state: 'queued' } })
    notifier.rpc(REPLY, { correlationId: 'r-2', ok: false, error: { code: 'NOT_FOUND', message: 'no job j9' } })
    expect(sent(transport)).toEqual([
      MASTER_BYTES.accepted,
      MASTER_BYTES.duplicate,
      MASTER_BYTES.waiting,
      MASTER_BYTES.assigned,
      MASTER_BYTES.running,
      MASTER_BYTES.requeued,
      MASTER_BYTES.relayed,
      MASTER_BYTES.succeeded,
      MASTER_BYTES.gaveUp,
      MASTER_BYTES.rejected,
      MASTER_BYTES.rejectedBare,
      MASTER_BYTES.rpcOk,
      MASTER_BYTES.rpcError,
    ])
  })

  it('a batch of replies, and a lone reply of a batchReplies job', () => {
    const transport = Object.assign(new RecordingTransport(), { hasSubscribers: () => false })
    const notifier = new Notifier(transport, NS)
    const batched = (id: string, correlationId?: string) => job({ id, correlationId, spec: { batchReplies: true, progress: false } })
    notifier.batched(() => {
      notifier.toJob(batched('a', 'c-a'), { type: 'accepted', state: 'queued' })
      notifier.toJob(batched('a', 'c-a'), { type: 'progress', state: 'waiting', attempt: 0, detail: 'why' })
      notifier.toJob(batched('b'), { type: 'result', state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true } })
    }, (error) => { throw error })
    notifier.batched(() => notifier.toJob(batched('c'), { type: 'accepted', state: 'queued' }), (error) => { throw error })
    expect(sent(transport)).toEqual([
      '{"v":1,"type":"batch","replies":[{"v":1,"type":"accepted","state":"queued","jobId":"a","correlationId":"c-a"},{"v":1,"type":"progress","state":"waiting","attempt":0,"detail":"why","jobId":"a","correlationId":"c-a"},{"v":1,"type":"result","state":"succeeded","attempts":1,"node":"w1","output":{"ok":true},"jobId":"b"}]}',
      '{"v":1,"type":"accepted","state":"queued","jobId":"c"}',
    ])
  })

  it('master → worker, and the master state', () => {
    const transport = new RecordingTransport()
    const notifier = new Notifier(transport, NS)
    const spec = { kind: 'noop', id: 'j1', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: true } as const
    notifier.assign('w1', { job: spec, attempt: 1, epoch: 'abc.1', ackBy: TS + 5000 })
    notifier.control('w1', 'ack', { jobId: 'j1', attempt: 1 })
    notifier.control('w1', 'ack', { jobs: [{ jobId: 'a', attempt: 1 }, { jobId: 'b', attempt: 2 }] })
    notifier.control('w1', 'cancel', { jobId: 'j1', attempt: undefined })
    notifier.control('w1', 'rebirth')
    notifier.masterState('online', 'm1')
    notifier.masterState('offline', 'm1')
    expect(sent(transport)).toEqual([
      MASTER_BYTES.assign,
      MASTER_BYTES.ack,
      MASTER_BYTES.ackBatch,
      MASTER_BYTES.cancel,
      MASTER_BYTES.rebirth,
      MASTER_BYTES.masterOnline,
      MASTER_BYTES.masterOffline,
    ])
  })

  it('worker → master', () => {
    const node = { slots: 2, labels: ['gpu'], capabilities: { languages: ['python3'], commands: ['echo'] }, version: '0.1.0', ts: TS, features: ['ack-batch'] }
    const ref = { jobId: 'j1', attempt: 1, epoch: 'abc.1' }
    const out = [
      nodeState({ ...node, state: 'online', epoch: 'abc.1', running: [{ jobId: 'j1', attempt: 1 }] }),
      nodeState({ ...node, state: 'offline', epoch: 'abc.2', running: [], reason: 'connection lost' }),
      workerEvent.accepted(ref),
      workerEvent.rejected(ref, 'BUSY', 'all 2 slots are taken'),
      workerEvent.progress(ref, 'test', { index: 0 }),
      workerEvent.result(ref, { state: 'succeeded', output: { ok: true } }),
      workerEvent.result(ref, { state: 'failed', output: null, error: 'worker error: boom' }),
    ].map((message) => encode(message).toString())
    expect(out).toEqual([
      '{"v":1,"type":"node","state":"online","epoch":"abc.1","slots":2,"labels":["gpu"],"capabilities":{"languages":["python3"],"commands":["echo"]},"running":[{"jobId":"j1","attempt":1}],"version":"0.1.0","ts":1764270000000,"features":["ack-batch"]}',
      '{"v":1,"type":"node","state":"offline","epoch":"abc.2","slots":2,"labels":["gpu"],"capabilities":{"languages":["python3"],"commands":["echo"]},"running":[],"version":"0.1.0","ts":1764270000000,"reason":"connection lost","features":["ack-batch"]}',
      '{"v":1,"type":"accepted","jobId":"j1","attempt":1,"epoch":"abc.1"}',
      '{"v":1,"type":"rejected","jobId":"j1","attempt":1,"epoch":"abc.1","code":"BUSY","message":"all 2 slots are taken"}',
      '{"v":1,"type":"progress","jobId":"j1","attempt":1,"epoch":"abc.1","state":"test","detail":{"index":0}}',
      '{"v":1,"type":"result","jobId":"j1","attempt":1,"epoch":"abc.1","state":"succeeded","output":{"ok":true}}',
      '{"v":1,"type":"result","jobId":"j1","attempt":1,"epoch":"abc.1","state":"failed","output":null,"error":"worker error: boom"}',
    ])
  })

  it('each builder of the master on its own', () => {
    const spec = { kind: 'noop', id: 'j1', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: true } as const
    const built: Record<keyof typeof MASTER_BYTES, ProtocolMessage> = {
      accepted: jobReply(replyBody.accepted('queued'), 'j1', 'c-1'),
      duplicate: jobReply(replyBody.accepted('running', true), 'j1'),
      waiting: jobReply(replyBody.waiting('no online node supports noop jobs yet'), 'j1', 'c-1'),
      assigned: jobReply(replyBody.progress('assigned', 1, { node: 'w1' }), 'j1', 'c-1'),
      running: jobReply(replyBody.progress('running', 1, { node: undefined }), 'j1'),
      requeued: jobReply(replyBody.progress('requeued', 1, { detail: 'node w1 went offline (connection lost)' }), 'j1', 'c-1'),
      relayed: jobReply(replyBody.progress('test', 2, { node: 'w1', detail: { index: 0, total: 2, verdict: 'AC' } }), 'j1', 'c-1'),
      // No attempt lost: no `lost` at all, as before.
      succeeded: jobReply(replyBody.result({ state: 'succeeded', attempts: 1, node: 'w1', output: { ok: true }, lost: 0 }), 'j1', 'c-1'),
      gaveUp: jobReply(replyBody.result({ state: 'failed', attempts: 3, node: 'w3', output: null, error: 'gave up', code: 'MAX_ATTEMPTS', lost: 3 }), 'j1', 'c-1'),
      rejected: rejectedReply('UNSUPPORTED', 'no online node supports command "ls"', { jobId: 'j1', correlationId: 'c-9' }),
      rejectedBare: rejectedReply('BAD_MESSAGE', 'payload is not JSON'),
      rpcOk: rpcReply('r-1', { ok: true, result: { id: 'j1', state: 'queued' } }),
      rpcError: rpcReply('r-2', { ok: false, error: { code: 'NOT_FOUND', message: 'no job j9' } }),
      assign: assign({ job: spec, attempt: 1, epoch: 'abc.1', ackBy: TS + 5000 }),
      ack: control('ack', { jobId: 'j1', attempt: 1 }),
      ackBatch: control('ack', { jobs: [{ jobId: 'a', attempt: 1 }, { jobId: 'b', attempt: 2 }] }),
      cancel: control('cancel', { jobId: 'j1' }),
      rebirth: control('rebirth'),
      masterOnline: masterState('online', 'm1'),
      masterOffline: masterState('offline', 'm1'),
    }
    expect(Object.fromEntries(Object.entries(built).map(([key, message]) => [key, encode(message).toString()]))).toEqual(MASTER_BYTES)
    const batch = replyBatch([serialize(jobReply(replyBody.accepted('queued'), 'a', 'c-a')), serialize(jobReply(replyBody.waiting('why'), 'a', 'c-a'))])
    expect(batch).toBe(
      '{"v":1,"type":"batch","replies":[{"v":1,"type":"accepted","state":"queued","jobId":"a","correlationId":"c-a"},{"v":1,"type":"progress","state":"waiting","attempt":0,"detail":"why","jobId":"a","correlationId":"c-a"}]}',
    )
  })

  it('the dashboard topics (docs/protocol.md §15), in the order the stats publisher and the job feed wrote them', () => {
    const summary = { id: 'j1', kind: 'noop', state: 'queued', priority: 0, owner: null, node: null, attempt: 0, createdAt: TS, updatedAt: TS } as const
    const stats = masterStats({
      instance: 'm1',
      ts: TS,
      jobs: { queued: 1, assigned: 0, running: 0, succeeded: 2, failed: 0, timed_out: 0, canceled: 0 },
      priorities: [{ priority: 0, queued: 1, assigned: 0, running: 0 }],
      rates: { submitted: 1, finished: 2, windowMs: 1000 },
      nodes: { online: 1, total: 1 },
      busy: { w1: 0 },
    })
    expect([jobFeed([summary]), jobFeed([summary], 3), stats].map((message) => encode(message).toString())).toEqual([
      '{"v":1,"type":"jobs","jobs":[{"id":"j1","kind":"noop","state":"queued","priority":0,"owner":null,"node":null,"attempt":0,"createdAt":1764270000000,"updatedAt":1764270000000}]}',
      '{"v":1,"type":"jobs","jobs":[{"id":"j1","kind":"noop","state":"queued","priority":0,"owner":null,"node":null,"attempt":0,"createdAt":1764270000000,"updatedAt":1764270000000}],"dropped":3}',
      '{"v":1,"type":"stats","instance":"m1","ts":1764270000000,"jobs":{"queued":1,"assigned":0,"running":0,"succeeded":2,"failed":0,"timed_out":0,"canceled":0},"priorities":[{"priority":0,"queued":1,"assigned":0,"running":0}],"rates":{"submitted":1,"finished":2,"windowMs":1000},"nodes":{"online":1,"total":1},"busy":{"w1":0}}',
    ])
  })

  it('an elected master: its term in assign and control, and both state topics (docs/protocol.md §7a)', () => {
    const transport = new RecordingTransport()
    const notifier = new Notifier(transport, NS, { term: 7, host: 'db1', pid: 4242 })
    const spec = { kind: 'noop', id: 'j1', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: true } as const
    notifier.assign('w1', { job: spec, attempt: 1, epoch: 'abc.1', ackBy: TS + 5000 })
    notifier.control('w1', 'ack', { jobId: 'j1', attempt: 1 })
    notifier.control('w1', 'rebirth')
    const standby = masterInstanceState('standby', 'm2', { host: 'db2', pid: 17 }, TS)
    const online = masterInstanceState('online', 'm1', { term: 7, host: 'db1', pid: 4242 }, TS)
    expect([...sent(transport), ...[masterState('online', 'm1', TS, { term: 7, host: 'db1', pid: 4242 }), masterState('offline', 'm1', TS, { term: 7 }), standby, online].map((m) => encode(m).toString())]).toEqual([
      '{"v":1,"type":"assign","job":{"kind":"noop","id":"j1","priority":0,"timeoutMs":60000,"maxAttempts":3,"requires":{"labels":[]},"wait":true,"progress":false,"batchReplies":true},"attempt":1,"epoch":"abc.1","ackBy":1764270005000,"term":7}',
      '{"v":1,"type":"control","op":"ack","jobId":"j1","attempt":1,"term":7}',
      '{"v":1,"type":"control","op":"rebirth","term":7}',
      '{"v":1,"type":"master","state":"online","instance":"m1","term":7,"host":"db1","pid":4242,"ts":1764270000000}',
      '{"v":1,"type":"master","state":"offline","instance":"m1","term":7,"ts":1764270000000}',
      '{"v":1,"type":"master","state":"standby","instance":"m2","host":"db2","pid":17,"ts":1764270000000}',
      '{"v":1,"type":"master","state":"online","instance":"m1","term":7,"host":"db1","pid":4242,"ts":1764270000000}',
    ])
  })

  it('each builder of the client on its own', () => {
    const replyTo = 'wire/reply/c1'
    const out = [
      submit({ id: 'j1', kind: 'noop', priority: 2, progress: false, batchReplies: true }, { id: 'j1', replyTo }),
      submit({ kind: 'noop', progress: true, batchReplies: true }, { id: 'j3', replyTo }),
      rpcRequest('r-1', 'jobs.get', { id: 'j1' }, replyTo),
      rpcRequest('r-2', 'jobs.list', undefined, replyTo),
    ].map((message) => encode(message).toString())
    expect(out).toEqual([
      '{"id":"j1","kind":"noop","priority":2,"progress":false,"batchReplies":true,"v":1,"type":"submit","replyTo":"wire/reply/c1"}',
      '{"kind":"noop","progress":true,"batchReplies":true,"v":1,"type":"submit","id":"j3","replyTo":"wire/reply/c1"}',
      '{"v":1,"type":"rpc","id":"r-1","method":"jobs.get","params":{"id":"j1"},"replyTo":"wire/reply/c1"}',
      '{"v":1,"type":"rpc","id":"r-2","method":"jobs.list","replyTo":"wire/reply/c1"}',
    ])
  })
})

describe('decodeReply', () => {
  const accepted = '{"v":1,"type":"accepted","state":"queued","jobId":"a"}'
  it('reads one job reply, one rpc reply, or a batch, as a list', () => {
    expect(decodeReply(accepted)).toMatchObject({ ok: true, replies: [{ type: 'accepted', jobId: 'a' }], malformed: [] })
    expect(decodeReply('{"v":1,"type":"rpc","correlationId":"r-1","ok":true,"result":[]}')).toMatchObject({ ok: true, replies: [{ type: 'rpc', correlationId: 'r-1' }] })
    const batch = replyBatch([accepted, '{"v":1,"type":"result","jobId":"a","state":"exploded"}', '{"v":1,"type":"progress","state":"waiting","attempt":0,"jobId":"b"}'])
    const decoded = decodeReply(Buffer.from(batch))
    expect(decoded.ok && decoded.replies.map((r) => r.type)).toEqual(['accepted', 'progress'])
    expect(decoded.ok && decoded.malformed).toEqual([{ v: 1, type: 'result', jobId: 'a', state: 'exploded' }])
  })

  it('refuses what is no reply, with the codec\'s codes', () => {
    expect(decodeReply('nope')).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    expect(decodeReply('{"v":2,"type":"accepted"}')).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' })
    expect(decodeReply('{"v":1,"type":"batch","replies":[]}')).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    expect(decodeReply('{"v":1,"type":"rpc","ok":true}')).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })
})

describe('wire bytes of the client (docs/protocol.md §4, §6)', () => {
  it('submit and rpc requests', async () => {
    const cluster = await TestCluster.start({ master: { namespace: `${NS}-client` } })
    const raw = await mqtt.connectAsync(cluster.url)
    try {
      const ns = cluster.namespace
      const seen: string[] = []
      raw.on('message', (_topic, payload) => seen.push(payload.toString()))
      await raw.subscribeAsync([`${ns}/submit`, `${ns}/rpc`], { qos: 1 })
      const client = await cluster.client({ clientId: 'c1' })
      void client.submit({ id: 'j1', kind: 'noop', priority: 2 })
      void client.submit({ id: 'j2', kind: 'command', name: 'echo', args: ['hi'], progress: false, batchReplies: false }, { onEvent: () => {} })
      await client.getJob('j1').catch(() => {})
      await client.stats().catch(() => {})
      await waitFor(() => seen.length >= 4, { what: 'four requests' })
      const ids = seen.map((s) => (JSON.parse(s) as { id: string }).id)
      expect(seen.map((s, i) => (i < 2 ? s : s.replace(ids[i]!, 'ID')))).toEqual([
        `{"id":"j1","kind":"noop","priority":2,"progress":false,"batchReplies":true,"v":1,"type":"submit","replyTo":"${ns}/reply/c1"}`,
        `{"id":"j2","kind":"command","name":"echo","args":["hi"],"progress":false,"batchReplies":false,"v":1,"type":"submit","replyTo":"${ns}/reply/c1"}`,
        `{"v":1,"type":"rpc","id":"ID","method":"jobs.get","params":{"id":"j1"},"replyTo":"${ns}/reply/c1"}`,
        `{"v":1,"type":"rpc","id":"ID","method":"stats","params":{},"replyTo":"${ns}/reply/c1"}`,
      ])
    } finally {
      await raw.endAsync()
      await cluster.close()
    }
  })
})
