import type { MasterContext } from './context.js'
import type { Lifecycle } from './lifecycle.js'
import { runsBefore, type QueueClass, type QueueEntry } from './job-queue.js'
import type { NodeEntry } from './node-table.js'
import { ReadAhead } from './read-ahead.js'
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
  private readonly readAhead: ReadAhead

  constructor(
    private readonly ctx: MasterContext,
    private readonly lifecycle: Lifecycle,
    private readonly random: () => number = Math.random,
  ) {
    lifecycle.onCapacity = () => this.schedule()
    this.readAhead = new ReadAhead(ctx, lifecycle)
  }

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
    this.readAhead.stop()
  }

  run(): void {
    const { ctx } = this
    const unparked = ctx.counters.get('unparked')
    let placed = 0
    for (;;) {
      // Choose up to a batch of placements first, reserving each slot as it is chosen, so that
      // the records of parked jobs come back from the store in one query, not one each.
      const picks: Array<{ id: string; node: NodeEntry }> = []
      while (picks.length < DISPATCH_BATCH) {
        let best: { queueClass: QueueClass; head: QueueEntry; node: NodeEntry } | undefined
        for (const { queueClass, head } of ctx.queue.heads()) {
          if (best && !runsBefore(head, best.head)) continue
          const node = pickNode(ctx.nodes, queueClass.requirement, ctx.excluded.get(head.id), this.random)
          if (node) best = { queueClass, head, node }
        }
        if (!best) break
        const entry = ctx.queue.take(best.queueClass)
        if (!entry) continue
        best.node.inFlight.add(entry.id)
        markPlaced(best.node)
        picks.push({ id: entry.id, node: best.node })
      }
      if (picks.length === 0) break
      placed += picks.length
      const records = this.lifecycle.unparkMany(picks.map((pick) => pick.id))
      for (const { id, node } of picks) {
        const job = records.get(id)
        if (!job) {
          node.inFlight.delete(id)
          continue
        }
        try {
          this.lifecycle.assign(job, node.id, node.epoch)
        } catch (error) {
          // One bad placement must not strand the rest of the batch outside every queue.
          node.inFlight.delete(id)
          ctx.logger.error({ err: error, jobId: id, node: node.id }, 'assignment failed; job requeued')
          job.state = 'queued'
          job.node = null
          job.epoch = null
          ctx.queue.push(job) // no reschedule here: a failure that repeats must not spin
        }
      }
    }
    if (placed > 0) this.readAhead.dispatched(ctx.counters.get('unparked') > unparked)
  }
}
