import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { Logger } from '../../src/logging/logger.js'
import type { JobRecord } from '../store/job-record.js'
import type { Counters } from './counters.js'
import type { MasterOptions } from './options.js'

/**
 * Read-ahead waits for the master to be idle: no dispatch for this long, and the event loop
 * busy less than BUSY_SHARE of it. A master still dispatching (a steady stream of results
 * freeing slots) or still sending out a burst of assignments is never slowed by it.
 */
export const READ_AHEAD_IDLE_MS = 5
const BUSY_SHARE = 0.5
/** Rows per store query while reading ahead: each is a pause of about 2 ms for everything else. */
const CHUNK = 500

/** Its owner, the job table, as read-ahead sees it: job-table.ts imports this file, not the reverse. */
export interface ParkedQueue {
  readonly queued: number
  readonly classCount: number
  headIds(limit: number, want: (id: string) => boolean): string[]
  isResident(id: string): boolean
  unparkMany(ids: readonly string[]): Map<string, JobRecord>
  park(id: string): boolean
}

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
    private readonly table: ParkedQueue,
    private readonly options: Pick<MasterOptions, 'parkAbove' | 'readAhead'>,
    private readonly counters: Counters,
    private readonly logger: Logger,
  ) {}

  /** After a dispatch: `loaded` says whether it had to read parked records from the store. */
  dispatched(loaded: boolean): void {
    const { table, options } = this
    if (this.stopped || options.readAhead === 0 || table.queued === 0) return
    if (!loaded && table.queued <= options.parkAbove) return
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
    const { table } = this
    // The budget is shared, so many requirement classes cannot multiply the memory it holds;
    // with more classes than it, nothing is read ahead.
    const perClass = Math.floor(this.options.readAhead / Math.max(1, table.classCount))
    const window = perClass > 0 ? table.headIds(perClass, () => true) : []
    this.parkFallenBehind(new Set(window))
    const ids = window.filter((id) => !table.isResident(id))
    const next = (from: number): void => {
      this.pendingChunk = undefined
      if (this.stopped || from >= ids.length) return
      try {
        // Some may have been dispatched since the walk (now live) or answered or canceled (final,
        // which unparkMany leaves in the store).
        const parked = ids.slice(from, from + CHUNK).filter((id) => !table.isResident(id))
        const loaded = table.unparkMany(parked)
        for (const id of parked) if (loaded.has(id)) this.loaded.add(id)
        this.counters.inc('read_ahead', parked.length)
      } catch (error) {
        // The jobs stay parked and are loaded when dispatched, as without read-ahead.
        this.logger.warn({ err: error }, 'read-ahead failed; parked jobs load when dispatched')
        return
      }
      this.pendingChunk = setImmediate(() => next(from + CHUNK))
    }
    next(0)
  }

  private parkFallenBehind(window: ReadonlySet<string>): void {
    for (const id of this.loaded) {
      if (window.has(id)) continue
      this.loaded.delete(id)
      // Dispatched, answered, canceled or waiting out a retry since: not a parked job any more.
      if (this.table.park(id)) this.counters.inc('read_ahead_parked')
    }
  }
}
