import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { Logger } from '../../src/logging/logger.js'
import { ID_PATTERN, isFinal, JOB_STATES, type JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import { BackgroundWriter, type WriterRow } from './background-writer.js'
import { emptyCounts, type JobQuery, type JobStore } from './job-store.js'
import {
  everyStateNewestFirst,
  MAX_SEQ_SQL,
  migrate,
  MIGRATIONS,
  namespaceId,
  SCHEMA_VERSION,
  type SqliteDatabase,
  UNFINISHED_SQL,
  UNFINISHED_STATES,
} from './sqlite-schema.js'

/** The file the store keeps inside its data dir. */
export const JOBS_DB_FILE = 'jobs.db'

export type { SqliteDatabase }
export { MIGRATIONS, SCHEMA_VERSION }

export interface SqliteJobStoreOptions {
  /** Created (recursively) if missing; the database is `${dataDir}/jobs.db`. */
  dataDir: string
  /**
   * The namespace whose jobs this store holds: it reads and writes only those. Several
   * namespaces may share one file. The first store to open a file written before jobs were
   * kept per namespace adopts its jobs (docs/storage.md, "Namespaces").
   */
  namespace: string
  logger?: Logger
  /**
   * false (default): `save()` snapshots the record at once. true: the store keeps the caller's
   * object and serializes it when the batch commits, so a job saved five times in one tick is
   * serialized once. The caller must then save after every change it wants kept, and must not
   * mutate a saved object in ways it does not mean to persist (the master owns its records).
   */
  borrow?: boolean
  /**
   * `normal` (default): a committed batch survives the process being killed, but the last
   * batches before an OS crash or power loss may be lost (never corrupted). `full`: every batch
   * commit is fsynced, so it survives power loss too, at one fsync per batch. See docs/storage.md.
   */
  synchronous?: 'normal' | 'full'
  /** How long a write waits for a lock held by another connection before failing. Default 5000. */
  busyTimeoutMs?: number
  /**
   * A batch of at least this many rows is committed on a background thread (its own connection),
   * and so is every batch while one is in flight, to keep them in order. Smaller batches commit
   * inline, where a thread hop would only add latency. Default 64; `Infinity` never offloads.
   */
  offloadRows?: number
  /**
   * Called before a batch commits inline, which blocks the event loop for the commit's length
   * (~40 µs for one row): the broker sends the writes it holds first (flushCoalescedWrites).
   * Batches are then committed a turn later, so that what the broker delivers a turn after it
   * is published is among those writes.
   */
  beforeCommit?: () => void
}

/**
 * The upsert both connections run, the namespace's id first. seq, owner, priority and createdAt
 * never change (JobStore.save).
 */
const UPSERT_SQL = `INSERT INTO jobs (ns, id, seq, state, owner, priority, created_at, updated_at, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (ns, id) DO UPDATE SET
    state = excluded.state, updated_at = excluded.updated_at, record = excluded.record`

/** A record ready to be written: the JSON snapshot plus the indexed columns. */
interface PendingRow extends WriterRow {
  state: JobState
}

interface StoredRow {
  id: string
  seq: number
  record: string
}

interface Deferred {
  promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
}

function deferred(): Deferred {
  let resolveFn!: () => void
  let rejectFn!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolveFn = res
    rejectFn = rej
  })
  return { promise, resolve: resolveFn, reject: rejectFn }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * The default job store (docs/storage.md): SQLite through better-sqlite3, in WAL mode.
 *
 * Writes are batched per tick: `save()` snapshots the record into a pending map (the last write
 * per id wins) and schedules one transaction on `setImmediate` that upserts everything pending.
 * `flush()` resolves once every save made before it is committed. Reads overlay the pending map,
 * so they always see the latest `save()`.
 */
export class SqliteJobStore implements JobStore {
  readonly kind = 'sqlite'
  /** Absolute path of the database file. */
  readonly path: string
  readonly namespace: string
  /** The namespace's id in this database: the `ns` column of its rows. */
  private readonly ns: number

