import { EdgerunError } from '../../src/errors/index.js'
import type { JobState } from '../../src/protocol/index.js'
import type { Logger } from '../../src/logging/logger.js'
import type { BatchWriter, JobTable } from './job-table.js'
import { maskUrl } from '../../src/logging/mask-url.js'
import { PG_FENCED_UPSERT_SQL, PG_FINISHED_SINCE_SQL, PG_UPSERT_SQL, type PgFence } from './postgres-schema.js'
import { PostgresSyncReader } from './postgres-sync.js'
import { batchJson, checkFence, errorMessage, PostgresJobTable, type PgJobRow, type PgStoredRow } from './postgres-table.js'

export type { PgJobRow }

export interface PostgresSyncTableOptions {
  url: string
  namespace: string
  logger?: Logger | undefined
  readTimeoutMs?: number | undefined
  connectTimeoutMs?: number | undefined
  /** An elected master's lease: every write checks it (PG_FENCED_UPSERT_SQL). */
  fence?: PgFence | undefined
}

/** Rows per query of a lazy scan: a list that stops early reads little, a restart reads in pages. */
const FIRST_PAGE = 100
const MAX_PAGE = 5000

/**
 * The Postgres table with the shape of a plain, committed-rows-only job table (kind, namespace,
 * location, get, getMany, stateOf, list, unfinished, maxSeq, counts, snapshot, commit,
 * openWriter, close), for a store-agnostic write-behind layer to sit on (docs/storage.md,
 * "Postgres"). Reads are synchronous through PostgresSyncReader; `openWriter()` commits batches
 * asynchronously on PostgresJobTable's connection, one statement each, in order, and stays
 * usable across a lost connection (the next batch opens a new one), so the layer should send
 * every batch to it (offloadRows 1). `commit()` is the synchronous path (at close).
 */
export class PostgresSyncTable implements JobTable {
  readonly kind = 'postgres'
  readonly namespace: string
  /** The URL with its password masked: it appears in logs. */
  readonly location: string
  private readonly fence: PgFence | undefined
  private closed = false

