/**
 * A binary min-heap of (key, value) pairs kept in two typed arrays. Comparing keys never leaves
 * the heap's own memory, so a pop in a heap of a million stays a few cache lines deep instead of
 * chasing a pointer per comparison.
 */
export class KeyedHeap {
  private keys = new Float64Array(64)
  private values = new Int32Array(64)
  private length = 0

  get size(): number {
    return this.length
  }

  /** The value with the smallest key, or undefined. */
  peek(): number | undefined {
    return this.length > 0 ? this.values[0] : undefined
  }

  peekKey(): number | undefined {
    return this.length > 0 ? this.keys[0] : undefined
  }

  push(key: number, value: number): void {
    if (this.length === this.keys.length) this.grow()
    const keys = this.keys
    const values = this.values
    let index = this.length++
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (keys[parent]! <= key) break
      keys[index] = keys[parent]!
      values[index] = values[parent]!
      index = parent
    }
    keys[index] = key
    values[index] = value
  }

  pop(): number | undefined {
    if (this.length === 0) return undefined
    const keys = this.keys
    const values = this.values
    const top = values[0]
    const last = --this.length
    if (last > 0) {
      const key = keys[last]!
      const value = values[last]!
      let index = 0
      for (;;) {
        let child = 2 * index + 1
        if (child >= last) break
        if (child + 1 < last && keys[child + 1]! < keys[child]!) child++
        if (keys[child]! >= key) break
        keys[index] = keys[child]!
        values[index] = values[child]!
        index = child
      }
      keys[index] = key
      values[index] = value
    }
    return top
  }

  /**
   * Calls `visit` with the values in ascending key order, until it returns false, leaving the
   * heap as it is. Visiting the first k costs O(k log k) whatever the heap's size: a small heap
   * of frontier positions walks the tree best-first.
   */
  visitAscending(visit: (value: number) => boolean): void {
    if (this.length === 0) return
    const frontier = new KeyedHeap()
    frontier.push(this.keys[0]!, 0)
    for (;;) {
      const index = frontier.pop()
      if (index === undefined || !visit(this.values[index]!)) return
      const left = 2 * index + 1
      if (left < this.length) frontier.push(this.keys[left]!, left)
      if (left + 1 < this.length) frontier.push(this.keys[left + 1]!, left + 1)
    }
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2)
    keys.set(this.keys)
    const values = new Int32Array(this.values.length * 2)
    values.set(this.values)
    this.keys = keys
    this.values = values
  }
}

/**
 * Priority (higher first) and admission order (older first) folded into one number that sorts
 * ascending: priorities span ±1e6 (21 bits) and seq stays below 2^31, which fits a double's
 * 53-bit mantissa exactly.
 */
export function queueKey(priority: number, seq: number): number {
  return (1_000_000 - priority) * 2 ** 31 + seq
}
