import type { JobState } from '../../src/protocol/index.js'
import { isFinal } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import { emptyCounts, type JobQuery, type JobStore } from './job-store.js'

export interface MemoryJobStoreOptions {
  /** The namespace whose jobs it holds; without one, a private store for one master. */
  namespace?: string
  /**
   * Hold the jobs in the same memory as this other store, as two SQLite stores share a file:
   * each still sees only its own namespace's jobs. For tests of exactly that.
   */
  shareWith?: MemoryJobStore
}

/** For tests and throwaway clusters: nothing survives the process. */
export class MemoryJobStore implements JobStore {
  readonly kind = 'memory'
  readonly namespace: string | undefined
  /** Every namespace's jobs, by namespace ('' for a store without one), then by id. */
  private readonly tables: Map<string, Map<string, JobRecord>>
  private readonly jobs: Map<string, JobRecord>
  private closed = false

  constructor(options: MemoryJobStoreOptions = {}) {
    this.namespace = options.namespace
    this.tables = options.shareWith?.tables ?? new Map()
    const key = options.namespace ?? ''
    let jobs = this.tables.get(key)
    if (!jobs) this.tables.set(key, (jobs = new Map()))
    this.jobs = jobs
  }

  save(job: JobRecord): void {
    this.assertOpen()
    this.jobs.set(job.id, structuredClone(job))
  }

  get(id: string): JobRecord | undefined {
    const job = this.jobs.get(id)
    return job ? structuredClone(job) : undefined
  }

  getMany(ids: readonly string[]): Map<string, JobRecord> {
    const found = new Map<string, JobRecord>()
    for (const id of ids) {
      const job = this.get(id)
      if (job) found.set(id, job)
    }
    return found
  }

  list(query: JobQuery): JobRecord[] {
    const out: JobRecord[] = []
    const all = [...this.jobs.values()].sort((a, b) => b.seq - a.seq)
    for (const job of all) {
      if (query.state && job.state !== query.state) continue
      if (query.owner !== undefined && job.owner !== query.owner) continue
      out.push(structuredClone(job))
      if (out.length >= query.limit) break
    }
    return out
  }

  loadUnfinished(): JobRecord[] {
    return [...this.jobs.values()]
      .filter((job) => !isFinal(job.state))
      .sort((a, b) => a.seq - b.seq)
      .map((job) => structuredClone(job))
  }

  maxSeq(): number {
    let max = 0
    for (const job of this.jobs.values()) max = Math.max(max, job.seq)
    return max
  }

  counts(): Record<JobState, number> {
    const counts = emptyCounts()
    for (const job of this.jobs.values()) counts[job.state]++
    return counts
  }

  flush(): Promise<void> {
    return Promise.resolve()
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('job store is closed')
  }
}
