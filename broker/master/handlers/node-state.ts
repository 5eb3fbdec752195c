import { nodeStateSchema } from '../../../src/protocol/index.js'
import type { Heard } from '../losses.js'
import type { NodeEntry } from '../node-table.js'
import type { MasterParts } from '../parts.js'
import { decodeFromNode } from './from-node.js'

/** `{ns}/nodes/{node}/state`: births, drains and wills, under the epoch rules of docs/protocol.md §9. */
export function handleNodeState(ctx: MasterParts, nodeId: string, payload: Buffer, retained = false): void {
  const { lifecycle } = ctx
  if (payload.length === 0) return // a cleared retained message
  const message = decodeFromNode(ctx, nodeStateSchema, payload, nodeId, 'node state')
  if (!message) return
  const change = ctx.nodes.apply(nodeId, message, Date.now(), retained)
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
      ctx.logger.info({ node: nodeId, epoch: change.epoch, reason: message.reason }, 'node offline')
      // A graceful `offline` is the process speaking: what it still held was lost to no crash, and
      // no grace can bring it back (a later birth would be judged as another process's).
      if (!heard.will) lifecycle.connectionLost(change.node, `node ${nodeId} went offline (${message.reason ?? 'shutdown'})`, 'offline', 0, heard)
      else lifecycle.connectionLost(change.node, `node ${nodeId} went offline (${message.reason ?? 'will'})`)
      return
    case 'update':
      lifecycle.wake()
      return
    case 'birth': {
      ctx.logger.info({ node: nodeId, epoch: change.node.epoch, slots: change.node.slots }, 'node online')
      reconcile(ctx, change.node, change.running, heard)
      lifecycle.wake()
      return
    }
  }
}

/**
 * A birth lists what the node still runs: keep those attempts, lose the ones it no longer has.
 * The birth itself says what those losses were: the same process (a link) or another (a crash).
 */
function reconcile(ctx: MasterParts, node: NodeEntry, running: { jobId: string; attempt: number }[], heard: Heard): void {
  const { lifecycle } = ctx
  const held = new Map(running.map((entry) => [entry.jobId, entry.attempt]))
  for (const jobId of [...node.inFlight]) {
    const job = ctx.jobs.get(jobId)
    if (!job) {
      node.inFlight.delete(jobId)
      continue
    }
    if (held.get(jobId) === job.attempt) {
      lifecycle.keep(job, node.epoch)
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

/**
 * Back from a lost connection (external broker): what the nodes sent meanwhile is gone, so ask
 * every node for its birth and outbox; the answer is the truth about what it still holds.
 */
export function askForRebirths(ctx: MasterParts): void {
  for (const node of ctx.nodes.all()) {
    node.reconciling = true
    ctx.notifier.control(node.id, 'rebirth')
  }
}
