import { instanceOfEpoch, replyBody, type FinalState, type JobOutput, type ResultCode } from '../../src/protocol/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { lostCount, type AttemptLoss, type JobRecord, type LossKind, type LossVerdict } from '../store/job-record.js'
import type { CommitGate } from './commit-gate.js'
import type { Counters } from './counters.js'
import type { MasterEventSink } from './events.js'
import { Dispatcher } from './dispatcher.js'
import { JobTimers } from './job-timers.js'
import type { JobTable } from './job-table.js'
import { OpenLosses, spentBudget, verdictOf, type Heard } from './losses.js'
import type { NodeEntry, NodeTable } from './node-table.js'
import { resultBody, type Notifier } from './notifier.js'
import type { MasterOptions } from './options.js'
import { canRun, describeRequirement, requirementOf } from './requirement.js'

export interface LifecycleDeps {
  jobs: JobTable
  nodes: NodeTable
  gate: CommitGate
  notifier: Notifier
  counters: Counters
  logger: Logger
  options: MasterOptions
  events: MasterEventSink
  /** The scheduler's tie-break among nodes never given a job. */
  random?: () => number
}

/**
 * The job state machine of docs/protocol.md §10: queued → assigned → running → final. Every transition
 * saves the record; anything said about it to submitters and followers waits for the save to be
 * durable (an assignment does not: see assign). It owns each job's deadline and the dispatcher,
 * which hands every placement it makes back to `assign`.
 */
export class Lifecycle {
  /** Losses not yet known to be a link's or a crash's, by node. */
  private readonly openLosses = new OpenLosses()
  private readonly timers = new JobTimers()
  private readonly dispatcher: Dispatcher
  private readonly jobs: JobTable
  private readonly nodes: NodeTable
  private readonly gate: CommitGate
  private readonly notifier: Notifier
  private readonly counters: Counters
  private readonly logger: Logger
  private readonly options: MasterOptions
  private readonly events: MasterEventSink

  constructor(deps: LifecycleDeps) {
    this.events = deps.events
    this.jobs = deps.jobs
    this.nodes = deps.nodes
    this.gate = deps.gate
    this.notifier = deps.notifier
    this.counters = deps.counters
    this.logger = deps.logger
    this.options = deps.options
    this.dispatcher = new Dispatcher(deps.jobs, deps.nodes, deps.counters, deps.logger, (job, node) => this.assign(job, node.id, node.epoch), deps.random)
  }

  /** A slot may have freed, a node come, or a job been queued: dispatch once this burst is handled. */
  wake(): void {
    this.dispatcher.schedule()
  }

  stop(): void {
    this.dispatcher.stop()
    this.jobs.stop()
    this.timers.clearAll()
  }

  /** Queues the job (new, requeued or recovered); the table parks it when the queue is long. */
  enqueue(job: JobRecord, alreadyStored = false): void {
    this.jobs.requeue(job, alreadyStored)
    this.wake()
  }

  /**
   * After a restart: queued jobs go back in the queue; assigned and running ones wait, on a
   * placeholder of their node, for that node's rebirth to say whether it still holds them.
   */
  recover(unfinished: Iterable<JobRecord>): void {
    const { jobs, nodes } = this
    for (const job of unfinished) {
      jobs.restore(job)
      // Losses the last master could not yet resolve are resolved by the nodes' next births.
      this.openLosses.track(job)
      if (job.state === 'queued') {
        this.enqueue(job, true) // parks it when the queue is long
        continue
      }
      if (!job.node || !job.epoch) {
        this.enqueue(job)
        continue
      }
      nodes.placeholder(job.node, job.epoch).inFlight.add(job.id)
    }
    for (const node of nodes.all()) {
      if (node.inFlight.size === 0) continue
      this.counters.inc('recovered_in_flight', node.inFlight.size)
      this.connectionLost(node, `master restarted and node ${node.id} did not come back`, 'restart', Math.max(1, this.options.reconcileMs))
      this.notifier.control(node.id, 'rebirth')
    }
  }

  /**
   * The connection holding these attempts is gone. With a grace the node may come back with
   * them (its next birth decides); otherwise they are requeued now.
   */
  connectionLost(node: NodeEntry, reason: string, kind: LossKind = 'offline', graceMs = this.options.lostGraceMs, heard?: Heard): void {
    for (const jobId of [...node.inFlight]) {
      const job = this.jobs.get(jobId)
      if (!job) {
        node.inFlight.delete(jobId)
        continue
      }
      const attempt = job.attempt
      if (graceMs <= 0) this.loseAttempt(job, attempt, kind, reason, heard)
      else this.timers.set(job.id, graceMs, () => this.loseAttempt(job, attempt, kind, `${reason}; not back within ${graceMs} ms`, heard))
    }
  }

