import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { ID_PATTERN, isFinal, JOB_STATES, type JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import type { JobQuery, JobStore } from './job-store.js'
import { maskUrl } from './mask-url.js'
import { PostgresSyncTable } from './postgres-sync-table.js'
import { errorMessage, type PgJobRow, type PgStoredRow } from './postgres-table.js'

export { maskUrl }

export interface PostgresJobStoreOptions {
  /** `postgres://user:pass@host:port/db` (or `postgresql://`). */
  url: string
  /** The namespace whose jobs this store holds: it reads and writes only those. */
  namespace: string
  logger?: Logger
  /** As SqliteJobStoreOptions.borrow: keep the caller's object and serialize it at commit. */
  borrow?: boolean
  /** How long a synchronous read may block before it throws. Default 5000. */
  readTimeoutMs?: number
  /** How long connecting may take. Default 5000. */
  connectTimeoutMs?: number
  /** The first wait before a failed commit is retried; it doubles up to 5 s. Default 100. */
  retryMs?: number
}

/** A record ready to be written: the JSON snapshot plus the indexed columns. */
type PendingRow = PgJobRow

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
  // A flush nobody awaits must not crash the process when its commit fails.
  promise.catch(() => {})
  return { promise, resolve, reject }
}

const MAX_RETRY_MS = 5000

/**
 * The Postgres job store (docs/storage.md, "Postgres"): PostgresJobTable for the rows, with the
 * write-behind overlay every store has in front of it.
 *
 * - Writes: `save()` puts the record in a pending map (the last write per id wins); one commit per
 *   event-loop turn sends everything pending as one statement. While it is in flight, later
 *   saves wait in `pending` and go in the next: one round trip at a time, in order.
 * - A failed commit puts its rows back in pending (unless a later save replaced them), rejects
 *   the flushes that waited on it, and is retried with a backoff: the store heals by itself when
 *   Postgres comes back, and reads keep seeing the rows meanwhile.
 * - Reads overlay what is pending or in flight on the table, read synchronously through
 *   PostgresSyncReader.
 */
export class PostgresJobStore implements JobStore {
  readonly kind = 'postgres'
  readonly namespace: string
  private readonly logger: Logger | undefined
  private readonly borrow: boolean
  private borrowed = new Map<string, JobRecord>()
  private pending = new Map<string, PendingRow>()
  /** The batch being committed now, by id. */
  private inflight = new Map<string, PendingRow>()
  private writing: Promise<void> | undefined
  /** Settles with the commit of what is pending now; made by the first flush() that waits on it. */
  private nextFlush: Deferred | undefined
  private scheduled: NodeJS.Immediate | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private retryDelay: number
  private readonly firstRetryMs: number
  private closed = false
  private closing: Promise<void> | undefined
  private readonly counters = { commits: 0, rowsWritten: 0, lastBatchSize: 0, failedCommits: 0 }

  /** Connects, migrates the schema and starts the reader; rejects with one line naming the URL (password masked). */
  static async open(options: PostgresJobStoreOptions): Promise<PostgresJobStore> {
    if (typeof options.namespace !== 'string' || !ID_PATTERN.test(options.namespace)) {
      throw new EdgerunError('INTERNAL', `postgres job store: a namespace of 1-64 chars of [A-Za-z0-9._-] is needed, got ${JSON.stringify(options.namespace)}`)
    }
    const table = await PostgresSyncTable.open({
      url: options.url,
      namespace: options.namespace,
      logger: options.logger,
      readTimeoutMs: options.readTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
    })
    return new PostgresJobStore(options, table)
  }

  private constructor(
    options: PostgresJobStoreOptions,
    private readonly table: PostgresSyncTable,
  ) {
    this.namespace = options.namespace
    this.logger = options.logger
    this.borrow = options.borrow ?? false
    this.firstRetryMs = this.retryDelay = options.retryMs ?? 100
    this.logger?.debug({ url: table.location, namespace: this.namespace }, 'job store opened')
  }

  /** Commit counters, as SqliteJobStore's. */
  get stats(): { commits: number; rowsWritten: number; lastBatchSize: number; failedCommits: number; pending: number } {
    return { ...this.counters, pending: this.pending.size + this.inflight.size + this.borrowed.size }
  }

  save(job: JobRecord): void {
    this.assertOpen()
    if (this.borrow) {
      if (typeof job.id !== 'string' || job.id.length === 0) throw internal('job store: a job needs a non-empty id')
      this.borrowed.set(job.id, job)
    } else {
      const row = toRow(job)
      this.pending.delete(row.id)
      this.pending.set(row.id, row)
    }
    this.schedule()
  }

