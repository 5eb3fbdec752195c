import type { NodeEntry } from './node-table.js'

/** A node's in-flight set that tells the index when its free slots change. */
export class WatchedSet<T> extends Set<T> {
  constructor(private readonly changed: () => void) {
    super()
  }

  override add(value: T): this {
    const had = this.has(value)
    super.add(value)
    if (!had) this.changed()
    return this
  }

  override delete(value: T): boolean {
    const had = super.delete(value)
    if (had) this.changed()
    return had
  }

  override clear(): void {
    const had = this.size > 0
    super.clear()
    if (had) this.changed()
  }

  /** Something else the index orders by changed (the node's placement stamp). */
  touch(): void {
    this.changed()
  }
}

function free(node: NodeEntry): number {
  return node.slots - node.inFlight.size
}

/** The scheduler's order: most free slots first, then the most recently placed. */
function better(a: NodeEntry, b: NodeEntry): boolean {
  const fa = free(a)
  const fb = free(b)
  return fa > fb || (fa === fb && a.lastPlaced > b.lastPlaced)
}

/**
 * The online nodes with a free slot, in a binary heap by the scheduler's order, each node's place
 * kept so a change of its free slots or stamp moves it in O(log n). The scheduler walks it best
 * first and stops at the first node that can take the job, so a placement costs O(log n) in a
 * fleet of any width instead of a pass over every node (BENCHMARKS.md, "Fleet").
 */
export class NodeIndex {
  private readonly heap: NodeEntry[] = []
  private readonly places = new Map<NodeEntry, number>()

  get size(): number {
    return this.heap.length
  }

  /** Call after anything the order or eligibility depends on changed. */
  update(node: NodeEntry): void {
    const eligible = node.state === 'online' && free(node) > 0
    const at = this.places.get(node)
    if (at === undefined) {
      if (!eligible) return
      this.heap.push(node)
      this.places.set(node, this.heap.length - 1)
      this.up(this.heap.length - 1)
      return
    }
    if (!eligible) return this.remove(at)
    this.down(this.up(at))
  }

  /**
   * Calls `visit` with the nodes best first until it returns false, leaving the heap as it is.
   * Visiting k nodes costs O(k log k): a small heap of frontier positions walks the tree.
   */
  visit(visit: (node: NodeEntry) => boolean): void {
    const heap = this.heap
    if (heap.length === 0) return
    const frontier: number[] = [0]
    const before = (i: number, j: number) => better(heap[frontier[i]!]!, heap[frontier[j]!]!)
    while (frontier.length > 0) {
      const index = frontier[0]!
      const last = frontier.pop()!
      if (frontier.length > 0) {
        frontier[0] = last
        siftDown(frontier, 0, before)
      }
      if (!visit(heap[index]!)) return
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child >= heap.length) continue
        frontier.push(child)
        siftUp(frontier, frontier.length - 1, before)
      }
    }
  }

  private remove(at: number): void {
    const heap = this.heap
    const node = heap[at]!
    const last = heap.pop()!
    this.places.delete(node)
    if (at === heap.length) return
    heap[at] = last
    this.places.set(last, at)
    this.down(this.up(at))
  }

  private up(at: number): number {
    const heap = this.heap
    const node = heap[at]!
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (!better(node, heap[parent]!)) break
      heap[at] = heap[parent]!
      this.places.set(heap[at]!, at)
      at = parent
    }
    heap[at] = node
    this.places.set(node, at)
    return at
  }

  private down(at: number): void {
    const heap = this.heap
    const node = heap[at]!
    for (;;) {
      let child = 2 * at + 1
      if (child >= heap.length) break
      if (child + 1 < heap.length && better(heap[child + 1]!, heap[child]!)) child++
      if (!better(heap[child]!, node)) break
      heap[at] = heap[child]!
      this.places.set(heap[at]!, at)
      at = child
    }
    heap[at] = node
    this.places.set(node, at)
  }
}

function swap(list: number[], i: number, j: number): void {
  const t = list[i]!
  list[i] = list[j]!
  list[j] = t
}

function siftUp(list: number[], at: number, before: (i: number, j: number) => boolean): void {
  while (at > 0) {
    const parent = (at - 1) >> 1
    if (!before(at, parent)) return
    swap(list, at, parent)
    at = parent
  }
}

function siftDown(list: number[], at: number, before: (i: number, j: number) => boolean): void {
  for (;;) {
    let child = 2 * at + 1
    if (child >= list.length) return
    if (child + 1 < list.length && before(child + 1, child)) child++
    if (!before(child, at)) return
    swap(list, at, child)
    at = child
  }
}
