import type { JobState } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import type { JobQuery, JobStore } from './job-store.js'
import { parseRecord, storeClosedError, toRow, type JobTable } from './job-table.js'

/**
 * A JobStore that is its table and nothing more: every `save()` is committed at once, so reads
 * see it and `flush()` has nothing to wait for. For a table whose commits cost next to nothing
 * (memory); a table on a disk or a network wants the write-behind layer (write-behind.ts).
 */
export class TableJobStore<T extends JobTable = JobTable> implements JobStore {
  readonly kind: string
  readonly namespace: string | undefined
  private closed = false

  constructor(protected readonly table: T) {
    this.kind = table.kind
    this.namespace = table.namespace
  }

  save(job: JobRecord): void {
    if (this.closed) throw storeClosedError()
    this.table.commit([toRow(job)])
  }

  get(id: string): JobRecord | undefined {
    const json = this.table.get(id)
    return json === undefined ? undefined : parseRecord(json)
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    const found = new Map<string, JobRecord>()
    for (const row of this.table.getMany(ids)) found.set(row.id, parseRecord(row.json))
    return found
  }

  list(query: JobQuery): JobRecord[] {
    const out: JobRecord[] = []
    const limit = Math.floor(query.limit)
    if (!(limit > 0)) return out
    for (const row of this.table.list(query)) {
      out.push(parseRecord(row.json))
      if (out.length >= limit) break
    }
    return out
  }

  loadUnfinished(): JobRecord[] {
    return [...this.scanUnfinished()]
  }

  *scanUnfinished(): Iterable<JobRecord> {
    for (const row of this.table.unfinished()) yield parseRecord(row.json)
  }

  maxSeq(): number {
    return this.table.maxSeq()
  }

  counts(): Record<JobState, number> {
    return this.table.counts()
  }

  flush(): Promise<void> {
    return Promise.resolve()
  }

  /** Reads go on working after close where the table allows it (memory); saves are refused. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.table.close()
  }
}