  private readonly db: SqliteDatabase
  private readonly logger: Logger | undefined
  private pending = new Map<string, PendingRow>()
  /** Rows handed to the background writer and not yet confirmed committed, by id (the latest). */
  private inflight = new Map<string, PendingRow>()
  /** One per batch handed to the background writer and not yet settled. */
  private readonly inflightBatches = new Set<Promise<void>>()
  private writer: BackgroundWriter | undefined
  private readonly offloadRows: number
  private readonly beforeCommit: (() => void) | undefined
  /** Pragmas both connections set: this one and the writer thread's. */
  private readonly writerOptions: { synchronous: 'NORMAL' | 'FULL'; busyTimeoutMs: number }
  /** With `borrow`: saved records not yet serialized, by id. */
  private borrowed = new Map<string, JobRecord>()
  private readonly borrow: boolean
  /** Settles when the batch now in `pending` is committed; created by the first `flush()`. */
  private batchFlush: Deferred | undefined
  private scheduled: NodeJS.Immediate | undefined
  /** Counts of committed rows per state, kept in step with every commit. */
  private committedCounts: Record<JobState, number>
  private countsStale = true
  private closed = false
  private closing: Promise<void> | undefined
  private readonly counters = { commits: 0, rowsWritten: 0, lastBatchSize: 0, failedCommits: 0 }

  /** Every statement names the store's namespace id (first `?`, or `@ns` where it recurs): a store sees only its own jobs. */
  private readonly stmt: {
    upsert: Database.Statement<[number, string, number, string, string | null, number, number, number, string]>
    getRecord: Database.Statement<[number, string], string>
    getMany: Database.Statement<[number, string], { id: string; record: string }>
    getState: Database.Statement<[number, string], string>
    listAll: Database.Statement<[{ ns: number }], StoredRow>
    listByState: Database.Statement<[number, string], StoredRow>
    listByOwner: Database.Statement<[number, string], StoredRow>
    listByStateOwner: Database.Statement<[number, string, string], StoredRow>
    unfinished: Database.Statement<[number], StoredRow>
    maxSeq: Database.Statement<[{ ns: number }], number | null>
    seqDesc: Database.Statement<[{ ns: number }], { id: string; seq: number }>
    countByState: Database.Statement<[number], { state: string; n: number }>
  }
  private readonly writeBatch: (rows: Iterable<PendingRow>) => void

  /** Opens (creating if needed) `${dataDir}/jobs.db` and brings its schema up to date. */
  static open(options: SqliteJobStoreOptions): SqliteJobStore {
    return new SqliteJobStore(options)
  }

