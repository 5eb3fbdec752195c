import { decode, nodeStateSchema } from '../../../src/protocol/index.js'
import type { MasterContext } from '../context.js'
import type { LossKind } from '../../store/job-record.js'
import type { Lifecycle } from '../lifecycle.js'
import type { Heard } from '../losses.js'
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
  const message = decoded.value
  const change = ctx.nodes.apply(nodeId, message, ctx.now(), retained)
  // Whatever this message proves about the process behind the node's earlier losses, it proves
  // before those it may cause itself (docs/protocol.md §10). A retained message may predate them.
  const heard: Heard = { epoch: message.epoch, will: message.state === 'offline' && message.reason !== 'shutdown' }
  if (!retained && change.kind !== 'stale') lifecycle.heardFrom(nodeId, heard)
  switch (change.kind) {
    case 'stale':
      ctx.counters.inc('ignored_stale_state')
      ctx.logger.debug({ node: nodeId, epoch: change.epoch }, 'stale node state ignored')
      return
    case 'offline':
      ctx.logger.info({ node: nodeId, epoch: change.epoch, reason: decoded.value.reason }, 'node offline')
      // A graceful `offline` is the process speaking: what it still held was lost to no crash, and
      // no grace can bring it back (a later birth would be judged as another process's).
      if (!heard.will) connectionLost(ctx, lifecycle, change.node, `node ${nodeId} went offline (${message.reason ?? 'shutdown'})`, 'offline', 0, heard)
      else connectionLost(ctx, lifecycle, change.node, `node ${nodeId} went offline (${message.reason ?? 'will'})`)
      return
    case 'update':
      lifecycle.onCapacity()
      return
    case 'birth': {
      ctx.logger.info({ node: nodeId, epoch: change.node.epoch, slots: change.node.slots }, 'node online')
      reconcile(ctx, lifecycle, change.node, change.running, heard)
      lifecycle.onCapacity()
      return
    }
  }
}

/**
 * The connection holding these attempts is gone. With a lost-grace the node may come back with
 * them (its next birth decides); otherwise they are requeued now.
 */
export function connectionLost(
  ctx: MasterContext,
  lifecycle: Lifecycle,
  node: NodeEntry,
  reason: string,
  kind: LossKind = 'offline',
  graceMs = ctx.options.lostGraceMs,
  heard?: Heard,
): void {
  for (const jobId of [...node.inFlight]) {
    const job = ctx.active.get(jobId)
    if (!job) {
      node.inFlight.delete(jobId)
      continue
    }
    const attempt = job.attempt
    if (graceMs <= 0) lifecycle.loseAttempt(job, attempt, kind, reason, heard)
    else ctx.timers.set(job.id, graceMs, () => lifecycle.loseAttempt(job, attempt, kind, `${reason}; not back within ${graceMs} ms`, heard))
  }
}

/**
 * A birth lists what the node still runs: keep those attempts, lose the ones it no longer has.
 * The birth itself says what those losses were: the same process (a link) or another (a crash).
 */
function reconcile(ctx: MasterContext, lifecycle: Lifecycle, node: NodeEntry, running: { jobId: string; attempt: number }[], heard: Heard): void {
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
      else lifecycle.runDeadline(job)
      held.delete(jobId)
    } else {
      lifecycle.loseAttempt(job, job.attempt, 'rebirth', `node ${node.id} came back without attempt ${job.attempt}`, heard)
    }
  }
  // Anything else it runs is not its to run any more (requeued elsewhere, or already final).
  for (const [jobId, attempt] of held) {
    ctx.counters.inc('canceled_unowned_running')
    ctx.notifier.control(node.id, 'cancel', { jobId, attempt })
  }
}
