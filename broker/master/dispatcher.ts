import type { Logger } from '../../src/logging/logger.js'
import type { JobRecord } from '../store/job-record.js'
import type { Counters } from './counters.js'
import { runsBefore, type QueueClass, type QueueEntry } from './job-queue.js'
import type { JobTable } from './job-table.js'
import type { NodeEntry, NodeTable } from './node-table.js'
import { markPlaced, pickNode } from './scheduler.js'

/**
 * Matches queued jobs to free slots. Runs once per burst of events (a microtask, so a job that
 * is admitted and placed in the same turn is written to the store once, as assigned), and each
 * placement costs a heap pop plus one pass over the nodes.
 */
const DISPATCH_BATCH = 256

export class Dispatcher {
  private scheduled = false
  private stopped = false

  constructor(
    private readonly jobs: JobTable,
    private readonly nodes: NodeTable,
    private readonly counters: Counters,
    private readonly logger: Logger,
    /** Its owner's assignment of a placed job; the slot is already reserved on `node`. */
    private readonly assign: (job: JobRecord, node: NodeEntry) => void,
    private readonly random: () => number = Math.random,
  ) {}

  schedule(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      if (!this.stopped) this.run()
    })
  }

  stop(): void {
    this.stopped = true
  }

  run(): void {
    const { jobs, counters } = this
    const unparked = counters.get('unparked')
    let placed = 0
    for (;;) {
      // Choose up to a batch of placements first, reserving each slot as it is chosen, so that
      // the records of parked jobs come back from the store in one query, not one each.
      const picks: Array<{ id: string; node: NodeEntry }> = []
      while (picks.length < DISPATCH_BATCH) {
        let best: { queueClass: QueueClass; head: QueueEntry; node: NodeEntry } | undefined
        for (const { queueClass, head } of jobs.heads()) {
          if (best && !runsBefore(head, best.head)) continue
          const node = pickNode(this.nodes, queueClass.requirement, jobs.excludedFrom(head.id), this.random)
          if (node) best = { queueClass, head, node }
        }
        if (!best) break
        const entry = jobs.take(best.queueClass)
        if (!entry) continue
        best.node.inFlight.add(entry.id)
        markPlaced(best.node)
        picks.push({ id: entry.id, node: best.node })
      }
      if (picks.length === 0) break
      placed += picks.length
      const records = jobs.unparkMany(picks.map((pick) => pick.id))
      for (const { id, node } of picks) {
        const job = records.get(id)
        if (!job) {
          node.inFlight.delete(id)
          continue
        }
        try {
          this.assign(job, node)
        } catch (error) {
          // One bad placement must not strand the rest of the batch outside every queue.
          node.inFlight.delete(id)
          this.logger.error({ err: error, jobId: id, node: node.id }, 'assignment failed; job requeued')
          jobs.putBack(job) // no reschedule here: a failure that repeats must not spin
        }
      }
    }
    if (placed > 0) jobs.dispatched(counters.get('unparked') > unparked)
  }
}