  private constructor(options: SqliteJobStoreOptions) {
    const unfinished = JOB_STATES.filter((s) => !isFinal(s))
    if (unfinished.length !== UNFINISHED_STATES.length || unfinished.some((s, i) => s !== UNFINISHED_STATES[i])) {
      throw new Error(
        `sqlite job store: the protocol's non-final states (${unfinished.join(', ')}) no longer match the schema's ` +
          `(${UNFINISHED_STATES.join(', ')}); add a migration`,
      )
    }
    if (typeof options.namespace !== 'string' || !ID_PATTERN.test(options.namespace)) {
      throw new TypeError(`sqlite job store: a namespace of 1-64 chars of [A-Za-z0-9._-] is needed, got ${JSON.stringify(options.namespace)}`)
    }
    this.namespace = options.namespace
    const dataDir = resolve(options.dataDir)
    this.path = join(dataDir, JOBS_DB_FILE)
    this.logger = options.logger
    this.borrow = options.borrow ?? false
    this.offloadRows = options.offloadRows ?? 64
    this.beforeCommit = options.beforeCommit
    this.writerOptions = {
      synchronous: options.synchronous === 'full' ? 'FULL' : 'NORMAL',
      busyTimeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)),
    }
    let db: SqliteDatabase
    try {
      mkdirSync(dataDir, { recursive: true })
      db = new Database(this.path)
    } catch (error) {
      throw new Error(`cannot open job store at ${this.path}: ${errorMessage(error)}`, { cause: error })
    }
    try {
      db.pragma(`busy_timeout = ${this.writerOptions.busyTimeoutMs}`)
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (String(mode).toLowerCase() !== 'wal') {
        this.logger?.warn({ path: this.path, journalMode: mode }, 'job store: WAL is not available here; using %s', mode)
      }
      db.pragma(`synchronous = ${this.writerOptions.synchronous}`)
      db.pragma('temp_store = MEMORY')
      db.pragma('cache_size = -16384') // 16 MiB
      db.pragma('journal_size_limit = 67108864') // truncate the WAL back to 64 MiB after checkpoints
      migrate(db, this.path, { namespace: this.namespace }, this.logger)
      const ns = (this.ns = namespaceId(db, this.namespace))

      this.stmt = {
        upsert: db.prepare(UPSERT_SQL),
        getRecord: db.prepare<[number, string], string>('SELECT record FROM jobs WHERE ns = ? AND id = ?').pluck(),
        getMany: db.prepare<[number, string], { id: string; record: string }>(
          'SELECT id, record FROM jobs WHERE ns = ? AND id IN (SELECT value FROM json_each(?))',
        ),
        getState: db.prepare<[number, string], string>('SELECT state FROM jobs WHERE ns = ? AND id = ?').pluck(),
        listAll: db.prepare<[{ ns: number }], StoredRow>(everyStateNewestFirst('id, seq, record')),
        listByState: db.prepare<[number, string], StoredRow>(
          'SELECT id, seq, record FROM jobs WHERE ns = ? AND state = ? ORDER BY seq DESC',
        ),
        listByOwner: db.prepare<[number, string], StoredRow>(
          'SELECT id, seq, record FROM jobs WHERE ns = ? AND owner = ? ORDER BY seq DESC',
        ),
        listByStateOwner: db.prepare<[number, string, string], StoredRow>(
          'SELECT id, seq, record FROM jobs WHERE ns = ? AND state = ? AND owner = ? ORDER BY seq DESC',
        ),
        unfinished: db.prepare<[number], StoredRow>(
          `SELECT id, seq, record FROM jobs INDEXED BY jobs_unfinished
           WHERE ns = ? AND state IN (${UNFINISHED_SQL}) ORDER BY seq ASC`,
        ),
        maxSeq: db.prepare<[{ ns: number }], number | null>(MAX_SEQ_SQL).pluck(),
        seqDesc: db.prepare<[{ ns: number }], { id: string; seq: number }>(everyStateNewestFirst('id, seq')),
        countByState: db.prepare<[number], { state: string; n: number }>(
          'SELECT state, COUNT(*) AS n FROM jobs WHERE ns = ? GROUP BY state',
        ),
      }
      this.committedCounts = emptyCounts()
      const { upsert } = this.stmt
      // Counts are recounted on demand (an index-only GROUP BY) rather than kept per write: a
      // lookup of the old state for every upsert cost more than the upsert itself.
      this.writeBatch = db.transaction((rows: Iterable<PendingRow>) => {
        for (const row of rows) {
          upsert.run(ns, row.id, row.seq, row.state, row.owner, row.priority, row.createdAt, row.updatedAt, row.json)
        }
      })
    } catch (error) {
      db.close()
      throw new Error(`cannot open job store at ${this.path}: ${errorMessage(error)}`, { cause: error })
    }
    this.db = db
    this.logger?.debug({ path: this.path, namespace: this.namespace, schemaVersion: SCHEMA_VERSION }, 'job store opened')
  }

  /** Commit counters, for the stats RPC and for tests of batching. */
  get stats(): { commits: number; rowsWritten: number; lastBatchSize: number; failedCommits: number; pending: number } {
    return { ...this.counters, pending: this.pending.size + this.inflight.size }
  }

  save(job: JobRecord): void {
    this.assertOpen()
    if (this.borrow) {
      if (typeof job.id !== 'string' || job.id.length === 0) throw new TypeError('job store: a job needs a non-empty id')
      this.borrowed.set(job.id, job)
      this.schedule()
      return
    }
    this.put(toRow(job))
  }

  /** Serializes everything borrowed: before any read that scans, and at commit. */
  private materialize(): void {
    if (this.borrowed.size === 0) return
    const borrowed = this.borrowed
    this.borrowed = new Map()
    for (const job of borrowed.values()) this.put(toRow(job))
  }

  private put(row: PendingRow): void {
    // Delete first so the map's order stays the order of the latest writes.
    this.pending.delete(row.id)
    this.pending.set(row.id, row)
    this.schedule()
  }

  get(id: string): JobRecord | undefined {
    this.assertOpen()
    const borrowed = this.borrowed.get(id)
    if (borrowed) return JSON.parse(JSON.stringify(borrowed)) as JobRecord
    const pending = this.unconfirmed(id)
    if (pending) return JSON.parse(pending.json) as JobRecord
    const record = this.stmt.getRecord.get(this.ns, id)
    return record === undefined ? undefined : (JSON.parse(record) as JobRecord)
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    this.assertOpen()
    const found = new Map<string, JobRecord>()
    const rest: string[] = []
    for (const id of ids) {
      const overlay = this.borrowed.has(id) || this.isUnconfirmed(id) ? this.get(id) : undefined
      if (overlay) found.set(id, overlay)
      else rest.push(id)
    }
    if (rest.length > 0) {
      for (const row of this.stmt.getMany.iterate(this.ns, JSON.stringify(rest)) as Iterable<{ id: string; record: string }>) {
        found.set(row.id, JSON.parse(row.record) as JobRecord)
      }
    }
    return found
  }

  list(query: JobQuery): JobRecord[] {
    this.assertOpen()
    this.materialize()
    const limit = Math.floor(query.limit)
    if (!(limit > 0)) return []
    const { state, owner } = query
    const rows =
      state !== undefined && owner !== undefined
        ? this.stmt.listByStateOwner.iterate(this.ns, state, owner)
        : state !== undefined
          ? this.stmt.listByState.iterate(this.ns, state)
          : owner !== undefined
            ? this.stmt.listByOwner.iterate(this.ns, owner)
            : this.stmt.listAll.iterate({ ns: this.ns })
    // The newest `limit` of the union are among the newest `limit` of each side.
    const stored = this.takeStored(rows, limit)
    const pending = this.unconfirmedRows().filter(
      (row) => (state === undefined || row.state === state) && (owner === undefined || row.owner === owner),
    )
    if (pending.length === 0) return stored.map(parseStored)
    pending.sort((a, b) => b.seq - a.seq)
    return mergeBySeq(stored, pending.slice(0, limit), (a, b) => b - a)
      .slice(0, limit)
      .map(parseAny)
  }

  loadUnfinished(): JobRecord[] {
    this.assertOpen()
    this.materialize()
    const stored = this.takeStored(this.stmt.unfinished.iterate(this.ns), Infinity)
    const pending = this.unconfirmedRows().filter((row) => !isFinal(row.state))
    if (pending.length === 0) return stored.map(parseStored)
    pending.sort((a, b) => a.seq - b.seq)
    return mergeBySeq(stored, pending, (a, b) => a - b).map(parseAny)
  }

  /** Streams unfinished jobs in seq order when nothing is pending (a master starting up). */
  *scanUnfinished(): Iterable<JobRecord> {
    this.assertOpen()
    this.materialize()
    if (this.pending.size > 0 || this.inflight.size > 0) {
      yield* this.loadUnfinished()
      return
    }
    for (const row of this.stmt.unfinished.iterate(this.ns) as Iterable<StoredRow>) yield parseStored(row)
  }

  maxSeq(): number {
    this.assertOpen()
    this.materialize()
    let max = 0
    if (this.pending.size === 0 && this.inflight.size === 0) {
      max = this.stmt.maxSeq.get({ ns: this.ns }) ?? 0
    } else {
      for (const row of this.unconfirmedRows()) max = Math.max(max, row.seq)
      // The highest committed seq that no unconfirmed write replaces.
      for (const row of this.stmt.seqDesc.iterate({ ns: this.ns })) {
        if (this.isUnconfirmed(row.id)) continue
        max = Math.max(max, row.seq)
        break
      }
    }
    return Math.max(0, max)
  }

  counts(): Record<JobState, number> {
    this.assertOpen()
    this.materialize()
    // While the writer thread may commit at any moment, the table and the overlay are read in
    // one snapshot and nothing is cached.
    if (this.inflight.size > 0) return this.db.transaction(() => this.countNow())()
    return this.countNow()
  }

  private countNow(): Record<JobState, number> {
    if (this.countsStale || this.inflight.size > 0) {
      this.committedCounts = emptyCounts()
      for (const { state, n } of this.stmt.countByState.all(this.ns)) {
        if (state in this.committedCounts) this.committedCounts[state as JobState] = n
        else this.logger?.warn({ state, n }, 'job store: rows with an unknown state are ignored by counts()')
      }
      this.countsStale = false
    }
    const counts = { ...this.committedCounts }
    for (const row of this.unconfirmedRows()) {
      const previous = this.stmt.getState.get(this.ns, row.id)
      if (previous !== undefined && previous in counts) counts[previous as JobState]--
      counts[row.state]++
    }
    return counts
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(closedError())
    if (this.pending.size === 0 && this.borrowed.size === 0) return this.inflightSettled()
    this.batchFlush ??= deferred()
    this.schedule()
    return this.batchFlush.promise
  }

  /** Commits what is pending, then closes the database. Safe to call more than once. */
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
      this.logger?.error({ path: this.path, jobs: this.pending.size }, 'job store: unsaved jobs lost on close')
      this.pending.clear()
    }
    try {
      this.db.pragma('optimize')
    } catch {
      // Only a planner hint; never worth failing a close for.
    }
    try {
      this.db.close()
    } catch (error) {
      failure ??= error
      this.logger?.error({ err: error, path: this.path }, 'job store: close failed')
    }
    this.logger?.debug({ path: this.path }, 'job store closed')
    if (failure !== undefined) throw failure
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return
    const commit = () => {
      this.scheduled = undefined
      this.commit()
    }
    // With beforeCommit, an inline commit waits one turn more: Aedes delivers what this turn
    // published (an assignment) a setImmediate later, and only then can beforeCommit send it
    // ahead of the commit. A batch for the writer thread does not block the loop: no wait.
    const secondHop = () => {
      if (this.goesToWriter()) commit()
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
    this.materialize()
    const waiting = this.batchFlush
    this.batchFlush = undefined
    if (this.pending.size === 0) {
      if (waiting) this.inflightSettled().then(waiting.resolve, waiting.reject)
      return undefined
    }
    const batch = this.pending
    this.pending = new Map()
    if (!this.closed && this.goesToWriter(batch.size)) {
      const writer = this.backgroundWriter()
      if (writer) {
        this.commitInBackground(writer, batch, waiting)
        return undefined
      }
    }
    if (!this.closed) this.callBeforeCommit()
    try {
      this.writeBatch(batch.values())
    } catch (cause) {
      // Nothing can have been saved while the (synchronous) transaction ran.
      this.pending = batch
      const error = this.commitFailed(batch.size, cause)
      waiting?.reject(error)
      return error
    }
    this.committed(batch.size)
    waiting?.resolve()
    return undefined
  }

  /** Whether a batch of `rows` (by default, what is waiting now) commits on the writer thread. */
  private goesToWriter(rows = this.pending.size + this.borrowed.size): boolean {
    return this.inflightBatches.size > 0 || rows >= this.offloadRows
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
    this.countsStale = true
    this.counters.commits++
    this.counters.rowsWritten += rows
    this.counters.lastBatchSize = rows
  }

  private commitFailed(rows: number, cause: unknown): Error {
    this.counters.failedCommits++
    this.logger?.error({ err: cause, path: this.path, jobs: rows }, 'job store: commit failed')
    return new Error(`job store: commit of ${rows} job(s) failed: ${errorMessage(cause)}`, { cause })
  }

  private backgroundWriter(): BackgroundWriter | undefined {
    if (this.writer?.usable) return this.writer
    if (this.writer) return undefined // it failed: commit inline from now on
    try {
      this.writer = new BackgroundWriter({ path: this.path, upsertSql: UPSERT_SQL, namespaceId: this.ns, ...this.writerOptions })
      return this.writer
    } catch (error) {
      this.logger?.warn({ err: error }, 'job store: no background writer; committing inline')
      return undefined
    }
  }

  private commitInBackground(writer: BackgroundWriter, batch: Map<string, PendingRow>, waiting: Deferred | undefined): void {
    const rows = [...batch.values()]
    for (const row of rows) this.inflight.set(row.id, row)
    const earlier = [...this.inflightBatches]
    const done = writer.write(rows).then(
      () => {
        this.committed(batch.size)
        this.settle(batch)
      },
      (cause: unknown) => {
        const error = this.commitFailed(batch.size, cause)
        // Back to pending, unless a later save of the same job supersedes the row.
        for (const row of rows) {
          if (this.inflight.get(row.id) === row && !this.pending.has(row.id)) this.pending.set(row.id, row)
        }
        this.settle(batch)
        throw error
      },
    )
    this.inflightBatches.add(done)
    const forget = () => this.inflightBatches.delete(done)
    done.then(forget, forget)
    if (waiting) Promise.all([...earlier, done]).then(() => waiting.resolve(), waiting.reject)
  }

  private settle(batch: Map<string, PendingRow>): void {
    for (const row of batch.values()) if (this.inflight.get(row.id) === row) this.inflight.delete(row.id)
  }

  /** Settles once every batch now with the writer has; rejects if any of them failed. */
  private inflightSettled(): Promise<void> {
    if (this.inflightBatches.size === 0) return Promise.resolve()
    return Promise.all([...this.inflightBatches]).then(() => undefined)
  }

  private unconfirmed(id: string): PendingRow | undefined {
    return this.pending.get(id) ?? this.inflight.get(id)
  }

  private isUnconfirmed(id: string): boolean {
    return this.pending.has(id) || this.inflight.has(id)
  }

  /** Pending and in-flight rows, the newest write of each id. */
  private unconfirmedRows(): PendingRow[] {
    const rows = [...this.pending.values()]
    for (const row of this.inflight.values()) if (!this.pending.has(row.id)) rows.push(row)
    return rows
  }

  /** Rows from a query, skipping those a pending write replaces; stops after `limit`. */
  private takeStored(rows: IterableIterator<StoredRow>, limit: number): StoredRow[] {
    const out: StoredRow[] = []
    if (limit <= 0) return out
    for (const row of rows) {
      if (this.isUnconfirmed(row.id)) continue
      out.push(row)
      if (out.length >= limit) break // ends the iterator, which resets the statement
    }
    return out
  }

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }
}

