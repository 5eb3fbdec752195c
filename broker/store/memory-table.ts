import { isFinal, type JobState } from '../../src/protocol/index.js'
import { emptyCounts } from './job-store.js'
import type { JobRow, JobTable, RowFilter, StoredRow } from './job-table.js'

export interface MemoryTableOptions {
  /** The namespace whose rows it holds; without one, a private table for one master. */
  namespace?: string | undefined
  /**
   * Hold the rows in the same memory as this other table, as two SQLite tables share a file:
   * each still sees only its own namespace's rows. For tests of exactly that.
   */
  shareWith?: MemoryJobTable | undefined
}

/** Rows in a Map: nothing survives the process. A commit cannot fail. */
export class MemoryJobTable implements JobTable {
  readonly kind = 'memory'
  readonly namespace: string | undefined
  /** Every namespace's rows, by namespace ('' for a table without one), then by id. */
  private readonly tables: Map<string, Map<string, JobRow>>
  private readonly rows: Map<string, JobRow>

  constructor(options: MemoryTableOptions = {}) {
    this.namespace = options.namespace
    this.tables = options.shareWith?.tables ?? new Map()
    const key = options.namespace ?? ''
    let rows = this.tables.get(key)
    if (!rows) this.tables.set(key, (rows = new Map()))
    this.rows = rows
  }

  get(id: string): string | undefined {
    return this.rows.get(id)?.json
  }

  *getMany(ids: readonly string[]): Iterable<StoredRow> {
    for (const id of ids) {
      const row = this.rows.get(id)
      if (row) yield row
    }
  }

  stateOf(id: string): JobState | undefined {
    return this.rows.get(id)?.state
  }

  statesOf(ids: readonly string[]): Map<string, JobState> {
    const states = new Map<string, JobState>()
    for (const id of ids) {
      const row = this.rows.get(id)
      if (row) states.set(id, row.state)
    }
    return states
  }

  *list({ state, owner }: RowFilter): Iterable<StoredRow> {
    for (const row of [...this.rows.values()].sort((a, b) => b.seq - a.seq)) {
      if (state !== undefined && row.state !== state) continue
      if (owner !== undefined && row.owner !== owner) continue
      yield row
    }
  }

  unfinished(): Iterable<StoredRow> {
    return [...this.rows.values()].filter((row) => !isFinal(row.state)).sort((a, b) => a.seq - b.seq)
  }

  maxSeq(): number {
    let max = 0
    for (const row of this.rows.values()) max = Math.max(max, row.seq)
    return max
  }

  counts(): Record<JobState, number> {
    const counts = emptyCounts()
    for (const row of this.rows.values()) counts[row.state]++
    return counts
  }

  snapshot<T>(read: () => T): T {
    return read()
  }

  commit(rows: Iterable<JobRow>): void {
    for (const row of rows) this.rows.set(row.id, row)
  }

  close(): void {}
}
