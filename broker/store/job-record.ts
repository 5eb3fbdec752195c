import type { FinalState, JobOutput, JobSpec, JobState, JobView, ResultCode } from '../../src/protocol/index.js'

/** What took an attempt away (docs/protocol.md §10). */
export type LossKind =
  /** The node's connection died (its will, or a graceful `offline`). */
  | 'offline'
  /** The node's next birth did not list it. */
  | 'rebirth'
  /** No `accepted` before the accept deadline. */
  | 'ack'
  /** No result within timeoutMs + run grace. */
  | 'run'
  /** The worker sent a `canceled` result for it, unasked. */
  | 'canceled'
  /** After a master restart its node did not come back in time. */
  | 'restart'

/**
 * What a loss turned out to be. `link`: the same worker process was heard from again, so the
 * connection lost it; charged to maxLost only. `crash`: another process of the node came back, so
 * the one running it died. `timeout`: its connection stayed up and no result came. Crashes and
 * timeouts are charged to maxAttempts too.
 */
export type LossVerdict = 'link' | 'crash' | 'timeout'

export interface AttemptLoss {
  at: number
  kind: LossKind
  reason: string
  /** The connection that held the attempt when it was lost; its instance names the process. */
  epoch: string
  /** Absent while unresolved: until the master hears from that node again. */
  verdict?: LossVerdict
}

/** One assignment of a job to a node connection; the history is what lets a late result be checked. */
export interface AttemptRecord {
  attempt: number
  node: string
  epoch: string
  at: number
  /** Set when the attempt was lost. */
  lost?: AttemptLoss
}

/** Where one submit of a job asked its replies to go, and which of them it asked for. */
export interface ReplyTarget {
  replyTo: string
  correlationId?: string
  progress?: boolean
  batchReplies?: boolean
}

/**
 * At most this many resubmitters of a live job are remembered: each distinct (replyTo,
 * correlationId) gets the result. Past it, a resubmitter still hears `accepted` and can ask
 * `jobs.get`; the bound keeps one hot id from growing its record without end.
 */
export const MAX_WATCHERS = 64

/** A job as the master keeps it: the spec plus everything its lifecycle has decided. */
export interface JobRecord {
  id: string
  spec: JobSpec
  state: JobState
  replyTo: string
  correlationId?: string
  /** The client id of the submitter (from its reply topic): whose job this is. */
  owner: string | null
  priority: number
  /** Admission order: ties in priority run oldest first, and it survives a restart. */
  seq: number
  createdAt: number
  updatedAt: number
  /** The number of the latest assignment (0 before the first). */
  attempt: number
  /** Attempts that counted against maxAttempts: losses resolved as `crash` or `timeout`. */
  charged: number
  /**
   * Attempts lost for any reason, counted against maxLost. Absent in records written before it
   * existed, when every loss was charged: read it with lostCount.
   */
  lost?: number
  node: string | null
  epoch: string | null
  history: AttemptRecord[]
  /** Later submits of the same id while the job was live: each gets the result too. */
  watchers?: ReplyTarget[]
  output?: JobOutput
  error?: string
  finalState?: FinalState
  /** Set when final: the attempts reported in the result. */
  attempts?: number
  /** Set when the master ended the job because a budget was spent. */
  code?: ResultCode
}

export function lostCount(job: JobRecord): number {
  return job.lost ?? job.charged
}

/** A job as it is admitted: queued, never tried. */
export function admittedRecord(
  spec: JobSpec,
  at: { replyTo: string; correlationId?: string; owner: string | null; seq: number; now: number },
): JobRecord {
  return {
    id: spec.id,
    spec,
    state: 'queued',
    replyTo: at.replyTo,
    ...(at.correlationId ? { correlationId: at.correlationId } : {}),
    owner: at.owner,
    priority: spec.priority,
    seq: at.seq,
    createdAt: at.now,
    updatedAt: at.now,
    attempt: 0,
    charged: 0,
    node: null,
    epoch: null,
    history: [],
  }
}

/** The reply target of the submit that made the job. */
export function primaryTarget(job: JobRecord): ReplyTarget {
  return { replyTo: job.replyTo, correlationId: job.correlationId, progress: job.spec.progress, batchReplies: job.spec.batchReplies }
}

/** Whether the job's replies already reach this replyTo with this correlationId. */
export function answers(job: JobRecord, target: ReplyTarget): boolean {
  const same = (t: ReplyTarget) => t.replyTo === target.replyTo && t.correlationId === target.correlationId
  return same(primaryTarget(job)) || (job.watchers?.some(same) ?? false)
}

/**
 * Adds a resubmitter's reply target, unless it is one the job already answers (the same replyTo
 * and correlationId) or the job already remembers MAX_WATCHERS. Returns whether the record changed.
 */
export function addWatcher(job: JobRecord, target: ReplyTarget): boolean {
  if (answers(job, target) || (job.watchers?.length ?? 0) >= MAX_WATCHERS) return false
  ;(job.watchers ??= []).push(target)
  return true
}

export function toView(job: JobRecord): JobView {
  return {
    id: job.id,
    kind: job.spec.kind,
    state: job.state,
    priority: job.priority,
    attempts: job.attempts ?? job.charged + (job.state === 'assigned' || job.state === 'running' ? 1 : 0),
    maxAttempts: job.spec.maxAttempts,
    node: job.node,
    owner: job.owner,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.output !== undefined ? { output: job.output } : {}),
    ...(job.error !== undefined ? { error: job.error } : {}),
    ...(job.code !== undefined ? { code: job.code } : {}),
    ...(lostCount(job) > 0 ? { lost: lostCount(job) } : {}),
  }
}
