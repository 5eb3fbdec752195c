import type { JobRecord } from '../store/job-record.js'
import { KeyedHeap, queueKey } from './keyed-heap.js'
import { requirementOf, type Requirement } from './requirement.js'

/**
 * What the queue keeps of a job: enough to order it and count it per owner, nothing more. The
 * record itself may be parked in the store while it waits (see Lifecycle.enqueue).
 */
export interface QueueEntry {
  readonly id: string
  readonly priority: number
  readonly seq: number
  readonly owner: string | null
}

export interface QueueClass {
  requirement: Requirement
  /** Slot numbers into the queue's columns, keyed by priority then age. */
  heap: KeyedHeap
}

/** Higher priority first, then older (docs/protocol.md §10). */
export function runsBefore(a: QueueEntry, b: QueueEntry): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq
}

/**
 * Queued jobs, one heap per requirement class, so a job no node can take never blocks the jobs
 * behind it. Removal is lazy: a heap entry whose job is no longer queued is skipped when reached.
 *
 * Entries live in columns (plain arrays of numbers and strings) addressed by slot, and the heaps
 * hold slot numbers: a million queued jobs are then a million id strings for the GC to walk,
 * not a million entry objects besides.
 */
export class JobQueue {
  private readonly classes = new Map<string, QueueClass>()
  /** Queued ids and their slots. A slot whose id is undefined is free or removed. */
  private readonly slotOf = new Map<string, number>()
  private readonly perOwner = new Map<string, number>()
  private readonly owners = new Map<string, string>()
  private readonly ids: Array<string | undefined> = []
  private readonly priorities: number[] = []
  private readonly seqs: number[] = []
  private readonly ownerOf: Array<string | null> = []
  private readonly freeSlots: number[] = []

  get size(): number {
    return this.slotOf.size
  }

  /** Requirement classes with queued jobs (or stale entries not yet dropped). */
  get classCount(): number {
    return this.classes.size
  }

  ownerCount(owner: string | null): number {
    return owner === null ? 0 : (this.perOwner.get(owner) ?? 0)
  }

  /** Queued jobs per priority (a walk of the queue: for a once-a-second dashboard figure). */
  countByPriority(): Map<number, number> {
    const out = new Map<number, number>()
    for (const slot of this.slotOf.values()) {
      const priority = this.priorities[slot]!
      out.set(priority, (out.get(priority) ?? 0) + 1)
    }
    return out
  }

  has(id: string): boolean {
    return this.slotOf.has(id)
  }

  /** The queued job admitted first, by a walk of every entry: for metrics, when they are scraped. */
  oldestId(): string | undefined {
    let oldest: number | undefined
    for (const slot of this.slotOf.values()) if (oldest === undefined || this.seqs[slot]! < this.seqs[oldest]!) oldest = slot
    return oldest === undefined ? undefined : this.ids[oldest]
  }

  /**
   * Queues the job; returns whether it is among the next to run (it would sit at the head of its
   * class). A caller parking records keeps those in memory: they are about to be dispatched.
   */
  push(job: JobRecord): boolean {
    if (this.slotOf.has(job.id)) return true
    const requirement = requirementOf(job.spec)
    let queueClass = this.classes.get(requirement.key)
    if (!queueClass) {
      queueClass = { requirement, heap: new KeyedHeap() }
      this.classes.set(requirement.key, queueClass)
    }
    const owner = this.intern(job.owner)
    const slot = this.freeSlots.pop() ?? this.ids.length
    this.ids[slot] = job.id
    this.priorities[slot] = job.priority
    this.seqs[slot] = job.seq
    this.ownerOf[slot] = owner
    const key = queueKey(job.priority, job.seq)
    const headKey = queueClass.heap.peekKey()
    queueClass.heap.push(key, slot)
    this.slotOf.set(job.id, slot)
    if (owner !== null) this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1)
    return headKey === undefined || key < headKey
  }

  /** Forgets a job (canceled or finished while queued); its heap entry is dropped when it surfaces. */
  remove(job: { id: string; owner: string | null }): void {
    const slot = this.slotOf.get(job.id)
    if (slot === undefined) return
    this.slotOf.delete(job.id)
    // The slot stays taken until its heap entry surfaces; only then can it be reused.
    this.ids[slot] = undefined
    this.decOwner(job.owner)
  }

  /** The head of each class, after dropping entries that are no longer queued. */
  *heads(): Generator<{ queueClass: QueueClass; head: QueueEntry }> {
    for (const queueClass of this.classes.values()) {
      const slot = this.cleanHead(queueClass)
      if (slot !== undefined) yield { queueClass, head: this.entry(slot) }
    }
  }

  /**
   * For each class, its first `limit` queued jobs in the order they would run (looking at no
   * more than 4 × `limit` entries, removed ones included), keeping the ids for which `want`
   * holds. The queue is left as it is.
   */
  headIds(limit: number, want: (id: string) => boolean): string[] {
    const out: string[] = []
    if (limit <= 0) return out
    for (const queueClass of this.classes.values()) {
      let counted = 0
      // Removed entries are skipped but still walked; bounded, so that a class full of them
      // (a burst of cancels) costs a few windows' worth, not the whole heap.
      let walked = 0
      queueClass.heap.visitAscending((slot) => {
        const id = this.ids[slot]
        if (id !== undefined) {
          if (want(id)) out.push(id)
          counted++
        }
        return counted < limit && ++walked < 4 * limit
      })
    }
    return out
  }

  take(queueClass: QueueClass): QueueEntry | undefined {
    const slot = this.cleanHead(queueClass)
    if (slot === undefined) return undefined
    queueClass.heap.pop()
    const entry = this.entry(slot)
    this.release(slot)
    this.slotOf.delete(entry.id)
    this.decOwner(entry.owner)
    return entry
  }

  private entry(slot: number): QueueEntry {
    return { id: this.ids[slot]!, priority: this.priorities[slot]!, seq: this.seqs[slot]!, owner: this.ownerOf[slot] ?? null }
  }

  private release(slot: number): void {
    this.ids[slot] = undefined
    this.ownerOf[slot] = null
    this.freeSlots.push(slot)
  }

  private cleanHead(queueClass: QueueClass): number | undefined {
    for (;;) {
      const slot = queueClass.heap.peek()
      if (slot === undefined) {
        this.classes.delete(queueClass.requirement.key)
        return undefined
      }
      // A plain array read: at a million queued, a hash lookup here was a cache miss per job.
      if (this.ids[slot] !== undefined) return slot
      queueClass.heap.pop()
      this.release(slot)
    }
  }

  /** Records parsed from the store each carry their own copy of the owner's name. */
  private intern(owner: string | null): string | null {
    if (owner === null) return null
    const known = this.owners.get(owner)
    if (known !== undefined) return known
    this.owners.set(owner, owner)
    return owner
  }

  private decOwner(owner: string | null): void {
    if (owner === null) return
    const count = (this.perOwner.get(owner) ?? 1) - 1
    if (count <= 0) this.perOwner.delete(owner)
    else this.perOwner.set(owner, count)
  }
}
