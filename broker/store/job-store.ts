import type { JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'

export interface JobQuery {
  state?: JobState
  owner?: string
  limit: number
}

/**
 * Where the master keeps jobs (docs/storage.md). Writes are buffered and made durable together:
 * `flush()` resolves once everything written before it is on disk, which is the point at which
 * the master may tell anyone about it. Reads always see the latest writes.
 *
 * A store holds the jobs of one namespace: jobs are keyed by (namespace, id), and every method
 * reads and writes that namespace's jobs only, whatever else shares the file or memory behind it.
 *
 * A store is a plain table (JobTable, job-table.ts) made into this interface either directly
 * (table-store.ts) or by the write-behind layer (write-behind.ts), which does the buffering.
 */
export interface JobStore {
  readonly kind: string
  /**
   * The namespace whose jobs this store holds. Undefined only for a private in-memory store,
   * which holds whatever its one master gives it.
   */
  readonly namespace: string | undefined
  /**
   * Inserts or replaces the whole record. A job's `seq` is unique in its namespace, and its
   * `seq`, `owner`, `priority` and `createdAt` never change once saved (the master sets them at
   * admission); a store may index them on the first write only.
   */
  save(job: JobRecord): void
  get(id: string): JobRecord | undefined
  /** Several at once (one query where the store can); missing ids are absent from the map. */
  getMany(ids: readonly string[]): Map<string, JobRecord>
  /** Newest first. */
  list(query: JobQuery): JobRecord[]
  /** Every job that is not final, oldest first: what a restarted master must pick up again. */
  loadUnfinished(): JobRecord[]
  /** The same, one at a time, so a million queued jobs never sit in memory all at once. */
  scanUnfinished?(): Iterable<JobRecord>
  /** The highest `seq` stored in this namespace, so a restarted master keeps admission order. */
  maxSeq(): number
  counts(): Record<JobState, number>
  flush(): Promise<void>
  close(): Promise<void>
}

export function emptyCounts(): Record<JobState, number> {
  return { queued: 0, assigned: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, canceled: 0 }
}
