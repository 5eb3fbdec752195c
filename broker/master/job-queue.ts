import type { JobRecord } from '../store/job-record.js'
import { Heap } from './heap.js'
import { requirementOf, type Requirement } from './requirement.js'

/**
 * What the queue keeps of a job: enough to order it and count it per owner, nothing more. The
 * record itself may be parked in the store while it waits (see Lifecycle.enqueue), so a queue of
 * a million jobs costs a million of these, not a million records.
 */
export interface QueueEntry {
  readonly id: string
  readonly priority: number
  readonly seq: number
  readonly owner: string | null
}

export interface QueueClass {
  requirement: Requirement
  heap: Heap<QueueEntry>
}

/** Higher priority first, then older (DESIGN §6). */
export function runsBefore(a: QueueEntry, b: QueueEntry): boolean {
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

  /**
   * Queues the job; returns whether it is among the next to run (it would sit at the head of its
   * class). A caller parking records keeps those in memory: they are about to be dispatched.
   */
  push(job: JobRecord): boolean {
    if (this.queued.has(job.id)) return true
    const requirement = requirementOf(job.spec)
    let queueClass = this.classes.get(requirement.key)
    if (!queueClass) {
      queueClass = { requirement, heap: new Heap(runsBefore) }
      this.classes.set(requirement.key, queueClass)
    }
    const entry = { id: job.id, priority: job.priority, seq: job.seq, owner: job.owner }
    const head = queueClass.heap.peek()
    queueClass.heap.push(entry)
    this.queued.add(job.id)
    if (job.owner !== null) this.perOwner.set(job.owner, (this.perOwner.get(job.owner) ?? 0) + 1)
    return head === undefined || runsBefore(entry, head)
  }

  /** Forgets a job (canceled or finished while queued); its heap entry is dropped when it surfaces. */
  remove(job: { id: string; owner: string | null }): void {
    if (!this.queued.delete(job.id)) return
    this.decOwner(job.owner)
  }

  /** The head of each class, after dropping entries that are no longer queued. */
  *heads(): Generator<{ queueClass: QueueClass; head: QueueEntry }> {
    for (const queueClass of this.classes.values()) {
      const head = this.cleanHead(queueClass)
      if (head) yield { queueClass, head }
    }
  }

  take(queueClass: QueueClass): QueueEntry | undefined {
    const entry = this.cleanHead(queueClass)
    if (!entry) return undefined
    queueClass.heap.pop()
    this.queued.delete(entry.id)
    this.decOwner(entry.owner)
    return entry
  }

  private cleanHead(queueClass: QueueClass): QueueEntry | undefined {
    for (;;) {
      const head = queueClass.heap.peek()
      if (!head) {
        this.classes.delete(queueClass.requirement.key)
        return undefined
      }
      if (this.queued.has(head.id)) return head
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
