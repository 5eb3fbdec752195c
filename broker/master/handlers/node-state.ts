import { decode, nodeStateSchema } from '../../../src/protocol/index.js'
import type { MasterContext } from '../context.js'
import type { Lifecycle } from '../lifecycle.js'
import type { NodeEntry } from '../node-table.js'

/** `{ns}/nodes/{node}/state`: births, drains and wills, under the epoch rules of docs/protocol.md §9. */
export function handleNodeState(ctx: MasterContext, lifecycle: Lifecycle, nodeId: string, payload: Buffer, retained = false): void {
  if (payload.length === 0) return // a cleared retained message
  const decoded = decode(nodeStateSchema, payload, ctx.options.maxPayloadBytes)
  if (!decoded.ok) {
    ctx.counters.inc(`rejected_${decoded.code}`)
    ctx.logger.warn({ node: nodeId, reason: decoded.message }, 'malformed node state')
    return
  }
  const change = ctx.nodes.apply(nodeId, decoded.value, ctx.now(), retained)
  switch (change.kind) {
    case 'stale':
      ctx.counters.inc('ignored_stale_state')
      ctx.logger.debug({ node: nodeId, epoch: change.epoch }, 'stale node state ignored')
      return
    case 'offline':
      ctx.logger.info({ node: nodeId, epoch: change.epoch, reason: decoded.value.reason }, 'node offline')
      connectionLost(ctx, lifecycle, change.node, `node ${nodeId} went offline (${decoded.value.reason ?? 'will'})`)
      return
    case 'update':
      lifecycle.onCapacity()
      return
    case 'birth': {
      ctx.logger.info({ node: nodeId, epoch: change.node.epoch, slots: change.node.slots }, 'node online')
      reconcile(ctx, lifecycle, change.node, change.running)
      lifecycle.onCapacity()
      return
    }
  }
}

/**
 * The connection holding these attempts is gone. With a lost-grace the node may come back with
 * them (its next birth decides); otherwise they are requeued now.
 */
export function connectionLost(ctx: MasterContext, lifecycle: Lifecycle, node: NodeEntry, reason: string, graceMs = ctx.options.lostGraceMs): void {
  for (const jobId of [...node.inFlight]) {
    const job = ctx.active.get(jobId)
    if (!job) {
      node.inFlight.delete(jobId)
      continue
    }
    const attempt = job.attempt
    if (graceMs <= 0) lifecycle.loseAttempt(job, attempt, reason)
    else ctx.timers.set(job.id, graceMs, () => lifecycle.loseAttempt(job, attempt, `${reason}; not back within ${graceMs} ms`))
  }
}

/** A birth lists what the node still runs: keep those attempts, lose the ones it no longer has. */
function reconcile(ctx: MasterContext, lifecycle: Lifecycle, node: NodeEntry, running: { jobId: string; attempt: number }[]): void {
  const held = new Map(running.map((entry) => [entry.jobId, entry.attempt]))
  for (const jobId of [...node.inFlight]) {
    const job = ctx.active.get(jobId)
    if (!job) {
      node.inFlight.delete(jobId)
      continue
    }
    if (held.get(jobId) === job.attempt) {
      job.epoch = node.epoch
      if (job.state === 'assigned') lifecycle.markRunning(job)
      else ctx.timers.set(job.id, job.spec.timeoutMs + ctx.options.runGraceMs, () => lifecycle.loseAttempt(job, job.attempt, 'no result within timeoutMs + grace', true))
      held.delete(jobId)
    } else {
      lifecycle.loseAttempt(job, job.attempt, `node ${node.id} came back without attempt ${job.attempt}`)
    }
  }
  // Anything else it runs is not its to run any more (requeued elsewhere, or already final).
  for (const [jobId, attempt] of held) {
    ctx.counters.inc('canceled_unowned_running')
    ctx.notifier.control(node.id, 'cancel', { jobId, attempt })
  }
}
