import type { JobState } from '../../src/protocol/index.js'
import { isFinal } from '../../src/protocol/index.js'
import type { JobRecord } from './job-record.js'
import { emptyCounts, type JobQuery, type JobStore } from './job-store.js'

/** For tests and throwaway clusters: nothing survives the process. */
export class MemoryJobStore implements JobStore {
  readonly kind = 'memory'
  private readonly jobs = new Map<string, JobRecord>()
  private closed = false

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
