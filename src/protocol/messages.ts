import { decodeObject, validate, type DecodeFailure } from './codec.js'
import type { JobSpec, JobSpecInput, SubmitInput } from './schemas/job-spec.js'
import type { AssignMessage, ControlMessage, ControlOp, WorkerEvent, WorkerRejectCode } from './schemas/node-messages.js'
import type { JobOutput } from './schemas/outputs.js'
import {
  jobReplySchema,
  replyBatchEnvelopeSchema,
  type JobReply,
  type RejectCode,
  type RejectedReply,
  type ReplyBatch,
  type ResultCode,
} from './schemas/replies.js'
import { rpcReplySchema, type RpcMethod, type RpcReply, type RpcRequest } from './schemas/rpc.js'
import type { FinalState, JobState, MasterInstanceStateMessage, MasterStateMessage, NodeLifecycle, NodeStateMessage, RunningEntry } from './schemas/states.js'
import type { JobFeed, JobSummary, MasterStats } from './schemas/dashboard.js'
import { PROTOCOL_VERSION } from './version.js'

/**
 * Every message of docs/protocol.md is built here and nowhere else. The order of the keys is part
 * of the wire format (test/unit/wire-bytes.test.ts pins it): a builder writes them in one fixed
 * order, and leaves an absent optional field out rather than sending it as undefined.
 */
export type ProtocolMessage =
  | MasterStateMessage
  | MasterInstanceStateMessage
  | NodeStateMessage
  | AssignMessage
  | ControlMessage
  | WorkerEvent
  | SubmitInput
  | JobReply
  | ReplyBatch
  | RpcRequest
  | RpcReply
  | MasterStats
  | JobFeed

const v = PROTOCOL_VERSION

// §7: master state

/** Who a master is, for the state topics: absent fields (a master without an election) are left out. */
export interface MasterIdentity {
  term?: number
  host?: string
  pid?: number
}

function identity(id: MasterIdentity): MasterIdentity {
  return {
    ...(id.term !== undefined ? { term: id.term } : {}),
    ...(id.host !== undefined ? { host: id.host } : {}),
    ...(id.pid !== undefined ? { pid: id.pid } : {}),
  }
}

export function masterState(state: MasterStateMessage['state'], instance: string, ts = Date.now(), id: MasterIdentity = {}): MasterStateMessage {
  return { v, type: 'master', state, instance, ...identity(id), ts }
}

/** §7a: one master's own state on `{ns}/masters/{instance}/state`. */
export function masterInstanceState(state: MasterInstanceStateMessage['state'], instance: string, id: MasterIdentity, ts = Date.now()): MasterInstanceStateMessage {
  return { v, type: 'master', state, instance, ...identity(id), ts }
}

// §15: what the master publishes for dashboards

export function masterStats(s: Omit<MasterStats, 'v' | 'type'>): MasterStats {
  return { v, type: 'stats', instance: s.instance, ts: s.ts, jobs: s.jobs, priorities: s.priorities, rates: s.rates, nodes: s.nodes, busy: s.busy }
}

/** `dropped`: changes left out of this batch, if any. */
export function jobFeed(jobs: JobSummary[], dropped = 0): JobFeed {
  return dropped > 0 ? { v, type: 'jobs', jobs, dropped } : { v, type: 'jobs', jobs }
}

// §8: node state, assign, control, worker events

export interface NodeStateFields {
  state: NodeLifecycle
  epoch: string
  slots: number
  labels: string[]
  capabilities: NodeStateMessage['capabilities']
  running: RunningEntry[]
  version: string
  ts: number
  reason?: string
  features?: string[]
}

/** A birth, a drain notice, or (as the will) an obituary. */
export function nodeState(f: NodeStateFields): NodeStateMessage {
  return {
    v,
    type: 'node',
    state: f.state,
    epoch: f.epoch,
    slots: f.slots,
    labels: f.labels,
    capabilities: f.capabilities,
    running: f.running,
    version: f.version,
    ts: f.ts,
    ...(f.reason ? { reason: f.reason } : {}),
    ...(f.features ? { features: f.features } : {}),
  }
}

