import { LIMITS, type RunningEntry } from '../../src/protocol/index.js'
import type { NodeTable } from './node-table.js'
import type { Notifier } from './notifier.js'

/**
 * Result acknowledgements (DESIGN §5, step 4), sent once the results are durable. A worker that
 * announced `ack-batch` gets one `control` `ack` per flush for all of its results (a fifth of the
 * messages a job costs the broker at load); any other worker gets one `ack` per result, as
 * DESIGN.md has it.
 */
export class ResultAcks {
  private pending = new Map<string, RunningEntry[]>()

  constructor(
    private readonly nodes: NodeTable,
    private readonly notifier: Notifier,
    private readonly afterFlush: (fn: () => void) => void,
  ) {}

  add(nodeId: string, jobId: string, attempt: number): void {
    if (this.pending.size === 0) this.afterFlush(() => this.send())
    let entries = this.pending.get(nodeId)
    if (!entries) this.pending.set(nodeId, (entries = []))
    entries.push({ jobId, attempt })
  }

  private send(): void {
    const pending = this.pending
    this.pending = new Map()
    for (const [nodeId, entries] of pending) {
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