  get(id: string): JobRecord | undefined {
    this.assertOpen()
    const borrowed = this.borrowed.get(id)
    if (borrowed) return JSON.parse(JSON.stringify(borrowed)) as JobRecord
    const unconfirmed = this.unconfirmed(id)
    if (unconfirmed) return JSON.parse(unconfirmed.json) as JobRecord
    const json = this.table.get(id)
    return json === undefined ? undefined : (JSON.parse(json) as JobRecord)
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    this.assertOpen()
    const found = new Map<string, JobRecord>()
    const rest: string[] = []
    for (const id of ids) {
      const overlay = this.borrowed.has(id) || this.unconfirmed(id) ? this.get(id) : undefined
      if (overlay) found.set(id, overlay)
      else rest.push(id)
    }
    if (rest.length > 0) {
      for (const row of this.table.getMany(rest)) found.set(row.id, JSON.parse(row.json) as JobRecord)
    }
    return found
  }

  list(query: JobQuery): JobRecord[] {
    this.assertOpen()
    this.materialize()
    const limit = Math.floor(query.limit)
    if (!(limit > 0)) return []
    const { state, owner } = query
    const overlay = this.unconfirmedRows()
    // Rows an unconfirmed write replaces are skipped; the scan is lazy, so it stops at `limit`.
    const stored: PgStoredRow[] = []
    for (const row of this.table.list({ state, owner })) {
      if (this.unconfirmed(row.id)) continue
      stored.push(row)
      if (stored.length >= limit) break
    }
    const pending = overlay.filter((row) => (state === undefined || row.state === state) && (owner === undefined || row.owner === owner))
    pending.sort((a, b) => b.seq - a.seq)
    return mergeBySeq(stored, pending.slice(0, limit), (a, b) => b - a)
      .slice(0, limit)
      .map(parseAny)
  }

  loadUnfinished(): JobRecord[] {
    this.assertOpen()
    this.materialize()
    const stored = [...this.table.unfinished()].filter((row) => !this.unconfirmed(row.id))
    const pending = this.unconfirmedRows().filter((row) => !isFinal(row.state))
    pending.sort((a, b) => a.seq - b.seq)
    return mergeBySeq(stored, pending, (a, b) => a - b).map(parseAny)
  }

  /** Streams unfinished jobs a page at a time when nothing is pending (a master starting up). */
  *scanUnfinished(): Iterable<JobRecord> {
    this.assertOpen()
    this.materialize()
    if (this.pending.size > 0 || this.inflight.size > 0) {
      yield* this.loadUnfinished()
      return
    }
    for (const row of this.table.unfinished()) yield JSON.parse(row.json) as JobRecord
  }

  maxSeq(): number {
    this.assertOpen()
    this.materialize()
    // A job's seq never changes, so a row an unconfirmed write replaces has the same seq.
    let max = this.table.maxSeq()
    for (const row of this.unconfirmedRows()) max = Math.max(max, row.seq)
    return Math.max(0, max)
  }

  counts(): Record<JobState, number> {
    this.assertOpen()
    this.materialize()
    const overlay = this.unconfirmedRows()
    const { counts, states } = this.table.countsWith(overlay.map((row) => row.id))
    for (const row of overlay) {
      const previous = states.get(row.id)
      if (previous !== undefined && previous in counts) counts[previous]--
      counts[row.state]++
    }
    return counts
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(closedError())
    if (this.pending.size === 0 && this.borrowed.size === 0) return this.writing ?? Promise.resolve()
    this.nextFlush ??= deferred()
    this.schedule()
    return this.nextFlush.promise
  }