/** `ackBy`: the deadline for the worker's `accepted`, in the master's clock. */
/** `term`: the master's lease term, when it was elected (docs/protocol.md §7a). */
export function assign(a: { job: JobSpec; attempt: number; epoch: string; ackBy: number; term?: number }): AssignMessage {
  const message: AssignMessage = { v, type: 'assign', job: a.job, attempt: a.attempt, epoch: a.epoch, ackBy: a.ackBy }
  if (a.term !== undefined) message.term = a.term
  return message
}

/** `jobId` and `attempt` for `cancel` and `ack`; `jobs` for a batched `ack` (the `ack-batch` feature). */
export function control(op: ControlOp, ids: { jobId?: string; attempt?: number; jobs?: RunningEntry[] } = {}, term?: number): ControlMessage {
  const message: ControlMessage = { v, type: 'control', op }
  if (ids.jobId !== undefined) message.jobId = ids.jobId
  if (ids.attempt !== undefined) message.attempt = ids.attempt
  if (ids.jobs !== undefined) message.jobs = ids.jobs
  if (term !== undefined) message.term = term
  return message
}

/** What every worker event names: the attempt it is about, and the epoch of its `assign`. */
export interface AttemptRef {
  jobId: string
  attempt: number
  epoch: string
}

export const workerEvent = {
  accepted: ({ jobId, attempt, epoch }: AttemptRef): WorkerEvent => ({ v, type: 'accepted', jobId, attempt, epoch }),
  rejected: ({ jobId, attempt, epoch }: AttemptRef, code: WorkerRejectCode, message: string): WorkerEvent => ({ v, type: 'rejected', jobId, attempt, epoch, code, message }),
  progress: ({ jobId, attempt, epoch }: AttemptRef, state: string, detail?: unknown): WorkerEvent => ({
    v,
    type: 'progress',
    jobId,
    attempt,
    epoch,
    state,
    ...(detail !== undefined ? { detail } : {}),
  }),
  result: ({ jobId, attempt, epoch }: AttemptRef, outcome: { state: FinalState; output: JobOutput; error?: string }): WorkerEvent => ({
    v,
    type: 'result',
    jobId,
    attempt,
    epoch,
    state: outcome.state,
    output: outcome.output,
    ...(outcome.error ? { error: outcome.error } : {}),
  }),
}

// §4 and §6: what a client sends

type WithOptionalId<T> = T extends unknown ? Omit<T, 'id'> & { id?: string } : never
/** A job as a submitter writes it: defaults are the master's to fill in, and the id may come later. */
export type SubmitJob = WithOptionalId<JobSpecInput>

/**
 * `job` as the caller wrote it (its own keys first, in its own order), then the envelope; `id`
 * keeps the job's place if the job named it.
 */
export function submit(job: SubmitJob, envelope: { id: string; replyTo: string }): SubmitInput {
  return { ...job, v, type: 'submit', id: envelope.id, replyTo: envelope.replyTo } as SubmitInput
}

export function rpcRequest(id: string, method: RpcMethod, params: unknown, replyTo: string): RpcRequest {
  return { v, type: 'rpc', id, method, ...(params !== undefined ? { params } : {}), replyTo }
}

// §5: replies

type Body<T> = T extends unknown ? Omit<T, 'v' | 'jobId' | 'correlationId'> : never
/** A job reply without its envelope: what the master decides once, sent to each target with its own. */
export type JobReplyBody = Body<JobReply>
export type ResultBody = Extract<JobReplyBody, { type: 'result' }>
export type ProgressBody = Extract<JobReplyBody, { type: 'progress' }>

