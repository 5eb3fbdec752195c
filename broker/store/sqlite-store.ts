import type { Logger } from '../../src/logging/logger.js'
import { SqliteJobTable } from './sqlite-table.js'
import { WriteBehindStore, type WriteBehindOptions } from './write-behind.js'

export { JOBS_DB_FILE } from './sqlite-table.js'
export { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.js'

export interface SqliteJobStoreOptions extends WriteBehindOptions {
  /** Created (recursively) if missing; the database is `${dataDir}/jobs.db`. */
  dataDir: string
  /**
   * The namespace whose jobs this store holds: it reads and writes only those. Several
   * namespaces may share one file. The first store to open a file written before jobs were
   * kept per namespace adopts its jobs (docs/storage.md, "Namespaces").
   */
  namespace: string
  logger?: Logger | undefined
  /**
   * `normal` (default): a committed batch survives the process being killed, but the last
   * batches before an OS crash or power loss may be lost (never corrupted). `full`: every batch
   * commit is fsynced, so it survives power loss too, at one fsync per batch. See docs/storage.md.
   */
  synchronous?: 'normal' | 'full' | undefined
  /** How long a write waits for a lock held by another connection before failing. Default 5000. */
  busyTimeoutMs?: number | undefined
}

/**
 * The default job store (docs/storage.md): the SQLite table (sqlite-table.ts, WAL mode) behind
 * the write-behind layer (write-behind.ts), whose large batches commit on a writer thread.
 */
export class SqliteJobStore extends WriteBehindStore<SqliteJobTable> {
  /** Opens (creating if needed) `${dataDir}/jobs.db` and brings its schema up to date. */
  static open(options: SqliteJobStoreOptions): SqliteJobStore {
    return new SqliteJobStore(options)
  }

  private constructor(options: SqliteJobStoreOptions) {
    const { dataDir, namespace, logger, synchronous, busyTimeoutMs, ...layer } = options
    super(new SqliteJobTable({ dataDir, namespace, logger, synchronous, busyTimeoutMs }), { ...layer, logger })
  }

  /** Absolute path of the database file. */
  get path(): string {
    return this.table.path
  }
}
