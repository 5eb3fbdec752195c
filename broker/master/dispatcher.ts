import type { MasterContext } from './context.js'
import type { Lifecycle } from './lifecycle.js'
import { runsBefore } from './job-queue.js'
import { pickNode } from './scheduler.js'

/**
 * Matches queued jobs to free slots. Runs once per burst of events (a microtask, so a job that
 * is admitted and placed in the same turn is written to the store once, as assigned), and each
 * placement costs a heap pop plus one pass over the nodes.
 */
export class Dispatcher {
  private scheduled = false
  private stopped = false

  constructor(
    private readonly ctx: MasterContext,
    private readonly lifecycle: Lifecycle,
    private readonly random: () => number = Math.random,
  ) {
    lifecycle.onCapacity = () => this.schedule()
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
  }

  run(): void {
    const { ctx } = this
    for (;;) {
      let best: { take: () => void; head: import('../store/job-record.js').JobRecord } | undefined
      for (const queueClass of ctx.queue.heads()) {
        if (best && !runsBefore(queueClass.head, best.head)) continue
        const node = pickNode(ctx.nodes, queueClass.requirement, ctx.excluded.get(queueClass.head.id), this.random)
        if (!node) continue
        best = {
          head: queueClass.head,
          take: () => {
            const job = ctx.queue.take(queueClass)
            if (job) this.lifecycle.assign(job, node.id, node.epoch)
          },
        }
      }
      if (!best) return
      best.take()
    }
  }
}
