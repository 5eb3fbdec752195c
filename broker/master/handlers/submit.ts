import { decode, isFinal, isId, replyBody, replyClientOf, specOf, submitSchema, type SubmitMessage } from '../../../src/protocol/index.js'
import { addWatcher, admittedRecord, answers, type JobRecord, type ReplyTarget } from '../../store/job-record.js'
import type { MasterParts } from '../parts.js'
import { describeRequirement, requirementOf } from '../requirement.js'
import { availability } from '../scheduler.js'
import { correlationOf, usableReplyTo } from './reply-target.js'
import type { Visibility } from './rpc.js'

/**
 * `{ns}/submit`, a burst at a time: the submits that arrive in one turn are checked against the
 * store in one query (a lookup per submit was 6 % of the broker's CPU at load), then admitted in
 * arrival order. The master drains the burst before it handles any other message, so nothing
 * that arrives after a submit can see the world before it.
 */
export class SubmitBatch {
  private payloads: Buffer[] = []
  /** Checked submits the store could not look up: tried again, first, at the next drain. */
  private held: SubmitMessage[] = []
  private retryTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly ctx: MasterParts,
    private readonly visibility: Visibility,
  ) {}

  add(payload: Buffer): void {
    if (this.payloads.length === 0) setImmediate(() => this.drain())
    this.payloads.push(payload)
  }

  drain(): void {
    if (this.payloads.length === 0 && this.held.length === 0) return
    const payloads = this.payloads
    this.payloads = []
    const submits: SubmitMessage[] = this.held
    this.held = []
    for (const payload of payloads) {
      const submit = this.guarded(() => validSubmit(this.ctx, payload))
      if (submit) submits.push(submit)
    }
    if (submits.length === 0) return
    const { jobs } = this.ctx
    const unknown = submits.filter((submit) => !jobs.isResident(submit.id)).map((submit) => submit.id)
    const stored = unknown.length > 0 ? this.guarded(() => jobs.storedMany(unknown)) : new Map<string, JobRecord>()
    // A store that cannot say which ids are new admits nothing yet: the burst waits and is tried
    // again (a plain submitter does not resend). An elected master that is deposed meanwhile
    // drops it, and the next master admits it from its own buffer of submits.
    if (!stored) return this.retryLater(submits)
    const seen = new Set<string>()
    for (const submit of submits) {
      // An id already seen in this burst may have been admitted and parked since `stored` was
      // read: only the store itself (with its pending writes) still knows it.
      const known = () => jobs.get(submit.id) ?? (seen.has(submit.id) ? jobs.stored(submit.id) : stored.get(submit.id))
      this.guarded(() => admit(this.ctx, submit, known(), this.visibility))
      seen.add(submit.id)
    }
  }

  private retryLater(submits: SubmitMessage[]): void {
    this.held = submits
    this.ctx.counters.inc('submit_lookups_failed')
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined
      this.drain()
    }, 250)
    this.retryTimer.unref()
  }

  /** No more retries (the master is closing). */
  stop(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  /** A handler bug must cost one message, never the batch or the master. */
  private guarded<T>(fn: () => T): T | undefined {
    try {
      return fn()
    } catch (error) {
      this.ctx.counters.inc('handler_errors')
      this.ctx.logger.error({ err: error }, 'submit handler failed')
      return undefined
    }
  }
}

/** A well-formed submit with a usable replyTo, or undefined once the submitter has been told why not. */
function validSubmit(ctx: MasterParts, payload: Buffer): SubmitMessage | undefined {
  const ns = ctx.options.namespace
  const decoded = decode(submitSchema, payload, ctx.options.maxPayloadBytes)
  if (!decoded.ok) {
    ctx.counters.inc(`rejected_${decoded.code}`)
    const replyTo = usableReplyTo(ns, decoded.raw?.replyTo)
    if (replyTo) {
      const jobId = isId(decoded.raw?.id) ? (decoded.raw?.id as string) : undefined
      ctx.notifier.rejected(replyTo, decoded.code, decoded.message, { jobId, correlationId: correlationOf(decoded.raw) })
    } else {
      ctx.counters.inc('ignored_unanswerable')
      ctx.logger.warn({ code: decoded.code, reason: decoded.message }, 'malformed submit with no usable replyTo')
    }
    return undefined
  }
  const submit = decoded.value
  if (!usableReplyTo(ns, submit.replyTo)) {
    ctx.counters.inc('rejected_BAD_MESSAGE')
    ctx.counters.inc('ignored_unanswerable')
    ctx.logger.warn({ jobId: submit.id, replyTo: submit.replyTo }, 'submit whose replyTo is not a reply topic')
    return undefined
  }
  const tooBig = submit.kind === 'judge' ? judgeSizeProblem(ctx, submit) : undefined
  if (tooBig) {
    reject(ctx, submit, 'BAD_MESSAGE', tooBig)
    return undefined
  }
  return submit
}

