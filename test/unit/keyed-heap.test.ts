import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyedHeap, queueKey } from '../../broker/master/keyed-heap.js'
import { runsBefore } from '../../broker/master/job-queue.js'

describe('the queue heap', () => {
  it('pops in queue order: higher priority first, then older', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ priority: fc.integer({ min: -1_000_000, max: 1_000_000 }), seq: fc.integer({ min: 1, max: 2 ** 31 - 1 }) }), { maxLength: 300 }),
        (jobs) => {
          const unique = [...new Map(jobs.map((job) => [job.seq, job])).values()]
          const heap = new KeyedHeap()
          unique.forEach((job, i) => heap.push(queueKey(job.priority, job.seq), i))
          const popped: typeof unique = []
          for (let slot = heap.pop(); slot !== undefined; slot = heap.pop()) popped.push(unique[slot]!)
          const expected = [...unique].sort((a, b) => (runsBefore({ id: '', owner: null, ...a }, { id: '', owner: null, ...b }) ? -1 : 1))
          expect(popped).toEqual(expected)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('grows past its first allocation', () => {
    const heap = new KeyedHeap()
    for (let i = 10_000; i > 0; i--) heap.push(i, i)
    expect(heap.size).toBe(10_000)
    for (let i = 1; i <= 10_000; i++) expect(heap.pop()).toBe(i)
    expect(heap.pop()).toBeUndefined()
  })

  it('visits its first k values in pop order, and leaves itself as it was', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 300 }), fc.nat({ max: 320 }), (keys, k) => {
        const heap = new KeyedHeap()
        keys.forEach((key) => heap.push(key, key))
        const visited: number[] = []
        heap.visitAscending((value) => {
          visited.push(value)
          return visited.length < k
        })
        const sorted = [...keys].sort((a, b) => a - b)
        expect(visited).toEqual(sorted.slice(0, Math.max(1, k)).slice(0, keys.length))
        const popped: number[] = []
        for (let value = heap.pop(); value !== undefined; value = heap.pop()) popped.push(value)
        expect(popped).toEqual(sorted)
      }),
      { numRuns: 200 },
    )
  })
})
