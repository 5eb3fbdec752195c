import { EdgerunError } from '../../src/errors/index.js'
import { JOB_STATES, type JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'

/**
 * A record ready to be written: its JSON snapshot plus the columns a table copies from it to
 * filter and sort on. `json` is the source of truth; the rest never disagrees with it.
 */
export interface JobRow {
  id: string
  seq: number
  state: JobState
  owner: string | null
  priority: number
  createdAt: number
  updatedAt: number
  json: string
}

/** A row as a table reads it back: enough to merge it with rows not yet committed. */
export interface StoredRow {
  id: string
  seq: number
  json: string
}

/** What `list` filters on; the limit is the caller's to apply (the rows come lazily). */
export interface RowFilter {
  state?: JobState | undefined
  owner?: string | undefined
}

/**
 * The plain table behind a job store (docs/storage.md): one namespace's committed rows and
 * nothing else. No buffering, no overlay, no scheduling: `commit` writes a batch at once, and
 * every read sees only what was committed. `JobStore` is made of one of these, directly
 * (`TableJobStore`, every save committed at once) or behind the write-behind layer
 * (`WriteBehindStore`: batching, read-your-writes, borrowed records, a writer thread).
 *
 * Reads that return many rows return them lazily, so that a caller that stops early (a list
 * with a limit, a master streaming a million unfinished jobs) never holds them all.
 */
export interface JobTable {
  readonly kind: string
  /** The namespace whose rows it holds; undefined only for a private in-memory table. */
  readonly namespace: string | undefined
  /** Where the rows live, for the logs (a file's path); never a secret. */
  readonly location?: string
  /** The record's JSON, if committed. */
  get(id: string): string | undefined
  /** Several at once (one query where the table can), in no particular order; missing ids are absent. */
  getMany(ids: readonly string[]): Iterable<StoredRow>
  /** The committed state of one job: what a pending write of it replaces in the counts. */
  stateOf(id: string): JobState | undefined
  /**
   * The same for many jobs in one query, for a table where a query is a round trip (a network
   * database); without it, `stateOf` is asked once per job.
   */
  statesOf?(ids: readonly string[]): Map<string, JobState>
  /** Newest seq first. */
  list(filter: RowFilter): Iterable<StoredRow>
  /** Every row that is not final, oldest seq first. */
  unfinished(): Iterable<StoredRow>
  /** The highest committed seq, 0 when empty. */
  maxSeq(): number
  /** Committed rows per state, every state present. */
  counts(): Record<JobState, number>
  /**
   * Runs `read` on one consistent view of the table, for reads that must agree with each other
   * while another connection may commit (a writer thread).
   */
  snapshot<T>(read: () => T): T
  /** Upserts the rows in one transaction: all of them or, when it throws, none. */
  commit(rows: Iterable<JobRow>): void
  /**
   * A writer that commits batches off the event loop, in the order given, if the table has one
   * (SQLite: a thread with its own connection). Each call makes a new one.
   */
  openWriter?(): BatchWriter
  /** After the last commit; a table that closes a connection over the network may take its time. */
  close(): void | Promise<void>
}

/** Commits batches of rows elsewhere than on the event loop, in the order they were given. */
export interface BatchWriter {
  /** Resolves once the rows are committed; rejects if the batch failed (nothing of it written). */
  write(rows: readonly JobRow[]): Promise<void>
  /** False once it failed or was closed: batches must then be committed some other way. */
  readonly usable: boolean
  /** After every batch given so far has settled. Safe to call more than once. */
  close(): Promise<void>
}

/**
 * Validated here, synchronously, so that one bad record throws at its `save()` instead of
 * failing every later batch commit it would be part of. A caller that saves a record it built
 * wrongly has a bug: INTERNAL.
 */
export function toRow(job: JobRecord): JobRow {
  checkId(job)
  const bad = (what: string) => new EdgerunError('INTERNAL', `job store: job ${job.id} ${what}`, { details: { jobId: job.id } })
  if (!Number.isSafeInteger(job.seq)) throw bad('has a non-integer seq')
  if (!Number.isSafeInteger(job.priority)) throw bad('has a non-integer priority')
  if (!Number.isFinite(job.createdAt) || !Number.isFinite(job.updatedAt)) throw bad('needs numeric createdAt and updatedAt')
  if (!(JOB_STATES as readonly string[]).includes(job.state)) throw bad(`has an unknown state ${String(job.state)}`)
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

/** The one check a borrowed record gets at save: the rest waits for its commit. */
export function checkId(job: JobRecord): void {
  if (typeof job.id !== 'string' || job.id.length === 0) throw new EdgerunError('INTERNAL', 'job store: a job needs a non-empty id')
}

export function parseRecord(json: string): JobRecord {
  return JSON.parse(json) as JobRecord
}

export function storeClosedError(): EdgerunError {
  return new EdgerunError('INTERNAL', 'job store is closed')
}