  assign(job: JobRecord, nodeId: string, epoch: string): void {
    const { options, notifier } = this
    job.attempt += 1
    job.state = 'assigned'
    job.node = nodeId
    job.epoch = epoch
    job.history.push({ attempt: job.attempt, node: nodeId, epoch, at: Date.now() })
    this.nodes.get(nodeId)?.inFlight.add(job.id)
    this.jobs.save(job)
    this.events.emit('job-assigned', job)
    const attempt = job.attempt
    // The assignment leaves now, not after the commit: the commit is already under way and the
    // worker's answer needs a round trip. Should the master die before the commit, the store
    // still has the job as it was (or not at all, and then nobody was told of it), so it runs
    // again and is reported once; the orphaned attempt is canceled by the node's next birth
    // (docs/storage.md). Only what submitters and followers hear waits for the disk.
    const ackBy = Date.now() + options.ackTimeoutMs
    this.timers.set(job.id, options.ackTimeoutMs, () => this.loseAttempt(job, attempt, 'ack', `node ${nodeId} did not accept within ${options.ackTimeoutMs} ms`))
    notifier.assign(nodeId, { job: job.spec, attempt, epoch, ackBy })
    this.gate.afterCommit(() => {
      if (job.attempt !== attempt || job.state !== 'assigned') return
      notifier.toJob(job, replyBody.progress('assigned', attempt, { node: nodeId }))
    })
  }

  /** The worker took it: from now on the run deadline (timeoutMs + grace) guards a silent worker. */
  markRunning(job: JobRecord): void {
    job.state = 'running'
    // Not written on its own: after a restart `assigned` and `running` are reconciled alike, from
    // the node's rebirth, so this write would buy nothing but a row update per job.
    job.updatedAt = Date.now()
    const attempt = job.attempt
    this.runDeadline(job)
    this.gate.afterCommit(() => this.notifier.toJob(job, replyBody.progress('running', attempt, { node: job.node ?? undefined })))
  }

  /**
   * The node came back still holding the attempt: it now belongs to the new connection. One still
   * `assigned` is running there, since the birth lists it, whatever became of its `accepted`.
   */
  keep(job: JobRecord, epoch: string): void {
    job.epoch = epoch
    if (job.state === 'assigned') this.markRunning(job)
    else this.runDeadline(job)
  }

  /** A silent worker: no result within timeoutMs + run grace loses the attempt. */
  private runDeadline(job: JobRecord): void {
    const attempt = job.attempt
    const grace = this.options.runGraceMs
    this.timers.set(job.id, job.spec.timeoutMs + grace, () => this.loseAttempt(job, attempt, 'run', `no result within timeoutMs + ${grace} ms grace`))
  }