/** Admit a job, or say exactly why not. `known` is the job already under this id, if any. */
function admit(ctx: MasterParts, submit: SubmitMessage, known: JobRecord | undefined, visibility: Visibility): void {
  const ns = ctx.options.namespace
  const client = replyClientOf(ns, submit.replyTo)!
  if (known && known.owner !== client && visibility(client) === 'own') {
    // Under --auth a client sees only its own jobs: another's id is simply not its to reuse.
    reject(ctx, submit, 'NOT_AUTHORIZED', `job id ${submit.id} is taken by another client`)
    return
  }
  if (known) {
    ctx.counters.inc('duplicate_submits')
    answerDuplicate(ctx, submit, known)
    return
  }
  const requirement = requirementOf(submit)
  const available = availability(ctx.nodes, requirement)
  if (!submit.wait && available !== 'capable') {
    const code = available === 'no-node' ? 'NO_NODE' : 'UNSUPPORTED'
    const message =
      available === 'no-node' ? 'no node is online' : `no online node supports ${describeRequirement(requirement)}`
    reject(ctx, submit, code, message)
    return
  }
  if (ctx.jobs.queued >= ctx.options.maxQueued) {
    reject(ctx, submit, 'QUEUE_FULL', `the master already holds ${ctx.jobs.queued} queued jobs`)
    return
  }
  const owner = client
  if (ctx.jobs.queuedBy(owner) >= ctx.options.maxQueuedPerClient) {
    reject(ctx, submit, 'QUEUE_FULL', `client ${owner} already has ${ctx.options.maxQueuedPerClient} queued jobs`)
    return
  }
  const job = newRecord(ctx, submit, owner)
  ctx.jobs.admit(job)
  ctx.counters.inc('admitted')
  ctx.events.emit('job-admitted', job)
  ctx.gate.afterCommit(() => {
    // A job that ended before its admission was answered is answered by its result alone, which
    // follows in this flush or the next: a result says the job was stored as surely as accepted.
    if (isFinal(job.state)) return
    ctx.notifier.toJob(job, replyBody.accepted('queued'))
    if (available !== 'capable') {
      const detail = available === 'no-node' ? 'no node is online yet' : `no online node supports ${describeRequirement(requirement)} yet`
      ctx.notifier.toJob(job, replyBody.waiting(detail))
    }
  })
  ctx.lifecycle.enqueue(job)
}

/**
 * Idempotency: the same id never makes a second job. A final job answers with its result, as it
 * was first sent; a live one answers `accepted` with `duplicate: true` and remembers the new
 * reply target, so that its result reaches every submitter of the id.
 */
function answerDuplicate(ctx: MasterParts, submit: SubmitMessage, known: JobRecord): void {
  const target = targetOf(submit)
  // A parked job comes back into memory only to be changed; a store record may turn out final.
  const job = isFinal(known.state) || answers(known, target) ? known : (ctx.jobs.unpark(known.id) ?? ctx.jobs.stored(known.id) ?? known)
  if (isFinal(job.state)) {
    ctx.gate.afterCommit(() => ctx.notifier.repeatResult(job, target))
    return
  }
  if (addWatcher(job, target)) ctx.jobs.save(job)
  ctx.gate.afterCommit(() => {
    // Ended meanwhile: its result, which follows, goes to this target too, unless the job
    // already remembered as many targets as it keeps; then this one is answered on its own.
    if (isFinal(job.state)) {
      if (!answers(job, target)) ctx.notifier.repeatResult(job, target)
      return
    }
    ctx.notifier.toTarget(target, job.id, replyBody.accepted(job.state, true))
  })
}

function targetOf(submit: SubmitMessage): ReplyTarget {
  return { replyTo: submit.replyTo, correlationId: submit.correlationId, progress: submit.progress, batchReplies: submit.batchReplies }
}

/** The broker's caps on a judge job (docs/security.md payload limits), tighter than the protocol's bounds. */
function judgeSizeProblem(ctx: MasterParts, submit: Extract<SubmitMessage, { kind: 'judge' }>): string | undefined {
  const { maxJudgeSourceBytes, maxJudgeTestsBytes } = ctx.options
  const source = Buffer.byteLength(submit.source)
  if (source > maxJudgeSourceBytes) return `judge source is ${source} bytes; this broker accepts at most ${maxJudgeSourceBytes}`
  let tests = 0
  for (const test of submit.tests) tests += Buffer.byteLength(test.input) + Buffer.byteLength(test.expected)
  if (tests > maxJudgeTestsBytes) return `judge tests total ${tests} bytes; this broker accepts at most ${maxJudgeTestsBytes}`
  return undefined
}

function reject(ctx: MasterParts, submit: SubmitMessage, code: 'BAD_MESSAGE' | 'NO_NODE' | 'UNSUPPORTED' | 'QUEUE_FULL' | 'NOT_AUTHORIZED', message: string): void {
  ctx.counters.inc(`rejected_${code}`)
  ctx.notifier.rejected(submit.replyTo, code, message, { jobId: submit.id, correlationId: submit.correlationId })
}

function newRecord(ctx: MasterParts, submit: SubmitMessage, owner: string | null): JobRecord {
  return admittedRecord(specOf(submit), { replyTo: submit.replyTo, correlationId: submit.correlationId, owner, seq: ctx.jobs.nextSeq(), now: Date.now() })
}
