import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import type { JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import type { JobQuery, JobStore } from './job-store.js'
import { checkId, storeClosedError, toRow, type BatchWriter, type JobRow, type JobTable } from './job-table.js'
import { WriteOverlay } from './write-overlay.js'

export interface WriteBehindOptions {
  logger?: Logger | undefined
  /**
   * false (default): `save()` snapshots the record at once. true: the store keeps the caller's
   * object and serializes it when the batch commits, so a job saved five times in one tick is
   * serialized once. The caller must then save after every change it wants kept, and must not
   * mutate a saved object in ways it does not mean to persist (the master owns its records).
   */
  borrow?: boolean | undefined
  /**
   * A batch of at least this many rows is committed by the table's batch writer (SQLite: a
   * thread with its own connection), and so is every batch while one is in flight, to keep them
   * in order. Smaller batches commit inline, where a thread hop would only add latency. Default
   * 64; `Infinity` never offloads. A table without a batch writer always commits inline.
   */
  offloadRows?: number | undefined
  /**
   * Called before a batch commits inline, which blocks the event loop for the commit's length
   * (~40 µs for one row): the master flushes its transport there, so that what it published
   * (an assignment) leaves first. Batches are then committed a turn later, so that what an
   * in-process broker delivers a turn after it is published is among what the hook sends.
   */
  beforeCommit?: (() => void) | undefined
}

interface Deferred {
  promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * The write-behind layer (docs/storage.md): a JobStore over any JobTable, whose writes are
 * batched per turn of the event loop. `save()` puts the record in the overlay (the last write
 * per id wins) and schedules one commit of everything pending; `flush()` resolves once every
 * save made before it is committed. Reads merge the overlay over the table, so they always see
 * the latest `save()`. Large batches go to the table's batch writer, if it has one.
 */
export class WriteBehindStore<T extends JobTable = JobTable> implements JobStore {
  readonly kind: string
  readonly namespace: string | undefined
  protected readonly table: T
  private readonly overlay: WriteOverlay
  private readonly logger: Logger | undefined
  /** Where the table lives, in every log line about it. */
  private readonly where: { path?: string }
  private readonly borrow: boolean
  private readonly offloadRows: number
  private readonly beforeCommit: (() => void) | undefined
  /** One per batch handed to the batch writer and not yet settled. */
  private readonly inflightBatches = new Set<Promise<void>>()
  private writer: BatchWriter | undefined
  /** The table could not give a writer: every batch commits inline. */
  private noWriter = false
  /** Settles when the batch now pending is committed; created by the first `flush()`. */
  private batchFlush: Deferred | undefined
  private scheduled: NodeJS.Immediate | undefined
  /**
   * The table's counts, recounted on demand and cached until the next commit, rather than
   * kept per write: looking up each row's old state in the commit cost more than the upsert.
   */
  private committedCounts: Record<JobState, number> | undefined
  private closed = false
  private closing: Promise<void> | undefined
  private readonly counters = { commits: 0, rowsWritten: 0, lastBatchSize: 0, failedCommits: 0 }

  constructor(table: T, options: WriteBehindOptions = {}) {
    this.table = table
    this.kind = table.kind
    this.namespace = table.namespace
    this.overlay = new WriteOverlay(table)
    this.logger = options.logger
    this.where = table.location !== undefined ? { path: table.location } : {}
    this.borrow = options.borrow ?? false
    this.offloadRows = options.offloadRows ?? 64
    this.beforeCommit = options.beforeCommit
  }

  /** Commit counters, for the stats RPC and for tests of batching. */
  get stats(): { commits: number; rowsWritten: number; lastBatchSize: number; failedCommits: number; pending: number } {
    return { ...this.counters, pending: this.overlay.unconfirmedCount }
  }

  save(job: JobRecord): void {
    this.assertOpen()
    if (this.borrow) {
      checkId(job)
      this.overlay.lend(job)
    } else {
      this.overlay.put(toRow(job))
    }
    this.schedule()
  }

  get(id: string): JobRecord | undefined {
    this.assertOpen()
    return this.overlay.get(id)
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    this.assertOpen()
    return this.overlay.getMany(ids)
  }

  list(query: JobQuery): JobRecord[] {
    this.assertOpen()
    return this.overlay.list(query)
  }

  loadUnfinished(): JobRecord[] {
    this.assertOpen()
    return this.overlay.loadUnfinished()
  }

  *scanUnfinished(): Iterable<JobRecord> {
    this.assertOpen()
    yield* this.overlay.scanUnfinished()
  }

  maxSeq(): number {
    this.assertOpen()
    return this.overlay.maxSeq()
  }

  counts(): Record<JobState, number> {
    this.assertOpen()
    this.overlay.materialize()
    // While the batch writer may commit at any moment, the table and the overlay are read in
    // one snapshot and nothing is cached.
    if (this.overlay.hasInflight) return this.table.snapshot(() => this.overlay.applyTo(this.table.counts()))
    this.committedCounts ??= this.table.counts()
    return this.overlay.applyTo({ ...this.committedCounts })
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(storeClosedError())
    if (this.overlay.waiting === 0) return this.inflightSettled()
    this.batchFlush ??= deferred()
    this.schedule()
    return this.batchFlush.promise
  }

  /** Commits what is pending, then closes the table. Safe to call more than once. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.closed = true
    if (this.scheduled) clearImmediate(this.scheduled)
    this.scheduled = undefined
    this.closing = this.finishClose()
    // A second close() returns the same outcome; don't let an unobserved copy crash the process.
    this.closing.catch(() => {})
    return this.closing
  }

  private async finishClose(): Promise<void> {
    // In-flight batches first (a failed one comes back to pending), then the rest inline.
    await this.inflightSettled().catch(() => {})
    await this.writer?.close()
    let failure: unknown = this.commit()
    if (failure !== undefined) {
      this.logger?.error({ ...this.where, jobs: this.overlay.dropPending() }, 'job store: unsaved jobs lost on close')
    }
    try {
      await this.table.close()
    } catch (error) {
      failure ??= error
      this.logger?.error({ err: error, ...this.where }, 'job store: close failed')
    }
    this.logger?.debug(this.where, 'job store closed')
    if (failure !== undefined) throw failure
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return
    const commit = () => {
      this.scheduled = undefined
      this.commit()
    }
    // With beforeCommit, an inline commit waits one turn more: an in-process broker delivers
    // what this turn published (an assignment) a setImmediate later, and only then can the hook
    // send it ahead of the commit. A batch for the writer does not block the loop: no wait.
    // Asking for the writer here, not at the commit: a writer that cannot start or has died
    // means an inline commit, which must not skip the wait.
    const secondHop = () => {
      if (this.goesToWriter() && this.batchWriter()) commit()
      else this.scheduled = setImmediate(commit)
    }
    this.scheduled = setImmediate(this.beforeCommit ? secondHop : commit)
  }

  /**
   * Writes everything pending in one transaction. On failure the batch stays pending (reads keep
   * seeing it and the next save or flush retries it), the error is logged, and the flush
   * promises waiting on this batch reject.
   */
  private commit(): Error | undefined {
    // Thrown from a setImmediate, a refused record would crash the process: logged instead.
    const batch = this.overlay.takeBatch((error) => this.logger?.error({ err: error, ...this.where }, 'job store: a borrowed record was refused; it is not saved'))
    const waiting = this.batchFlush
    this.batchFlush = undefined
    if (batch.size === 0) {
      if (waiting) this.inflightSettled().then(waiting.resolve, waiting.reject)
      return undefined
    }
    if (!this.closed && this.goesToWriter(batch.size)) {
      const writer = this.batchWriter()
      if (writer) {
        this.commitWith(writer, [...batch.values()], waiting)
        return undefined
      }
    }
    if (!this.closed) this.callBeforeCommit()
    try {
      this.table.commit(batch.values())
    } catch (cause) {
      this.overlay.restore(batch)
      const error = this.commitFailed(batch.size, cause)
      waiting?.reject(error)
      return error
    }
    this.committed(batch.size)
    waiting?.resolve()
    return undefined
  }

  /** Whether a batch of `rows` (by default, what is waiting now) goes to the batch writer. */
  private goesToWriter(rows = this.overlay.waiting): boolean {
    return this.table.openWriter !== undefined && (this.inflightBatches.size > 0 || rows >= this.offloadRows)
  }

  /** Not at close: then nothing should leave on anyone's behalf. Its failure is not the commit's. */
  private callBeforeCommit(): void {
    try {
      this.beforeCommit?.()
    } catch (error) {
      this.logger?.warn({ err: error }, 'job store: beforeCommit failed; committing anyway')
    }
  }

  private committed(rows: number): void {
    this.committedCounts = undefined
    this.counters.commits++
    this.counters.rowsWritten += rows
    this.counters.lastBatchSize = rows
  }

  private commitFailed(rows: number, cause: unknown): EdgerunError {
    this.counters.failedCommits++
    this.logger?.error({ err: cause, ...this.where, jobs: rows }, 'job store: commit failed')
    const reason = cause instanceof Error ? cause.message : String(cause)
    // A deposed master's write keeps its own code: the master steps down on it (docs/protocol.md §7a).
    if (cause instanceof EdgerunError && cause.code === 'STALE_TERM') return new EdgerunError('STALE_TERM', `job store: commit of ${rows} job(s) refused: ${reason}`, { cause })
    return new EdgerunError('STORE_WRITE_FAILED', `job store: commit of ${rows} job(s) failed: ${reason}`, { cause })
  }

  private batchWriter(): BatchWriter | undefined {
    if (this.writer?.usable) return this.writer
    if (this.writer || this.noWriter) return undefined // it failed: commit inline from now on
    try {
      this.writer = this.table.openWriter?.()
      return this.writer
    } catch (error) {
      this.noWriter = true
      this.logger?.warn({ err: error }, 'job store: no background writer; committing inline')
      return undefined
    }
  }

  private commitWith(writer: BatchWriter, rows: JobRow[], waiting: Deferred | undefined): void {
    this.overlay.send(rows)
    const earlier = [...this.inflightBatches]
    const done = writer.write(rows).then(
      () => {
        this.committed(rows.length)
        this.overlay.settle(rows)
      },
      (cause: unknown) => {
        // Whether the table holds the batch is unknown (a thread that died after its COMMIT, a
        // network database whose answer was lost): the cached counts may be wrong either way.
        this.committedCounts = undefined
        const error = this.commitFailed(rows.length, cause)
        this.overlay.returnFailed(rows)
        this.overlay.settle(rows)
        throw error
      },
    )
    this.inflightBatches.add(done)
    const forget = () => this.inflightBatches.delete(done)
    done.then(forget, forget)
    if (waiting) Promise.all([...earlier, done]).then(() => waiting.resolve(), waiting.reject)
  }

  /** Settles once every batch now with the writer has; rejects if any of them failed. */
  private inflightSettled(): Promise<void> {
    if (this.inflightBatches.size === 0) return Promise.resolve()
    return Promise.all([...this.inflightBatches]).then(() => undefined)
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosedError()
  }
}
