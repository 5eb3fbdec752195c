import { instanceOfEpoch, isFinal, replyBody, type FinalState, type JobOutput, type ResultCode } from '../../src/protocol/index.js'
import { lostCount, type AttemptLoss, type JobRecord, type LossKind, type LossVerdict } from '../store/job-record.js'
import type { MasterContext } from './context.js'
import { OpenLosses, spentBudget, verdictOf, type Heard } from './losses.js'
import { resultBody } from './notifier.js'
import { canRun, describeRequirement, requirementOf } from './requirement.js'

/**
 * The job state machine of docs/protocol.md §10: queued → assigned → running → final. Every transition
 * saves the record; anything said about it to submitters and followers waits for the save to be
 * durable (an assignment does not: see assign).
 */
export class Lifecycle {
  /** Set by the dispatcher: called whenever a slot may have freed or a job was queued. */
  onCapacity: () => void = () => {}
  /** Losses not yet known to be a link's or a crash's, by node. */
  readonly openLosses = new OpenLosses()

  constructor(private readonly ctx: MasterContext) {}

  save(job: JobRecord): void {
    job.updatedAt = this.ctx.now()
    this.ctx.store.save(job)
  }

  /**
   * Puts a job (new, requeued or recovered) in the queue. Past `parkAbove` queued jobs the
   * record leaves memory (saved first) and only its queue entry stays;
   * `unpark` brings it back when it is dispatched, canceled or answered.
   */
  enqueue(job: JobRecord, alreadyStored = false): void {
    job.state = 'queued'
    job.node = null
    job.epoch = null
    const next = this.ctx.queue.push(job)
    // A job that would run next (a requeued attempt, a higher priority) stays in memory.
    if (!next && this.ctx.queue.size > this.ctx.options.parkAbove) {
      // The store must hold the queued state itself, not the one saved before it was set.
      if (!alreadyStored) this.save(job)
      this.ctx.active.delete(job.id)
    }
    this.onCapacity()
  }

  /** unpark for a batch of jobs: parked records come back in one store query. */
  unparkMany(ids: readonly string[]): Map<string, JobRecord> {
    const { ctx } = this
    const out = new Map<string, JobRecord>()
    const parked: string[] = []
    for (const id of ids) {
      const live = ctx.active.get(id)
      if (live) out.set(id, live)
      else parked.push(id)
    }
    if (parked.length === 0) return out
    ctx.counters.inc('unparked', parked.length)
    for (const [id, job] of ctx.store.getMany(parked)) {
      if (isFinal(job.state)) continue
      ctx.active.set(id, job)
      out.set(id, job)
    }
    return out
  }

  /** The live record of a non-final job, loading it from the store if it was parked. */
  unpark(id: string): JobRecord | undefined {
    return this.unparkMany([id]).get(id)
  }

  assign(job: JobRecord, nodeId: string, epoch: string): void {
    const { ctx } = this
    job.attempt += 1
    job.state = 'assigned'
    job.node = nodeId
    job.epoch = epoch
    job.history.push({ attempt: job.attempt, node: nodeId, epoch, at: ctx.now() })
    ctx.nodes.get(nodeId)?.inFlight.add(job.id)
    this.save(job)
    const attempt = job.attempt
    // The assignment leaves now, not after the commit: the commit is already under way and the
    // worker's answer needs a round trip. Should the master die before the commit, the store
    // still has the job as it was (or not at all, and then nobody was told of it), so it runs
    // again and is reported once; the orphaned attempt is canceled by the node's next birth
    // (docs/storage.md). Only what submitters and followers hear waits for the disk.
    const ackBy = ctx.now() + ctx.options.ackTimeoutMs
    ctx.timers.set(job.id, ctx.options.ackTimeoutMs, () => this.loseAttempt(job, attempt, 'ack', `node ${nodeId} did not accept within ${ctx.options.ackTimeoutMs} ms`))
    ctx.notifier.assign(nodeId, { job: job.spec, attempt, epoch, ackBy })
    ctx.afterFlush(() => {
      if (job.attempt !== attempt || job.state !== 'assigned') return
      ctx.notifier.toJob(job, replyBody.progress('assigned', attempt, { node: nodeId }))
    })
  }