function closedError(): Error {
  return new Error('job store is closed')
}

/**
 * Validated here, synchronously, so that one bad record throws at its `save()` instead of
 * failing every later batch commit it would be part of.
 */
function toRow(job: JobRecord): PendingRow {
  if (typeof job.id !== 'string' || job.id.length === 0) throw new TypeError('job store: a job needs a non-empty id')
  if (!Number.isSafeInteger(job.seq)) throw new TypeError(`job store: job ${job.id} has a non-integer seq`)
  if (!Number.isSafeInteger(job.priority)) throw new TypeError(`job store: job ${job.id} has a non-integer priority`)
  if (!Number.isFinite(job.createdAt) || !Number.isFinite(job.updatedAt)) {
    throw new TypeError(`job store: job ${job.id} needs numeric createdAt and updatedAt`)
  }
  if (!(JOB_STATES as readonly string[]).includes(job.state)) {
    throw new TypeError(`job store: job ${job.id} has an unknown state ${String(job.state)}`)
  }
  return {
    id: job.id,
    seq: job.seq,
    state: job.state,
    owner: job.owner ?? null,
    priority: job.priority,
    createdAt: Math.trunc(job.createdAt),
    updatedAt: Math.trunc(job.updatedAt),
    // Snapshot now: later mutations of `job` by the caller must not leak into the store.
    json: JSON.stringify(job),
  }
}

function parseStored(row: StoredRow): JobRecord {
  return JSON.parse(row.record) as JobRecord
}

function parseAny(row: StoredRow | PendingRow): JobRecord {
  return JSON.parse('json' in row ? row.json : row.record) as JobRecord
}

/** Merges two lists that are each sorted by `seq` under `order`; on ties `a` comes first. */
function mergeBySeq<A extends { seq: number }, B extends { seq: number }>(
  a: A[],
  b: B[],
  order: (x: number, y: number) => number,
): Array<A | B> {
  const out: Array<A | B> = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (order(a[i]!.seq, b[j]!.seq) <= 0) out.push(a[i++]!)
    else out.push(b[j++]!)
  }
  while (i < a.length) out.push(a[i++]!)
  while (j < b.length) out.push(b[j++]!)
  return out
}