  /** Connects, migrates the schema and starts the reader; rejects with one line naming the URL (password masked). */
  static async open(options: PostgresSyncTableOptions): Promise<PostgresSyncTable> {
    const connect = { url: options.url, ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}) }
    const table = await PostgresJobTable.open({ ...connect, namespace: options.namespace, fence: options.fence })
    let reader: PostgresSyncReader
    try {
      reader = await PostgresSyncReader.open({ ...connect, ...(options.readTimeoutMs !== undefined ? { timeoutMs: options.readTimeoutMs } : {}) })
    } catch (error) {
      await table.close()
      throw new EdgerunError('STORE_UNREACHABLE', `cannot read from Postgres at ${maskUrl(options.url)}: ${errorMessage(error)}`, { cause: error })
    }
    try {
      // synchronous_commit is set per connection; fsync is the server's alone, and off it voids the guarantee.
      const [settings] = reader.query("SELECT current_setting('fsync') AS fsync", [])
      if (settings?.fsync !== 'on') options.logger?.warn({ url: maskUrl(options.url) }, 'job store: the Postgres server runs with fsync off: a commit may not survive a crash of its machine')
    } catch (error) {
      await Promise.all([table.close(), reader.close()])
      throw new EdgerunError('STORE_UNREACHABLE', `cannot read from Postgres at ${maskUrl(options.url)}: ${errorMessage(error)}`, { cause: error })
    }
    return new PostgresSyncTable(options, table, reader)
  }

  private constructor(
    options: PostgresSyncTableOptions,
    /** Async: the batch writer's connection. */
    readonly table: PostgresJobTable,
    /** Sync: every read, and commit(). */
    readonly reader: PostgresSyncReader,
  ) {
    this.namespace = options.namespace
    this.location = maskUrl(options.url)
    this.fence = options.fence
  }

  get(id: string): string | undefined {
    return this.reader.read(this.table.reads.getMany([id]))[0]?.json
  }

  getMany(ids: readonly string[]): PgStoredRow[] {
    return ids.length === 0 ? [] : this.reader.read(this.table.reads.getMany(ids))
  }

  stateOf(id: string): JobState | undefined {
    return this.statesOf([id]).get(id)
  }

  /** The committed states of many jobs in one query (a layer's counts() should use this, not stateOf per row). */
  statesOf(ids: readonly string[]): Map<string, JobState> {
    return this.countsWith(ids).states
  }

  /** counts() and statesOf(ids) in one statement, so from one snapshot without a transaction. */
  countsWith(ids: readonly string[]): { counts: Record<JobState, number>; states: Map<string, JobState> } {
    return this.reader.read(this.table.reads.counts(ids))
  }

  /** Newest first, lazily: pages of 100, then 400, … up to 5 000 rows per query. */
  *list(filter: { state?: JobState | undefined; owner?: string | undefined }): Iterable<PgStoredRow> {
    let before: { seq: number; id: string } | undefined
    for (let size = FIRST_PAGE; ; size = Math.min(MAX_PAGE, size * 4)) {
      const page = this.reader.read(this.table.reads.list(filter, size, before))
      yield* page
      if (page.length < size) return
      const last = page.at(-1)!
      before = { seq: last.seq, id: last.id }
    }
  }

  /** Unfinished jobs oldest first, lazily, 5 000 rows per query: a million never sit in memory at once. */
  *unfinished(): Iterable<PgStoredRow> {
    let after: { seq: number; id: string } | undefined
    for (;;) {
      const page = this.reader.read(this.table.reads.unfinished(after, MAX_PAGE))
      yield* page
      if (page.length < MAX_PAGE) return
      const last = page.at(-1)!
      after = { seq: last.seq, id: last.id }
    }
  }

  maxSeq(): number {
    return this.reader.read(this.table.reads.maxSeq())
  }

  /** The records of final jobs that ended at or after `since` (ms), newest first, at most `limit`. */
  finishedSince(since: number, limit: number): string[] {
    return this.reader.query(PG_FINISHED_SINCE_SQL, [this.namespace, Math.floor(since), limit]).map((row) => String(row.record))
  }

  counts(): Record<JobState, number> {
    return this.countsWith([]).counts
  }

  /** `read`'s queries see one snapshot: a REPEATABLE READ transaction on the reader's connection. */
  snapshot<T>(read: () => T): T {
    this.reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', [])
    let ok = false
    try {
      const result = read()
      ok = true
      return result
    } finally {
      try {
        this.reader.query(ok ? 'COMMIT' : 'ROLLBACK', [])
      } catch {
        // the connection is gone, and its transaction with it
      }
    }
  }

  /** One statement, synchronously (blocks for the round trip and the commit's WAL flush). */
  commit(rows: Iterable<PgJobRow>): void {
    const batch = [...rows]
    if (batch.length === 0) return
    if (!this.fence) this.reader.query(PG_UPSERT_SQL, [this.namespace, batchJson(batch)])
    else checkFence(this.reader.query(PG_FENCED_UPSERT_SQL, [this.namespace, batchJson(batch), this.fence.holder, this.fence.term])[0], this.fence)
  }

  openWriter(): BatchWriter {
    let closed = false
    let last: Promise<void> = Promise.resolve()
    const table = this.table
    const self = this
    return {
      write(rows) {
        if (closed || self.closed) return Promise.reject(new EdgerunError('INTERNAL', 'job store writer is closed'))
        // One after another on one connection, so batches commit in the order given; a failed
        // one fails alone (the layer returns its rows to pending) and the next goes on.
        const done = last.then(() => table.upsert(rows))
        last = done.catch(() => {})
        return done
      },
      get usable() {
        return !closed && !self.closed
      },
      async close() {
        closed = true
        await last
      },
    }
  }

  /** Ends both connections and the reader thread. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([this.table.close(), this.reader.close()])
  }
}
