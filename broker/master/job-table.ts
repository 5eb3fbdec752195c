import { isFinal } from '../../src/protocol/index.js'
import type { Logger } from '../../src/logging/logger.js'
import type { JobRecord } from '../store/job-record.js'
import type { JobQuery, JobStore } from '../store/job-store.js'
import type { Counters } from './counters.js'
import { JobQueue, type QueueClass, type QueueEntry } from './job-queue.js'
import type { MasterOptions } from './options.js'
import { ReadAhead } from './read-ahead.js'

/**
 * The master's jobs that are not final, in front of the store. It alone decides where a queued
 * record waits: in memory, or parked in the store past `parkAbove` with only its queue entry
 * left here, or read back ahead of dispatch. Final jobs live only in the store.
 *
 * A record handed out by `get`/`unpark` is the live one: the lifecycle changes it in place and
 * saves it through `save`.
 */
export class JobTable {
  private readonly live = new Map<string, JobRecord>()
  /** Per job: nodes that refused it as unable to run it. */
  private readonly excluded = new Map<string, Set<string>>()
  private readonly queue = new JobQueue()
  private readonly readAhead: ReadAhead
  private seq: number

  constructor(
    private readonly store: JobStore,
    private readonly options: Pick<MasterOptions, 'parkAbove' | 'readAhead'>,
    private readonly counters: Counters,
    logger: Logger,
  ) {
    this.seq = store.maxSeq()
    this.readAhead = new ReadAhead(this, options, counters, logger)
  }

  /** The seq of the next admitted job: the queue's tie-break by age, continued across restarts. */
  nextSeq(): number {
    return ++this.seq
  }

  /** The record of a non-final job, if it is in memory (not parked). */
  get(id: string): JobRecord | undefined {
    return this.live.get(id)
  }

  /** Whether the record is in memory: a parked job is not. */
  isResident(id: string): boolean {
    return this.live.has(id)
  }

  /** The job as it is now, live or stored, final or not. */
  lookup(id: string): JobRecord | undefined {
    return this.live.get(id) ?? this.store.get(id)
  }

  /** What the store holds, with its pending writes: for a caller that needs a final job's record too. */
  stored(id: string): JobRecord | undefined {
    return this.store.get(id)
  }

  storedMany(ids: readonly string[]): Map<string, JobRecord> {
    return this.store.getMany(ids)
  }

  /** The store's listing, each job as memory holds it when it is live. */
  list(query: JobQuery): JobRecord[] {
    return this.store.list(query).map((job) => this.live.get(job.id) ?? job)
  }

  counts(): ReturnType<JobStore['counts']> {
    return this.store.counts()
  }

  /**
   * Live jobs by priority and state: queued ones from the queue (parked ones included) and those
   * waiting out a refusal's back-off, assigned and running ones from memory. A walk of the queue
   * and of memory, for a figure published once a second at most.
   */
  tally(): Map<number, { priority: number; queued: number; assigned: number; running: number }> {
    const rows = new Map<number, { priority: number; queued: number; assigned: number; running: number }>()
    const row = (priority: number) => {
      let found = rows.get(priority)
      if (!found) rows.set(priority, (found = { priority, queued: 0, assigned: 0, running: 0 }))
      return found
    }
    for (const [priority, n] of this.queue.countByPriority()) row(priority).queued += n
    for (const job of this.live.values()) {
      if (job.state === 'assigned' || job.state === 'running') row(job.priority)[job.state]++
      else if (job.state === 'queued' && !this.queue.has(job.id)) row(job.priority).queued++
    }
    return rows
  }

  /** Records in memory: every assigned and running job, and the queued ones not parked. */
  get resident(): number {
    return this.live.size
  }

  /** The queued job admitted first, found by a walk of the queue: for metrics, when scraped. */
  oldestQueued(): JobRecord | undefined {
    const id = this.queue.oldestId()
    return id === undefined ? undefined : this.lookup(id)
  }

  get queued(): number {
    return this.queue.size
  }

  get classCount(): number {
    return this.queue.classCount
  }

  queuedBy(owner: string | null): number {
    return this.queue.ownerCount(owner)
  }

