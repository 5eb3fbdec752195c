import { instanceOfEpoch, isFinal, replyBody, workerEventSchema, type WorkerEvent } from '../../../src/protocol/index.js'
import type { JobRecord } from '../../store/job-record.js'
import { resultBody } from '../notifier.js'
import type { MasterParts } from '../parts.js'
import { decodeFromNode } from './from-node.js'

/** `{ns}/nodes/{node}/events`: what a worker says about the attempts it was given. */
export function handleNodeEvent(ctx: MasterParts, nodeId: string, payload: Buffer): void {
  const event = decodeFromNode(ctx, workerEventSchema, payload, nodeId, 'worker event')
  if (!event) return
  if (event.type === 'result') return handleResult(ctx, nodeId, event)
  const { lifecycle } = ctx
  const job = ctx.jobs.get(event.jobId)
  // accepted, rejected and progress count only for the live attempt, from the process it was
  // given to (the epoch's instance: a worker that kept the job across a reconnect still tags its
  // events with the assignment's epoch).
  if (!job || job.node !== nodeId || job.attempt !== event.attempt || !job.epoch || instanceOfEpoch(job.epoch) !== instanceOfEpoch(event.epoch)) {
    ctx.counters.inc(`ignored_${event.type}_not_current`)
    return
  }
  switch (event.type) {
    case 'accepted':
      if (job.state === 'assigned') lifecycle.markRunning(job)
      return
    case 'rejected':
      lifecycle.refused(
        job,
        `node ${nodeId} refused: ${event.code}: ${event.message}`,
        event.code === 'BUSY' || event.code === 'DRAINING' ? ctx.options.busyRetryMs : 0,
        event.code === 'UNSUPPORTED',
      )
      return
    case 'progress':
      // Behind the master's own replies (`assigned`, `running`), which wait for the store: a job's
      // replies go out in the order they were decided (docs/protocol.md §8).
      ctx.gate.afterCommit(() => ctx.notifier.toJob(job, replyBody.progress(event.state, event.attempt, { node: nodeId, detail: event.detail })))
      return
  }
}

/** The first result wins (docs/protocol.md §10): later ones are acknowledged and dropped. */
function handleResult(ctx: MasterParts, nodeId: string, event: Extract<WorkerEvent, { type: 'result' }>): void {
  const { lifecycle } = ctx
  const ack = () => ctx.gate.ack(nodeId, event.jobId, event.attempt)
  const job = ctx.jobs.unpark(event.jobId)
  if (!job) {
    const stored = ctx.jobs.stored(event.jobId)
    // Final (or never stored): the result can never matter, so it must not sit in an outbox; but
    // one for an attempt this node's process was never given (a spoof) is not acknowledged.
    if (stored && !wasAssigned(stored, nodeId, event)) ctx.counters.inc('ignored_result_not_assigned')
    else {
      ctx.counters.inc(stored ? 'ignored_result_after_final' : 'ignored_result_unknown_job')
      // The result that made the job final, unacknowledged, and never sent by this master: the
      // master that committed it died before its reply left (a reply and its ack leave together,
      // replies first). Its submitter hears it now (docs/protocol.md §7a).
      if (stored && stored.attempt === event.attempt && stored.node === nodeId) sendUnsentResult(ctx, stored)
      ack()
    }
    return
  }
  if (!wasAssigned(job, nodeId, event)) {
    // Not an attempt this node's process was given: a spoof, or a confused worker.
    ctx.counters.inc('ignored_result_not_assigned')
    ctx.logger.warn({ jobId: job.id, node: nodeId, attempt: event.attempt }, 'result for an attempt not assigned to this node')
    return
  }
  if (event.state === 'canceled') {
    // Workers only cancel on our word; a canceled result for a live job means the attempt is gone.
    ack()
    lifecycle.loseAttempt(job, event.attempt, 'canceled', `node ${nodeId} canceled attempt ${event.attempt}`)
    return
  }
  const current = job.node
  const currentAttempt = job.attempt
  lifecycle.finalize(job, event.state, event.output, event.error, nodeId)
  if (current && (current !== nodeId || currentAttempt !== event.attempt)) {
    ctx.notifier.control(current, 'cancel', { jobId: job.id, attempt: currentAttempt })
  }
  ack()
}

/**
 * The result of a job another master ended, if this one may know it never left
 * (Notifier.claimResult): sent once, after the commit in hand, so ahead of any ack queued with it.
 */
export function sendUnsentResult(ctx: MasterParts, job: JobRecord): boolean {
  if (!isFinal(job.state) || !ctx.notifier.claimResult(job)) return false
  ctx.counters.inc('results_resent_after_takeover')
  ctx.gate.afterCommit(() => ctx.notifier.toJob(job, resultBody(job)))
  return true
}

function wasAssigned(job: JobRecord, nodeId: string, event: { attempt: number; epoch: string }): boolean {
  const instance = instanceOfEpoch(event.epoch)
  return job.history.some((h) => h.attempt === event.attempt && h.node === nodeId && instanceOfEpoch(h.epoch) === instance)
}
