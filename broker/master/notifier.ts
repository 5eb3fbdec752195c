import {
  LIMITS,
  assign,
  control,
  encode,
  jobReply,
  masterState,
  rejectedReply,
  replyBatch,
  replyBody,
  rpcReply,
  serialize,
  topics,
  type AssignMessage,
  type ControlOp,
  type FinalState,
  type JobReply,
  type JobReplyBody,
  type MasterIdentity,
  type RejectCode,
  type ResultBody,
  type RpcReply,
  type RunningEntry,
} from '../../src/protocol/index.js'
import { answers, lostCount, primaryTarget, type JobRecord, type ReplyTarget } from '../store/job-record.js'
import { orderedNow } from './ordered-clock.js'
import { RecentSends } from './recent-sends.js'
import type { Transport } from './transport.js'

export type { JobReplyBody }

/** The final `result` of a final job, exactly as it was first sent. */
export function resultBody(job: JobRecord): ResultBody {
  return replyBody.result({
    state: job.finalState ?? (job.state as FinalState),
    attempts: job.attempts ?? job.charged + 1,
    node: job.node,
    output: job.output ?? null,
    error: job.error,
    code: job.code,
    lost: lostCount(job),
  })
}

/** Every message the master sends, built in one place from the protocol's topic builders. */
export class Notifier {
  /** While `batched()` runs: replies held for jobs submitted with batchReplies, by replyTo. */
  private held: Map<string, JobReply[]> | undefined
  private readonly repeats = new RecentSends(50_000)
  /** Hears every job event as it leaves: the dashboard feeds (job-feed.ts, stats-publisher.ts). */
  onJob: ((job: JobRecord) => void) | undefined

  constructor(
    private readonly transport: Transport,
    private readonly ns: string,
    /** The elected master's term, host and pid (docs/protocol.md §7a); empty for a master without an election. */
    private readonly identity: MasterIdentity = {},
  ) {}

  /**
   * To every reply target of the job (its submitter, and whoever resubmitted its id while it was
   * live) and to the job's event topic (docs/protocol.md §5). `progress` reaches a reply topic only
   * if that submit asked for it, except `waiting`, which every submitter hears.
   */
  toJob(job: JobRecord, body: JobReplyBody): void {
    this.onJob?.(job)
    const primary = primaryTarget(job)
    let payload: Buffer | undefined
    for (const target of job.watchers ? [primary, ...job.watchers] : [primary]) {
      if (!wants(target, body)) continue
      const sent = this.toTarget(target, job.id, body)
      if (target === primary) payload = sent
      // When the result really left (after its commit), for repeatResult to compare with.
      if (body.type === 'result') this.repeats.set(job.id, target, orderedNow())
    }
    const events = topics.jobEvents(this.ns, job.id)
    if (this.transport.hasSubscribers?.(events) ?? true) {
      // The event topic carries the first submitter's correlationId, whatever the others asked.
      this.transport.publish(events, payload ?? encode(replyOf(primary, job.id, body)), { qos: 1 })
    }
  }

  /** When this master was made: a job that ended before then was ended by another master. */
  private readonly bornAt = Date.now()

  /**
   * Whether the job's result is this master's to send, or was sent by it (lately: the last
   * 50 000 sends): false for a job another master ended before this one existed and whose
   * result this one never sent.
   */
  private sentResult(job: JobRecord): boolean {
    return job.updatedAt >= this.bornAt || this.repeats.get(job.id, primaryTarget(job)) !== undefined
  }

  /** A result the previous master was seen sending (a standby's record, broker/lease/sent-results.ts): not sent again. */
  noteSent(jobId: string, target: ReplyTarget, at: number): void {
    this.repeats.set(jobId, target, at)
  }

  /**
   * Since when every result another master sent was seen and noted (`noteSent`): a standby that
   * watched the reply topics without a break. Only a result that ended since then and was not
   * seen can be known never to have left. Undefined (a master that restarted, or a standby that
   * was not watching): nothing is known, and a result another master ended is left to the
   * client's resubmit (docs/protocol.md §4), which never makes a second copy.
   */
  private sendsSeenSince: number | undefined

  coverSentResultsSince(at: number): void {
    this.sendsSeenSince = at
  }

  /**
   * For a result another master ended after `sendsSeenSince` and was not seen sending, and this
   * one never sent: true once, for the caller to send it; it counts as sent from now on, so the
   * same result resent again by the worker (its outbox goes out on every new master and every
   * rebirth) before the first copy's commit is answered with an ack only.
   */
  claimResult(job: JobRecord): boolean {
    if (this.sendsSeenSince === undefined || job.updatedAt < this.sendsSeenSince || this.sentResult(job)) return false
    this.repeats.set(job.id, primaryTarget(job), orderedNow())
    return true
  }

