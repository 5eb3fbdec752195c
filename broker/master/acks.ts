import { LIMITS, type RunningEntry } from '../../src/protocol/index.js'
import type { NodeTable } from './node-table.js'
import type { Notifier } from './notifier.js'

/** Results to acknowledge, by node, in arrival order. */
export type AckBatch = Map<string, RunningEntry[]>

/** One batch of several, oldest first, each node's entries kept in order. */
export function mergeAcks(batches: AckBatch[]): AckBatch {
  if (batches.length === 1) return batches[0]!
  const merged: AckBatch = new Map()
  for (const batch of batches) {
    for (const [nodeId, entries] of batch) {
      const list = merged.get(nodeId)
      if (list) list.push(...entries)
      else merged.set(nodeId, [...entries])
    }
  }
  return merged
}

/**
 * Result acknowledgements (docs/protocol.md §10), sent once the results are durable. A worker that
 * announced `ack-batch` gets one `control` `ack` per flush for all of its results (a fifth of the
 * messages a job costs the broker at load); any other worker gets one `ack` per result, as
 * the base protocol has it.
 */
export class ResultAcks {
  private pending: AckBatch = new Map()

  constructor(
    private readonly nodes: NodeTable,
    private readonly notifier: Notifier,
  ) {}

  /** Held until the commit gate takes it for its next flush. */
  add(nodeId: string, jobId: string, attempt: number): void {
    let entries = this.pending.get(nodeId)
    if (!entries) this.pending.set(nodeId, (entries = []))
    entries.push({ jobId, attempt })
  }

  /** The acks of every result saved so far, for the flush about to be made. */
  take(): AckBatch {
    const taken = this.pending
    this.pending = new Map()
    return taken
  }

  /** Once the flush that `take()` preceded is durable. */
  send(batch: AckBatch): void {
    for (const [nodeId, entries] of batch) {
      if (entries.length > 1 && this.nodes.get(nodeId)?.features.has('ack-batch')) {
        for (let i = 0; i < entries.length; i += LIMITS.maxAckBatch) {
          this.notifier.control(nodeId, 'ack', { jobs: entries.slice(i, i + LIMITS.maxAckBatch) })
        }
      } else {
        for (const entry of entries) this.notifier.control(nodeId, 'ack', entry)
      }
    }
  }
}
