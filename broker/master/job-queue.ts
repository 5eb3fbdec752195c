import type { JobRecord } from '../store/job-record.js'
import { Heap } from './heap.js'
import { requirementOf, type Requirement } from './requirement.js'

export interface QueueClass {
  requirement: Requirement
  heap: Heap<JobRecord>
}

/** Higher priority first, then older (DESIGN §6). */
export function runsBefore(a: JobRecord, b: JobRecord): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq
}

/**
 * Queued jobs, one heap per requirement class, so a job no node can take never blocks the jobs
 * behind it. Removal is lazy: a heap entry whose job is no longer queued is skipped when reached.
 */
export class JobQueue {
  private readonly classes = new Map<string, QueueClass>()
  private readonly queued = new Set<string>()
  private readonly perOwner = new Map<string, number>()

  get size(): number {
    return this.queued.size
  }

  ownerCount(owner: string | null): number {
    return owner === null ? 0 : (this.perOwner.get(owner) ?? 0)
  }

  has(id: string): boolean {
    return this.queued.has(id)
  }

  push(job: JobRecord): void {
    if (this.queued.has(job.id)) return
    const requirement = requirementOf(job.spec)
    let queueClass = this.classes.get(requirement.key)
    if (!queueClass) {
      queueClass = { requirement, heap: new Heap(runsBefore) }
      this.classes.set(requirement.key, queueClass)
    }
    queueClass.heap.push(job)
    this.queued.add(job.id)
    if (job.owner !== null) this.perOwner.set(job.owner, (this.perOwner.get(job.owner) ?? 0) + 1)
  }

  /** Forgets a job (canceled while queued); its heap entry is dropped when it surfaces. */
  remove(job: JobRecord): void {
    if (!this.queued.delete(job.id)) return
    this.decOwner(job.owner)
  }

  /** The head of each class, after dropping entries that are no longer queued. */
  *heads(): Generator<QueueClass & { head: JobRecord }> {
    for (const queueClass of this.classes.values()) {
      const head = this.cleanHead(queueClass)
      if (head) yield { ...queueClass, head }
    }
  }

  take(queueClass: QueueClass): JobRecord | undefined {
    const job = this.cleanHead(queueClass)
    if (!job) return undefined
    queueClass.heap.pop()
    this.queued.delete(job.id)
    this.decOwner(job.owner)
    return job
  }

  private cleanHead(queueClass: QueueClass): JobRecord | undefined {
    for (;;) {
      const head = queueClass.heap.peek()
      if (!head) {
        this.classes.delete(queueClass.requirement.key)
        return undefined
      }
      if (this.queued.has(head.id) && head.state === 'queued') return head
      queueClass.heap.pop()
    }
  }

  private decOwner(owner: string | null): void {
    if (owner === null) return
    const count = (this.perOwner.get(owner) ?? 1) - 1
    if (count <= 0) this.perOwner.delete(owner)
    else this.perOwner.set(owner, count)
  }
}
