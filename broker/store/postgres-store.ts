import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { ID_PATTERN } from '../../src/protocol/index.js'
import { maskUrl } from '../../src/logging/mask-url.js'
import type { PgFence } from './postgres-schema.js'
import { PostgresSyncTable } from './postgres-sync-table.js'
import { parseRecord } from './job-table.js'
import type { JobRecord } from './job-record.js'
import { WriteBehindStore } from './write-behind.js'

export { maskUrl }

export interface PostgresJobStoreOptions {
  /** `postgres://user:pass@host:port/db` (or `postgresql://`). */
  url: string
  /** The namespace whose jobs this store holds: it reads and writes only those. */
  namespace: string
  logger?: Logger | undefined
  /** As SqliteJobStoreOptions.borrow: keep the caller's object and serialize it at commit. */
  borrow?: boolean | undefined
  /** How long a synchronous read may block before it throws. Default 5000. */
  readTimeoutMs?: number | undefined
  /** How long connecting may take. Default 5000. */
  connectTimeoutMs?: number | undefined
  /** An elected master's lease (broker/lease/): a write from a stale term fails with STALE_TERM. */
  fence?: PgFence | undefined
}

/**
 * The Postgres job store (docs/storage.md, "Postgres"): the write-behind layer over
 * PostgresSyncTable. Every batch goes to the table's writer (offloadRows 1): a commit is a round
 * trip that never blocks the event loop, one statement per batch, in order. A failed commit
 * comes back to pending and is retried by the next save or flush (the master retries its
 * flushes with a backoff), on a new connection once the server is back.
 */
export class PostgresJobStore extends WriteBehindStore<PostgresSyncTable> {
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
      fence: options.fence,
    })
    options.logger?.debug({ url: table.location, namespace: options.namespace }, 'job store opened')
    return new PostgresJobStore(table, { logger: options.logger, borrow: options.borrow, offloadRows: 1 })
  }

  /**
   * Final jobs that ended at or after `since` (ms, the masters' clocks), newest first: what a new
   * master checks for results its predecessor committed and never sent. Committed rows only: a
   * store just opened for a takeover has nothing pending.
   */
  finishedSince(since: number, limit: number): JobRecord[] {
    return this.table.finishedSince(since, limit).map(parseRecord)
  }
}