export const replyBody = {
  accepted: (state: JobState, duplicate?: true): JobReplyBody => (duplicate ? { type: 'accepted', state, duplicate } : { type: 'accepted', state }),
  progress: (state: string, attempt: number, extra: { node?: string; detail?: unknown } = {}): ProgressBody => ({
    type: 'progress',
    state,
    attempt,
    ...(extra.node !== undefined ? { node: extra.node } : {}),
    ...(extra.detail !== undefined ? { detail: extra.detail } : {}),
  }),
  /** The `progress` every submitter hears: nothing online can run the job yet, and why. */
  waiting: (why: string): ProgressBody => ({ type: 'progress', state: 'waiting', attempt: 0, detail: why }),
  result: (r: { state: FinalState; attempts: number; node: string | null; output: JobOutput; error?: string; code?: ResultCode; lost?: number }): ResultBody => ({
    type: 'result',
    state: r.state,
    attempts: r.attempts,
    node: r.node,
    output: r.output,
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.lost ? { lost: r.lost } : {}),
  }),
}

/** A body, for one job and one reply target. */
export function jobReply<B extends JobReplyBody>(body: B, jobId: string, correlationId?: string): Extract<JobReply, { type: B['type'] }> {
  const reply: JobReply = { v, ...body, jobId, ...(correlationId ? { correlationId } : {}) } as JobReply
  return reply as Extract<JobReply, { type: B['type'] }>
}

/** A refusal before the job exists; `jobId` whenever the submit had a valid one. */
export function rejectedReply(code: RejectCode, message: string, ids: { jobId?: string; correlationId?: string } = {}): RejectedReply {
  const reply: RejectedReply = { v, type: 'rejected', code, message }
  if (ids.jobId !== undefined) reply.jobId = ids.jobId
  if (ids.correlationId !== undefined) reply.correlationId = ids.correlationId
  return reply
}

export function rpcReply(correlationId: string, answer: { ok: boolean; result?: unknown; error?: { code: RejectCode; message: string } }): RpcReply {
  const reply: RpcReply = { v, type: 'rpc', correlationId, ok: answer.ok }
  if (answer.result !== undefined) reply.result = answer.result
  if (answer.error !== undefined) reply.error = answer.error
  return reply
}

/**
 * A `batch` of replies, each already serialized (codec `serialize`): the master joins strings
 * rather than serialize one big object, so that one reply that cannot be encoded costs only itself.
 */
export function replyBatch(serializedReplies: string[]): string {
  return `{"v":${PROTOCOL_VERSION},"type":"batch","replies":[${serializedReplies.join(',')}]}`
}

export type Reply = JobReply | RpcReply
export type DecodedReplies = { ok: true; replies: Reply[]; malformed: unknown[] } | DecodeFailure

/**
 * What arrives on a reply topic: one job reply, one rpc reply, or a `batch` of job replies, as
 * the list of replies it holds. A bad reply in a batch costs only itself: it is in `malformed`.
 */
export function decodeReply(payload: Buffer | Uint8Array | string): DecodedReplies {
  const parsed = decodeObject(payload)
  if (!parsed.ok) return parsed
  const raw = parsed.value
  if (raw.type === 'rpc') {
    const rpc = validate(rpcReplySchema, raw)
    return rpc.ok ? { ok: true, replies: [rpc.value], malformed: [] } : rpc
  }
  if (raw.type !== 'batch') {
    const reply = validate(jobReplySchema, raw)
    return reply.ok ? { ok: true, replies: [reply.value], malformed: [] } : reply
  }
  const batch = validate(replyBatchEnvelopeSchema, raw)
  if (!batch.ok) return batch
  const replies: Reply[] = []
  const malformed: unknown[] = []
  for (const item of batch.value.replies) {
    const reply = jobReplySchema.safeParse(item)
    if (reply.success) replies.push(reply.data)
    else malformed.push(item)
  }
  return { ok: true, replies, malformed }
}