  /**
   * The attempt is gone (its connection died, it missed a deadline, its node came back without
   * it): cancel it where it was and run the job again at once. What the loss costs is decided by
   * what the master hears next from that node (docs/protocol.md §10): `heard` when that is already
   * known (the birth that came back without it); otherwise the loss stays open until then.
   */
  loseAttempt(job: JobRecord, attempt: number, kind: LossKind, reason: string, heard?: Heard): void {
    if (job.attempt !== attempt || (job.state !== 'assigned' && job.state !== 'running')) return
    this.timers.clear(job.id)
    const nodeId = job.node
    const epoch = job.epoch ?? ''
    this.release(job)
    if (nodeId) this.notifier.control(nodeId, 'cancel', { jobId: job.id, attempt })
    const loss: AttemptLoss = { at: Date.now(), kind, reason, epoch }
    const entry = job.history.findLast((h) => h.attempt === attempt)
    if (entry) entry.lost = loss
    job.lost = lostCount(job) + 1
    this.counters.inc('attempts_lost')
    // A missed accept deadline or an unasked cancel, from a process that is still connected: that
    // process lives, and the job never ran there (or it dropped it), so this is no crash.
    const from = heard ?? (kind === 'ack' || kind === 'canceled' ? this.liveConnection(nodeId, epoch) : undefined)
    const verdict = from ? verdictOf(loss, from) : undefined
    if (verdict) this.judge(job, loss, verdict)
    else if (nodeId && entry) this.openLosses.add(nodeId, job.id)
    this.logger.info({ jobId: job.id, attempt, node: nodeId, kind, verdict, reason }, 'attempt lost')
    const ending = spentBudget(job, loss)
    if (ending) {
      this.finalize(job, ending.state, null, ending.error, nodeId, job.charged, ending.code)
      return
    }
    this.jobs.save(job)
    this.enqueue(job)
    this.events.emit('attempt-requeued', kind)
    this.gate.afterCommit(() => this.notifier.toJob(job, replyBody.progress('requeued', attempt, { detail: reason })))
    // A run deadline on a connection that looks alive: ask the node for its birth. A worker
    // still there answers on this connection (after its unacknowledged results, so a result
    // held up by a stall comes first); one whose link was stalled answers on a new one.
    if (!verdict && kind === 'run' && nodeId && this.liveConnection(nodeId, epoch)?.epoch === epoch) {
      this.notifier.control(nodeId, 'rebirth')
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
    const records = this.jobs.unparkMany(ids)
    for (const id of ids) {
      const job = records.get(id)
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
      this.logger.info({ jobId: id, node: nodeId, verdict: resolved.verdict, charged: job.charged }, 'loss resolved')
      const ending = spentBudget(job, resolved)
      if (!ending) {
        this.jobs.save(job)
        continue
      }
      const inFlight = job.state === 'assigned' || job.state === 'running' ? { node: job.node, attempt: job.attempt } : undefined
      this.finalize(job, ending.state, null, ending.error, nodeId, job.charged, ending.code)
      if (inFlight?.node) this.notifier.control(inFlight.node, 'cancel', { jobId: id, attempt: inFlight.attempt })
    }
  }

  /** Records what a loss was; crashes and timeouts are charged against maxAttempts. */
  private judge(job: JobRecord, loss: AttemptLoss, verdict: LossVerdict): void {
    loss.verdict = verdict
    if (verdict !== 'link') job.charged += 1
    this.counters.inc(`losses_${verdict}`)
  }

  /** The node's connection, if it is up and belongs to the process of `epoch`. */
  private liveConnection(nodeId: string | null, epoch: string): Heard | undefined {
    const node = nodeId ? this.nodes.get(nodeId) : undefined
    if (!node || node.state === 'offline' || node.instance !== instanceOfEpoch(epoch)) return undefined
    return { epoch: node.epoch, will: false }
  }

  /** A worker refused the assignment. That costs no attempt (docs/protocol.md §10). */
  refused(job: JobRecord, reason: string, retryAfterMs: number, excludeNode: boolean): void {
    this.timers.clear(job.id)
    const nodeId = job.node
    this.release(job)
    if (excludeNode && nodeId) {
      const excluded = this.jobs.exclude(job.id, nodeId)
      const requirement = requirementOf(job.spec)
      const capable = [...this.nodes.all()].filter((node) => node.state === 'online' && canRun(node, requirement))
      if (capable.length > 0 && capable.every((node) => excluded.has(node.id))) {
        // Waiting would be forever: every node that claims to run it has said it cannot.
        this.finalize(job, 'failed', null, `every online node that advertises ${describeRequirement(requirement)} refused it; last: ${reason}`, nodeId, job.charged, 'REFUSED_EVERYWHERE')
        return
      }
    }
    const rejections = job.history.length - lostCount(job)
    if (rejections >= this.options.maxRejections) {
      this.finalize(job, 'failed', null, `refused by workers ${rejections} times; last: ${reason}`, nodeId, job.charged, 'MAX_REJECTIONS')
      return
    }
    this.jobs.hold(job)
    this.jobs.save(job)
    this.events.emit('attempt-requeued', 'refused')
    this.gate.afterCommit(() => this.notifier.toJob(job, replyBody.progress('requeued', job.attempt, { detail: reason })))
    if (retryAfterMs > 0) this.timers.set(job.id, retryAfterMs, () => this.enqueue(job))
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
    this.timers.clear(job.id)
    this.release(job)
    this.jobs.retire(job)
    this.openLosses.forget(job)
    job.state = state
    job.finalState = state
    job.node = node
    job.output = output
    job.attempts = attempts
    if (error !== undefined) job.error = error
    if (code !== undefined) job.code = code
    this.jobs.save(job)
    this.counters.inc(`final_${state}`)
    if (code !== undefined) this.counters.inc(`final_code_${code}`)
    this.events.emit('job-finished', job)
    this.gate.afterCommit(() => this.notifier.toJob(job, resultBody(job)))
    this.wake()
  }

  /** Frees the slot the job held on its node. */
  private release(job: JobRecord): void {
    if (job.node) {
      const node = this.nodes.get(job.node)
      if (node?.inFlight.delete(job.id)) this.wake()
    }
  }
}