  /** Commits what is pending (waiting for a commit in flight first), then disconnects. Safe to call more than once. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.closed = true
    if (this.scheduled) clearImmediate(this.scheduled)
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.scheduled = this.retryTimer = undefined
    this.closing = this.finishClose()
    this.closing.catch(() => {})
    return this.closing
  }

  private async finishClose(): Promise<void> {
    let failure: unknown
    await this.writing?.catch(() => {})
    if (this.pending.size > 0 || this.borrowed.size > 0) {
      await this.commit()
      await this.writing?.catch((error: unknown) => (failure = error))
    }
    if (failure !== undefined) {
      this.logger?.error({ jobs: this.pending.size }, 'job store: unsaved jobs lost on close')
      this.pending.clear()
    }
    await this.table.close()
    if (failure !== undefined) throw failure
  }

  private schedule(): void {
    if (this.scheduled || this.retryTimer || this.writing || this.closed) return
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined
      void this.commit()
    })
  }

  /** Sends everything pending as one statement; at most one is in flight. */
  private commit(): void {
    if (this.writing) return
    this.materialize()
    const waiting = this.nextFlush
    this.nextFlush = undefined
    if (this.pending.size === 0) {
      waiting?.resolve()
      return
    }
    const batch = this.pending
    this.pending = new Map()
    this.inflight = batch
    const rows = [...batch.values()]
    this.writing = this.table.table.upsert(rows).then(
      () => {
        this.counters.commits++
        this.counters.rowsWritten += rows.length
        this.counters.lastBatchSize = rows.length
        this.retryDelay = this.firstRetryMs
        this.settled()
        waiting?.resolve()
      },
      (cause: unknown) => {
        this.counters.failedCommits++
        this.logger?.error({ err: cause, jobs: rows.length }, 'job store: commit failed; retrying')
        const error = new EdgerunError('STORE_WRITE_FAILED', `job store: commit of ${rows.length} job(s) failed: ${errorMessage(cause)}`, { cause })
        // Back to pending, unless a later save replaced the row.
        for (const row of rows) if (!this.pending.has(row.id)) this.pending.set(row.id, row)
        this.settled()
        if (!this.closed) this.retryLater()
        waiting?.reject(error)
        throw error
      },
    )
    this.writing.catch(() => {})
  }

  private settled(): void {
    this.inflight = new Map()
    this.writing = undefined
    if (this.pending.size > 0 || this.borrowed.size > 0 || this.nextFlush) this.schedule()
  }

  private retryLater(): void {
    const delay = this.retryDelay
    this.retryDelay = Math.min(MAX_RETRY_MS, this.retryDelay * 2)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.commit()
    }, delay)
    this.retryTimer.unref()
  }

  /** Serializes everything borrowed: before any read that scans, and at commit. */
  private materialize(): void {
    if (this.borrowed.size === 0) return
    const borrowed = this.borrowed
    this.borrowed = new Map()
    for (const job of borrowed.values()) {
      const row = toRow(job)
      this.pending.delete(row.id)
      this.pending.set(row.id, row)
    }
  }

  private unconfirmed(id: string): PendingRow | undefined {
    return this.pending.get(id) ?? this.inflight.get(id)
  }

  /** Pending and in-flight rows, the newest write of each id. */
  private unconfirmedRows(): PendingRow[] {
    const rows = [...this.pending.values()]
    for (const row of this.inflight.values()) if (!this.pending.has(row.id)) rows.push(row)
    return rows
  }

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }
}

/** A caller's bug (a bad record, a closed store): INTERNAL, as every store says it. */
function internal(message: string): EdgerunError {
  return new EdgerunError('INTERNAL', message)
}

function closedError(): Error {
  return internal('job store is closed')
}

/** Checked at save(), so one bad record throws there instead of failing every batch it would join. */
function toRow(job: JobRecord): PendingRow {
  if (typeof job.id !== 'string' || job.id.length === 0) throw internal('job store: a job needs a non-empty id')
  if (!Number.isSafeInteger(job.seq)) throw internal(`job store: job ${job.id} has a non-integer seq`)
  if (!Number.isSafeInteger(job.priority)) throw internal(`job store: job ${job.id} has a non-integer priority`)
  if (!Number.isFinite(job.createdAt) || !Number.isFinite(job.updatedAt)) throw internal(`job store: job ${job.id} needs numeric createdAt and updatedAt`)
  if (!(JOB_STATES as readonly string[]).includes(job.state)) throw internal(`job store: job ${job.id} has an unknown state ${String(job.state)}`)
  return {
    id: job.id,
    seq: job.seq,
    state: job.state,
    owner: job.owner ?? null,
    priority: job.priority,
    createdAt: Math.trunc(job.createdAt),
    updatedAt: Math.trunc(job.updatedAt),
    json: JSON.stringify(job),
  }
}

function parseAny(row: PgStoredRow | PendingRow): JobRecord {
  return JSON.parse(row.json) as JobRecord
}

/** Merges two lists each sorted by `seq` under `order`; on ties `a` comes first. */
function mergeBySeq<A extends { seq: number }, B extends { seq: number }>(a: A[], b: B[], order: (x: number, y: number) => number): Array<A | B> {
  const out: Array<A | B> = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) out.push(order(a[i]!.seq, b[j]!.seq) <= 0 ? a[i++]! : b[j++]!)
  while (i < a.length) out.push(a[i++]!)
  while (j < b.length) out.push(b[j++]!)
  return out
}
