import { isFinal, type FinalState, type JobOutput } from '../../src/protocol/index.js'
import type { JobRecord } from '../store/job-record.js'
import type { MasterContext } from './context.js'
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
    ctx.timers.set(job.id, ctx.options.ackTimeoutMs, () => this.loseAttempt(job, attempt, `node ${nodeId} did not accept within ${ctx.options.ackTimeoutMs} ms`))
    ctx.notifier.assign(nodeId, { job: job.spec, attempt, epoch, ackBy })
    ctx.afterFlush(() => {
      if (job.attempt !== attempt || job.state !== 'assigned') return
      ctx.notifier.toJob(job, { type: 'progress', state: 'assigned', attempt, node: nodeId })
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
    const limit = job.spec.timeoutMs + ctx.options.runGraceMs
    ctx.timers.set(job.id, limit, () => this.loseAttempt(job, attempt, `no result within timeoutMs + ${ctx.options.runGraceMs} ms grace`, true))
    ctx.afterFlush(() => ctx.notifier.toJob(job, { type: 'progress', state: 'running', attempt, node: job.node ?? undefined }))
  }

  /**
   * The attempt is gone (its connection died, it missed a deadline, its node came back without
   * it): cancel it where it was and run the job again, until maxAttempts is spent.
   */
  loseAttempt(job: JobRecord, attempt: number, reason: string, timedOut = false): void {
    const { ctx } = this
    if (job.attempt !== attempt || (job.state !== 'assigned' && job.state !== 'running')) return
    ctx.timers.clear(job.id)
    const nodeId = job.node
    this.release(job)
    if (nodeId) ctx.notifier.control(nodeId, 'cancel', { jobId: job.id, attempt })
    job.charged += 1
    ctx.counters.inc('attempts_lost')
    ctx.logger.info({ jobId: job.id, attempt, node: nodeId, reason }, 'attempt lost')
    if (job.charged >= job.spec.maxAttempts) {
      this.finalize(job, timedOut ? 'timed_out' : 'failed', null, `gave up after ${job.charged} attempt(s): ${reason}`, nodeId, job.charged)
      return
    }
    this.save(job)
    this.enqueue(job)
    ctx.afterFlush(() => ctx.notifier.toJob(job, { type: 'progress', state: 'requeued', attempt, detail: reason }))
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
        this.finalize(job, 'failed', null, `every online node that advertises ${describeRequirement(requirement)} refused it; last: ${reason}`, nodeId, job.charged)
        return
      }
    }
    const rejections = job.history.length - job.charged
    if (rejections >= ctx.options.maxRejections) {
      this.finalize(job, 'failed', null, `refused by workers ${rejections} times; last: ${reason}`, nodeId, job.charged)
      return
    }
    job.state = 'queued'
    job.node = null
    job.epoch = null
    this.save(job)
    ctx.afterFlush(() => ctx.notifier.toJob(job, { type: 'progress', state: 'requeued', attempt: job.attempt, detail: reason }))
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
  ): void {
    const { ctx } = this
    ctx.timers.clear(job.id)
    this.release(job)
    ctx.queue.remove(job)
    ctx.active.delete(job.id)
    ctx.excluded.delete(job.id)
    job.state = state
    job.finalState = state
    job.node = node
    job.output = output
    job.attempts = attempts
    if (error !== undefined) job.error = error
    this.save(job)
    ctx.counters.inc(`final_${state}`)
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