  /** The worker took it: from now on the run deadline (timeoutMs + grace) guards a silent worker. */
  markRunning(job: JobRecord): void {
    const { ctx } = this
    job.state = 'running'
    // Not written on its own: after a restart `assigned` and `running` are reconciled alike, from
    // the node's rebirth, so this write would buy nothing but a row update per job.
    job.updatedAt = ctx.now()
    const attempt = job.attempt
    this.runDeadline(job)
    ctx.afterFlush(() => ctx.notifier.toJob(job, replyBody.progress('running', attempt, { node: job.node ?? undefined })))
  }

  /** A silent worker: no result within timeoutMs + run grace loses the attempt. */
  runDeadline(job: JobRecord): void {
    const { ctx } = this
    const attempt = job.attempt
    const grace = ctx.options.runGraceMs
    ctx.timers.set(job.id, job.spec.timeoutMs + grace, () => this.loseAttempt(job, attempt, 'run', `no result within timeoutMs + ${grace} ms grace`))
  }

  /**
   * The attempt is gone (its connection died, it missed a deadline, its node came back without
   * it): cancel it where it was and run the job again at once. What the loss costs is decided by
   * what the master hears next from that node (docs/protocol.md §10): `heard` when that is already
   * known (the birth that came back without it); otherwise the loss stays open until then.
   */
  loseAttempt(job: JobRecord, attempt: number, kind: LossKind, reason: string, heard?: Heard): void {
    const { ctx } = this
    if (job.attempt !== attempt || (job.state !== 'assigned' && job.state !== 'running')) return
    ctx.timers.clear(job.id)
    const nodeId = job.node
    const epoch = job.epoch ?? ''
    this.release(job)
    if (nodeId) ctx.notifier.control(nodeId, 'cancel', { jobId: job.id, attempt })
    const loss: AttemptLoss = { at: ctx.now(), kind, reason, epoch }
    const entry = job.history.findLast((h) => h.attempt === attempt)
    if (entry) entry.lost = loss
    job.lost = lostCount(job) + 1
    ctx.counters.inc('attempts_lost')
    // A missed accept deadline or an unasked cancel, from a process that is still connected: that
    // process lives, and the job never ran there (or it dropped it), so this is no crash.
    const from = heard ?? (kind === 'ack' || kind === 'canceled' ? this.liveConnection(nodeId, epoch) : undefined)
    const verdict = from ? verdictOf(loss, from) : undefined
    if (verdict) this.judge(job, loss, verdict)
    else if (nodeId && entry) this.openLosses.add(nodeId, job.id)
    ctx.logger.info({ jobId: job.id, attempt, node: nodeId, kind, verdict, reason }, 'attempt lost')
    const ending = spentBudget(job, loss)
    if (ending) {
      this.finalize(job, ending.state, null, ending.error, nodeId, job.charged, ending.code)
      return
    }
    this.save(job)
    this.enqueue(job)
    ctx.afterFlush(() => ctx.notifier.toJob(job, replyBody.progress('requeued', attempt, { detail: reason })))
    // A run deadline on a connection that looks alive: ask the node for its birth. A worker
    // still there answers on this connection (after its unacknowledged results, so a result
    // held up by a stall comes first); one whose link was stalled answers on a new one.
    if (!verdict && kind === 'run' && nodeId && this.liveConnection(nodeId, epoch)?.epoch === epoch) {
      ctx.notifier.control(nodeId, 'rebirth')
    }
  }

  /**
   * A node's state message (not a retained one, which may predate the losses): it resolves the
   * open losses on that node that it can. A job whose charges reach maxAttempts fails here,
   * wherever it is: an attempt in flight elsewhere is canceled rather than given the chance to
   * kill one more worker.
   */
  heardFrom(nodeId: string, heard: Heard): void {
    const ids = this.openLosses.take(nodeId)
    if (ids.length === 0) return
    const jobs = this.unparkMany(ids)
    for (const id of ids) {
      const job = jobs.get(id)
      if (!job) continue
      let open = false
      let resolved: AttemptLoss | undefined
      for (const entry of job.history) {
        const loss = entry.lost
        if (entry.node !== nodeId || !loss || loss.verdict) continue
        const verdict = verdictOf(loss, heard)
        if (!verdict) {
          open = true
          continue
        }
        this.judge(job, loss, verdict)
        resolved = loss
      }
      if (open) this.openLosses.add(nodeId, id)
      if (!resolved) continue
      this.ctx.logger.info({ jobId: id, node: nodeId, verdict: resolved.verdict, charged: job.charged }, 'loss resolved')
      const ending = spentBudget(job, resolved)
      if (!ending) {
        this.save(job)
        continue
      }
      const inFlight = job.state === 'assigned' || job.state === 'running' ? { node: job.node, attempt: job.attempt } : undefined
      this.finalize(job, ending.state, null, ending.error, nodeId, job.charged, ending.code)
      if (inFlight?.node) this.ctx.notifier.control(inFlight.node, 'cancel', { jobId: id, attempt: inFlight.attempt })
    }
  }