  isQueued(id: string): boolean {
    return this.queue.has(id)
  }

  save(job: JobRecord): void {
    job.updatedAt = Date.now()
    this.store.save(job)
  }

  /** A new job: in memory and saved; `requeue` puts it in the queue. */
  admit(job: JobRecord): void {
    this.live.set(job.id, job)
    this.save(job)
  }

  /** A job the store held unfinished when the master started. */
  restore(job: JobRecord): void {
    this.live.set(job.id, job)
  }

  /**
   * Puts a job (new, requeued or recovered) in the queue. Past `parkAbove` queued jobs the
   * record leaves memory (saved first) and only its queue entry stays; `unpark` brings it back
   * when it is dispatched, canceled or answered.
   */
  requeue(job: JobRecord, alreadyStored = false): void {
    toQueued(job)
    const next = this.queue.push(job)
    // A job that would run next (a requeued attempt, a higher priority) stays in memory.
    if (!next && this.queue.size > this.options.parkAbove) {
      // The store must hold the queued state itself, not the one saved before it was set.
      if (!alreadyStored) this.save(job)
      this.live.delete(job.id)
    }
  }

  /** Queued again but not yet in the queue: it waits out a back-off, in memory. */
  hold(job: JobRecord): void {
    toQueued(job)
  }

  /** Back in the queue after an assignment that failed, in memory: it never left it. */
  putBack(job: JobRecord): void {
    toQueued(job)
    this.queue.push(job)
  }

  /** The live record of a non-final job, loading it from the store if it was parked. */
  unpark(id: string): JobRecord | undefined {
    return this.unparkMany([id]).get(id)
  }

  /** unpark for a batch of jobs: parked records come back in one store query. */
  unparkMany(ids: readonly string[]): Map<string, JobRecord> {
    const out = new Map<string, JobRecord>()
    const parked: string[] = []
    for (const id of ids) {
      const live = this.live.get(id)
      if (live) out.set(id, live)
      else parked.push(id)
    }
    if (parked.length === 0) return out
    this.counters.inc('unparked', parked.length)
    for (const [id, job] of this.store.getMany(parked)) {
      if (isFinal(job.state)) continue
      this.live.set(id, job)
      out.set(id, job)
    }
    return out
  }

  /**
   * Parks a resident job that still waits in the queue; false if it is not one (dispatched,
   * answered, canceled or waiting out a retry).
   */
  park(id: string): boolean {
    const job = this.live.get(id)
    if (!job || job.state !== 'queued' || !this.queue.has(id)) return false
    // The store must hold what memory held (borrowed: it is written at the next commit).
    this.store.save(job)
    this.live.delete(id)
    return true
  }

  /** A final job leaves the table, its queue entry and its exclusions. */
  retire(job: JobRecord): void {
    this.queue.remove(job)
    this.live.delete(job.id)
    this.excluded.delete(job.id)
  }

  /** Remembers that `nodeId` cannot run the job; returns every node that said so. */
  exclude(jobId: string, nodeId: string): ReadonlySet<string> {
    let excluded = this.excluded.get(jobId)
    if (!excluded) this.excluded.set(jobId, (excluded = new Set()))
    excluded.add(nodeId)
    return excluded
  }

  excludedFrom(jobId: string): ReadonlySet<string> | undefined {
    return this.excluded.get(jobId)
  }

  /** The head of each queue class (see JobQueue.heads). */
  heads(): Generator<{ queueClass: QueueClass; head: QueueEntry }> {
    return this.queue.heads()
  }

  take(queueClass: QueueClass): QueueEntry | undefined {
    return this.queue.take(queueClass)
  }

  headIds(limit: number, want: (id: string) => boolean): string[] {
    return this.queue.headIds(limit, want)
  }

  /** After a dispatch: `loaded` says whether it had to read parked records from the store. */
  dispatched(loaded: boolean): void {
    this.readAhead.dispatched(loaded)
  }

  stop(): void {
    this.readAhead.stop()
  }
}

/** The one place a job goes back to queued: on no node, in no attempt's epoch. */
function toQueued(job: JobRecord): void {
  job.state = 'queued'
  job.node = null
  job.epoch = null
}
