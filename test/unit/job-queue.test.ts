import { describe, expect, it } from 'vitest'
import { JobQueue } from '../../broker/master/job-queue.js'
import { admittedRecord } from '../../broker/store/job-record.js'
import { jobSpecSchema } from '../../src/protocol/index.js'

function job(i: number, priority = 0) {
  return admittedRecord(jobSpecSchema.parse({ id: `j${i}`, kind: 'noop', priority }), { replyTo: 'q/reply/c', owner: 'c', seq: i + 1, now: 0 })
}

describe('the job queue', () => {
  it('headIds lists a class in run order, skips removed jobs, and leaves the queue as it was', () => {
    const queue = new JobQueue()
    for (let i = 0; i < 10; i++) queue.push(job(i, i === 7 ? 5 : 0))
    queue.remove({ id: 'j1', owner: 'c' })
    expect(queue.headIds(4, () => true)).toEqual(['j7', 'j0', 'j2', 'j3'])
    expect(queue.headIds(4, (id) => id !== 'j0')).toEqual(['j7', 'j2', 'j3'])
    expect(queue.size).toBe(9)
    expect(queue.ownerCount('c')).toBe(9)
    const taken: string[] = []
    for (const { queueClass } of [...queue.heads()]) for (let e = queue.take(queueClass); e; e = queue.take(queueClass)) taken.push(e.id)
    expect(taken).toEqual(['j7', 'j0', 'j2', 'j3', 'j4', 'j5', 'j6', 'j8', 'j9'])
  })

  it('headIds walks no more than four windows of entries, removed ones included', () => {
    const queue = new JobQueue()
    for (let i = 0; i < 100; i++) queue.push(job(i))
    for (let i = 0; i < 90; i++) queue.remove({ id: `j${i}`, owner: 'c' })
    // The first 8 entries (4 × 2) are all removed: nothing is found, and nothing more is walked.
    expect(queue.headIds(2, () => true)).toEqual([])
    expect(queue.headIds(30, () => true)).toEqual(['j90', 'j91', 'j92', 'j93', 'j94', 'j95', 'j96', 'j97', 'j98', 'j99'])
  })

  it('an id removed and queued again is one job, at its new place', () => {
    const queue = new JobQueue()
    for (let i = 0; i < 3; i++) queue.push(job(i))
    queue.remove({ id: 'j0', owner: 'c' })
    queue.push({ ...job(0), seq: 50 })
    expect(queue.size).toBe(3)
    expect(queue.headIds(10, () => true)).toEqual(['j1', 'j2', 'j0'])
  })
})
