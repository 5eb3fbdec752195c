import { isFinal, type JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import type { JobQuery } from './job-store.js'
import { parseRecord, toRow, type JobRow, type JobTable, type StoredRow } from './job-table.js'

/**
 * The writes a table has not confirmed yet, and the reads that see them over the table's rows
 * (read-your-writes, docs/storage.md). Three layers, newest first:
 * - borrowed: records saved by reference and not serialized yet (`borrow`);
 * - pending: rows waiting for the next commit, the last save of each id;
 * - in flight: rows handed to a batch writer whose commit has not been confirmed.
 */
export class WriteOverlay {
  private pending = new Map<string, JobRow>()
  private readonly inflight = new Map<string, JobRow>()
  private borrowed = new Map<string, JobRecord>()

  constructor(private readonly table: JobTable) {}

  /** Rows the next commit takes (borrowed records count as one row each). */
  get waiting(): number {
    return this.pending.size + this.borrowed.size
  }

  /** Rows not yet confirmed committed: pending and in flight. */
  get unconfirmedCount(): number {
    return this.pending.size + this.inflight.size
  }

  get hasInflight(): boolean {
    return this.inflight.size > 0
  }

  lend(job: JobRecord): void {
    this.borrowed.set(job.id, job)
  }

  put(row: JobRow): void {
    // Delete first so the map's order stays the order of the latest writes.
    this.pending.delete(row.id)
    this.pending.set(row.id, row)
  }

  /**
   * Serializes everything borrowed: before any read that scans, and at commit. A record that
   * fails its checks (a caller's bug) is dropped alone, and the first such error thrown once the
   * others are pending: one bad record must not take its batch's other jobs with it.
   */
  materialize(): void {
    if (this.borrowed.size === 0) return
    const borrowed = this.borrowed
    this.borrowed = new Map()
    let refused: unknown
    for (const job of borrowed.values()) {
      try {
        this.put(toRow(job))
      } catch (error) {
        refused ??= error
      }
    }
    if (refused !== undefined) throw refused
  }

  /** Takes everything pending as the next batch; a borrowed record refused goes to `onRefused`. */
  takeBatch(onRefused: (error: unknown) => void): Map<string, JobRow> {
    try {
      this.materialize()
    } catch (error) {
      onRefused(error)
    }
    const batch = this.pending
    this.pending = new Map()
    return batch
  }

  /** An inline commit failed: nothing can have been saved while it ran, so the batch is all that is pending. */
  restore(batch: Map<string, JobRow>): void {
    this.pending = batch
  }

  /** The rows went to a batch writer: reads see them until `settle`. */
  send(rows: readonly JobRow[]): void {
    for (const row of rows) this.inflight.set(row.id, row)
  }

  /** The writer answered for these rows; a later send of the same id stays. */
  settle(rows: readonly JobRow[]): void {
    for (const row of rows) if (this.inflight.get(row.id) === row) this.inflight.delete(row.id)
  }

  /** A batch writer failed them: back to pending, unless a later save of the same job supersedes the row. */
  returnFailed(rows: readonly JobRow[]): void {
    for (const row of rows) {
      if (this.inflight.get(row.id) === row && !this.pending.has(row.id)) this.pending.set(row.id, row)
    }
  }

  /** Dropped at close after a final commit failed: they are lost (and logged by the caller). */
  dropPending(): number {
    const lost = this.pending.size
    this.pending.clear()
    return lost
  }

  get(id: string): JobRecord | undefined {
    const borrowed = this.borrowed.get(id)
    if (borrowed) return JSON.parse(JSON.stringify(borrowed)) as JobRecord
    const unconfirmed = this.unconfirmed(id)
    if (unconfirmed) return parseRecord(unconfirmed.json)
    const json = this.table.get(id)
    return json === undefined ? undefined : parseRecord(json)
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    const found = new Map<string, JobRecord>()
    const rest: string[] = []
    for (const id of ids) {
      const overlay = this.borrowed.has(id) || this.isUnconfirmed(id) ? this.get(id) : undefined
      if (overlay) found.set(id, overlay)
      else rest.push(id)
    }
    if (rest.length > 0) for (const row of this.table.getMany(rest)) found.set(row.id, parseRecord(row.json))
    return found
  }

  list(query: JobQuery): JobRecord[] {
    this.materialize()
    const limit = Math.floor(query.limit)
    if (!(limit > 0)) return []
    const { state, owner } = query
    // The newest `limit` of the union are among the newest `limit` of each side.
    const stored = this.takeStored(this.table.list({ state, owner }), limit)
    const pending = this.unconfirmedRows().filter(
      (row) => (state === undefined || row.state === state) && (owner === undefined || row.owner === owner),
    )
    if (pending.length === 0) return stored.map(parse)
    pending.sort((a, b) => b.seq - a.seq)
    return mergeBySeq(stored, pending.slice(0, limit), (a, b) => b - a)
      .slice(0, limit)
      .map(parse)
  }

  loadUnfinished(): JobRecord[] {
    this.materialize()
    const stored = this.takeStored(this.table.unfinished(), Infinity)
    const pending = this.unconfirmedRows().filter((row) => !isFinal(row.state))
    if (pending.length === 0) return stored.map(parse)
    pending.sort((a, b) => a.seq - b.seq)
    return mergeBySeq(stored, pending, (a, b) => a - b).map(parse)
  }

  /** Streams the table's rows when nothing is unconfirmed (a master starting up). */
  *scanUnfinished(): Iterable<JobRecord> {
    this.materialize()
    if (this.unconfirmedCount > 0) {
      yield* this.loadUnfinished()
      return
    }
    for (const row of this.table.unfinished()) yield parse(row)
  }

  /**
   * A job's seq never changes once saved (JobStore.save), so an unconfirmed write of a
   * committed job carries the seq of the row it replaces: the highest of either side is the
   * highest of the union.
   */
  maxSeq(): number {
    this.materialize()
    let max = this.table.maxSeq()
    for (const row of this.pending.values()) max = Math.max(max, row.seq)
    for (const row of this.inflight.values()) max = Math.max(max, row.seq)
    return Math.max(0, max)
  }

  /** `committed` (the table's counts) with the unconfirmed writes applied, in place. */
  applyTo(committed: Record<JobState, number>): Record<JobState, number> {
    const rows = this.unconfirmedRows()
    const states = this.table.statesOf && rows.length > 0 ? this.table.statesOf(rows.map((row) => row.id)) : undefined
    for (const row of rows) {
      const previous = states ? states.get(row.id) : this.table.stateOf(row.id)
      if (previous !== undefined && previous in committed) committed[previous]--
      committed[row.state]++
    }
    return committed
  }

  private unconfirmed(id: string): JobRow | undefined {
    return this.pending.get(id) ?? this.inflight.get(id)
  }

  private isUnconfirmed(id: string): boolean {
    return this.pending.has(id) || this.inflight.has(id)
  }

  /** Pending and in-flight rows, the newest write of each id. */
  private unconfirmedRows(): JobRow[] {
    const rows = [...this.pending.values()]
    for (const row of this.inflight.values()) if (!this.pending.has(row.id)) rows.push(row)
    return rows
  }

  /** Rows from the table, skipping those an unconfirmed write replaces; stops after `limit`. */
  private takeStored(rows: Iterable<StoredRow>, limit: number): StoredRow[] {
    const out: StoredRow[] = []
    if (limit <= 0) return out
    for (const row of rows) {
      if (this.isUnconfirmed(row.id)) continue
      out.push(row)
      if (out.length >= limit) break // ends the iterator, which resets a statement
    }
    return out
  }
}

function parse(row: StoredRow): JobRecord {
  return parseRecord(row.json)
}

/** Merges two lists that are each sorted by `seq` under `order`; on ties `a` comes first. */
function mergeBySeq<R extends { seq: number }>(a: R[], b: R[], order: (x: number, y: number) => number): R[] {
  const out: R[] = []
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