  /** Records what a loss was; crashes and timeouts are charged against maxAttempts. */
  private judge(job: JobRecord, loss: AttemptLoss, verdict: LossVerdict): void {
    loss.verdict = verdict
    if (verdict !== 'link') job.charged += 1
    this.ctx.counters.inc(`losses_${verdict}`)
  }

  /** The node's connection, if it is up and belongs to the process of `epoch`. */
  private liveConnection(nodeId: string | null, epoch: string): Heard | undefined {
    const node = nodeId ? this.ctx.nodes.get(nodeId) : undefined
    if (!node || node.state === 'offline' || node.instance !== instanceOfEpoch(epoch)) return undefined
    return { epoch: node.epoch, will: false }
  }

  /** A worker refused the assignment. That costs no attempt (docs/protocol.md §10). */
  refused(job: JobRecord, reason: string, retryAfterMs: number, excludeNode: boolean): void {
    const { ctx } = this
    ctx.timers.clear(job.id)
    const nodeId = job.node
    this.release(job)
    if (excludeNode && nodeId) {
      let excluded = ctx.excluded.get(job.id)
      if (!excluded) ctx.excluded.set(job.id, (excluded = new Set()))
      excluded.add(nodeId)
      const requirement = requirementOf(job.spec)
      const capable = [...ctx.nodes.all()].filter((node) => node.state === 'online' && canRun(node, requirement))
      if (capable.length > 0 && capable.every((node) => excluded.has(node.id))) {
        // Waiting would be forever: every node that claims to run it has said it cannot.
        this.finalize(job, 'failed', null, `every online node that advertises ${describeRequirement(requirement)} refused it; last: ${reason}`, nodeId, job.charged, 'REFUSED_EVERYWHERE')
        return
      }
    }
    const rejections = job.history.length - lostCount(job)
    if (rejections >= ctx.options.maxRejections) {
      this.finalize(job, 'failed', null, `refused by workers ${rejections} times; last: ${reason}`, nodeId, job.charged, 'MAX_REJECTIONS')
      return
    }
    job.state = 'queued'
    job.node = null
    job.epoch = null
    this.save(job)
    ctx.afterFlush(() => ctx.notifier.toJob(job, replyBody.progress('requeued', job.attempt, { detail: reason })))
    if (retryAfterMs > 0) ctx.timers.set(job.id, retryAfterMs, () => this.enqueue(job))
    else this.enqueue(job)
  }

  /** The one and only final state of a job (docs/protocol.md §10). */
  finalize(
    job: JobRecord,
    state: FinalState,
    output: JobOutput,
    error: string | undefined,
    node: string | null,
    attempts = job.charged + 1,
    code?: ResultCode,
  ): void {
    const { ctx } = this
    ctx.timers.clear(job.id)
    this.release(job)
    ctx.queue.remove(job)
    ctx.active.delete(job.id)
    ctx.excluded.delete(job.id)
    this.openLosses.forget(job)
    job.state = state
    job.finalState = state
    job.node = node
    job.output = output
    job.attempts = attempts
    if (error !== undefined) job.error = error
    if (code !== undefined) job.code = code
    this.save(job)
    ctx.counters.inc(`final_${state}`)
    if (code !== undefined) ctx.counters.inc(`final_code_${code}`)
    ctx.afterFlush(() => ctx.notifier.toJob(job, resultBody(job)))
    this.onCapacity()
  }

  /** Frees the slot the job held on its node. */
  private release(job: JobRecord): void {
    if (job.node) {
      const node = this.ctx.nodes.get(job.node)
      if (node?.inFlight.delete(job.id)) this.onCapacity()
    }
  }
}