  /**
   * The result of a final job, again, for a submit of its id. Not when this very target (replyTo
   * and correlationId) was sent the result while a subscription that is still live existed: the
   * client resubmitted while its result was on the way, or after it arrived, and a second copy
   * would report the job twice. That submit is answered `accepted` with the final state, so no
   * submit goes unanswered (docs/protocol.md §4). When the transport cannot tell (an external or
   * clustered broker), the result goes again; the same section says a client may see it twice.
   */
  repeatResult(job: JobRecord, target: ReplyTarget): void {
    const since = this.transport.lastSubscribedAt?.(target.replyTo)
    // When the result last went to this target; the final save's time if this master never sent it.
    const sent = Math.max(answers(job, target) ? job.updatedAt : -Infinity, this.repeats.get(job.id, target) ?? -Infinity)
    if (since !== undefined && since < sent) {
      this.toTarget(target, job.id, replyBody.accepted(job.finalState ?? job.state, true))
      return
    }
    this.repeats.set(job.id, target, orderedNow())
    this.toTarget(target, job.id, resultBody(job))
  }

  /**
   * One reply to one reply target only: held for a batch if that submit asked for batches.
   * Returns the payload when it was sent on its own, so the event topic can reuse it.
   */
  toTarget(target: ReplyTarget, jobId: string, body: JobReplyBody): Buffer | undefined {
    const reply = replyOf(target, jobId, body)
    const held = target.batchReplies ? this.held : undefined
    if (held) {
      let list = held.get(target.replyTo)
      if (!list) held.set(target.replyTo, (list = []))
      list.push(reply)
      return undefined
    }
    const payload = encode(reply)
    this.transport.publish(target.replyTo, payload, { qos: 1 })
    return payload
  }

  /**
   * Runs `fn`, then sends the replies it made for jobs submitted with `batchReplies` as one
   * `batch` message per reply topic (in order, split at LIMITS.maxReplyBatch); a lone reply goes
   * out as itself.
   */
  batched(fn: () => void, onError: (error: unknown) => void): void {
    if (this.held) return fn()
    this.held = new Map()
    try {
      fn()
    } finally {
      const held = this.held
      this.held = undefined
      for (const [replyTo, replies] of held) this.sendBatches(replyTo, replies, onError)
    }
  }

  /** Batches of at most LIMITS.maxReplyBatch replies and LIMITS.maxReplyBatchBytes; a reply too big to share goes alone. */
  private sendBatches(replyTo: string, replies: JobReply[], onError: (error: unknown) => void): void {
    let parts: string[] = []
    let bytes = 0
    const send = () => {
      if (parts.length === 0) return
      const body = parts.length === 1 ? parts[0]! : replyBatch(parts)
      this.transport.publish(replyTo, Buffer.from(body), { qos: 1 })
      parts = []
      bytes = 0
    }
    for (const reply of replies) {
      let json: string
      try {
        json = serialize(reply)
      } catch (error) {
        onError(error) // one reply that cannot be encoded costs only itself
        continue
      }
      const size = Buffer.byteLength(json) + 1
      if (parts.length >= LIMITS.maxReplyBatch || (parts.length > 0 && bytes + size > LIMITS.maxReplyBatchBytes)) send()
      parts.push(json)
      bytes += size
    }
    send()
  }

  /** A refusal before the job exists: only the submitter hears it. */
  rejected(replyTo: string, code: RejectCode, message: string, ids: { jobId?: string; correlationId?: string }): void {
    this.transport.publish(replyTo, encode(rejectedReply(code, message, ids)), { qos: 1 })
  }

  rpc(replyTo: string, reply: Omit<RpcReply, 'v' | 'type'>): void {
    this.transport.publish(replyTo, encode(rpcReply(reply.correlationId, reply)), { qos: 1 })
  }

  assign(node: string, message: Omit<AssignMessage, 'v' | 'type'>): void {
    this.transport.publish(topics.nodeAssign(this.ns, node), encode(assign({ ...message, term: this.identity.term })), { qos: 1 })
  }

  control(node: string, op: ControlOp, ids: { jobId?: string; attempt?: number; jobs?: RunningEntry[] } = {}): void {
    this.transport.publish(topics.nodeControl(this.ns, node), encode(control(op, ids, this.identity.term)), { qos: 1 })
  }

  masterState(state: 'online' | 'offline', instance: string): void {
    this.transport.publish(topics.masterState(this.ns), encode(masterState(state, instance, Date.now(), this.identity)), { qos: 1, retain: true })
  }
}

function replyOf(target: ReplyTarget, jobId: string, body: JobReplyBody): JobReply {
  return jobReply(body, jobId, target.correlationId)
}

/** Progress is opt-in per submit, except `waiting`: a submitter must hear that nothing can run its job yet. */
function wants(target: ReplyTarget, body: JobReplyBody): boolean {
  return body.type !== 'progress' || target.progress === true || body.state === 'waiting'
}
