import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { MasterContext } from './context.js'
import type { Lifecycle } from './lifecycle.js'

/**
 * Read-ahead waits for the master to be idle: no dispatch for this long, and the event loop
 * busy less than BUSY_SHARE of it. A master still dispatching (a steady stream of results
 * freeing slots) or still sending out a burst of assignments is never slowed by it.
 */
export const READ_AHEAD_IDLE_MS = 5
const BUSY_SHARE = 0.5
/** Rows per store query while reading ahead: each is a pause of about 2 ms for everything else. */
const CHUNK = 500

/**
 * Keeps the records of the next `readAhead` queued jobs (shared among the queue classes) in
 * memory while the queue is past `parkAbove`. Without it, every job dispatched from a deep queue
 * pays a store query and a parse on the dispatch path (BENCHMARKS.md, "dispatch at 1 M"); with
 * it, that work is done while the master is idle, and a burst of free slots is filled from memory.
 *
 * It changes only where a queued record waits, never a job's state: a job loaded here and then
 * canceled, dispatched or answered is handled as any resident queued job.
 */
export class ReadAhead {
  private timer: NodeJS.Timeout | undefined
  private pendingChunk: NodeJS.Immediate | undefined
  private stopped = false
  /** Ids this read-ahead loaded that may still wait in memory. */
  private readonly loaded = new Set<string>()
  private loopUse: EventLoopUtilization | undefined

  constructor(
    private readonly ctx: MasterContext,
    private readonly lifecycle: Lifecycle,
  ) {}

  /** After a dispatch: `loaded` says whether it had to read parked records from the store. */
  dispatched(loaded: boolean): void {
    const { ctx } = this
    if (this.stopped || ctx.options.readAhead === 0 || ctx.queue.size === 0) return
    if (!loaded && ctx.queue.size <= ctx.options.parkAbove) return
    if (this.timer) {
      this.timer.refresh()
      return
    }
    this.loopUse = performance.eventLoopUtilization()
    this.timer = setTimeout(() => this.whenIdle(), READ_AHEAD_IDLE_MS)
    this.timer.unref()
  }

  private whenIdle(): void {
    const since = performance.eventLoopUtilization(this.loopUse)
    this.loopUse = performance.eventLoopUtilization()
    if (since.utilization > BUSY_SHARE) {
      this.timer!.refresh()
      return
    }
    this.timer = undefined
    this.fill()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.pendingChunk) clearImmediate(this.pendingChunk)
    this.timer = undefined
    this.pendingChunk = undefined
  }

  /**
   * Loads the parked records among the classes' heads, a chunk per turn, after parking again
   * the ones an earlier fill loaded that have since fallen out of the window (jobs of a higher
   * priority arrived ahead of them): otherwise each fill would add to memory for good.
   */
  fill(): void {
    if (this.pendingChunk) clearImmediate(this.pendingChunk)
    this.pendingChunk = undefined
    const { ctx } = this
    // The budget is shared, so many requirement classes cannot multiply the memory it holds;
    // with more classes than it, nothing is read ahead.
    const perClass = Math.floor(ctx.options.readAhead / Math.max(1, ctx.queue.classCount))
    const window = perClass > 0 ? ctx.queue.headIds(perClass, () => true) : []
    this.parkFallenBehind(new Set(window))
    const ids = window.filter((id) => !ctx.active.has(id))
    const next = (from: number): void => {
      this.pendingChunk = undefined
      if (this.stopped || from >= ids.length) return
      try {
        // Some may have been dispatched since the walk (now live) or answered or canceled (final,
        // which unparkMany leaves in the store).
        const parked = ids.slice(from, from + CHUNK).filter((id) => !ctx.active.has(id))
        const loaded = this.lifecycle.unparkMany(parked)
        for (const id of parked) if (loaded.has(id)) this.loaded.add(id)
        ctx.counters.inc('read_ahead', parked.length)
      } catch (error) {
        // The jobs stay parked and are loaded when dispatched, as without read-ahead.
        ctx.logger.warn({ err: error }, 'read-ahead failed; parked jobs load when dispatched')
        return
      }
      this.pendingChunk = setImmediate(() => next(from + CHUNK))
    }
    next(0)
  }

  private parkFallenBehind(window: ReadonlySet<string>): void {
    const { ctx } = this
    for (const id of this.loaded) {
      if (window.has(id)) continue
      this.loaded.delete(id)
      const job = ctx.active.get(id)
      // Dispatched, answered, canceled or waiting out a retry since: not a parked job any more.
      if (!job || job.state !== 'queued' || !ctx.queue.has(id)) continue
      // The store must hold what memory held (borrowed: it is written at the next commit).
      ctx.store.save(job)
      ctx.active.delete(id)
      ctx.counters.inc('read_ahead_parked')
    }
  }
}
