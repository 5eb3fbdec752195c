import { describe, expect, it, vi } from 'vitest'
import { Counters } from '../../broker/master/counters.js'
import { JobTable } from '../../broker/master/job-table.js'
import { admittedRecord, type JobRecord } from '../../broker/store/job-record.js'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import { silentLogger } from '../../src/logging/logger.js'
import { jobSpecSchema } from '../../src/protocol/index.js'
import { waitFor } from '../helpers/wait.js'

let seq = 0
function job(id: string, fields: { priority?: number; labels?: string[] } = {}): JobRecord {
  const spec = jobSpecSchema.parse({ id, kind: 'noop', priority: fields.priority ?? 0, requires: { labels: fields.labels ?? [] } })
  return admittedRecord(spec, { replyTo: 't/reply/c', owner: 'c', seq: ++seq, now: 0 })
}

function table(options: { parkAbove?: number; readAhead?: number } = {}, store = new MemoryJobStore()) {
  const counters = new Counters()
  const jobs = new JobTable(store, { parkAbove: options.parkAbove ?? 10_000, readAhead: options.readAhead ?? 0 }, counters, silentLogger())
  return { jobs, store, counters }
}

/** Admits and queues, as a submit does. */
function queued(jobs: JobTable, ...records: JobRecord[]): void {
  for (const record of records) {
    jobs.admit(record)
    jobs.requeue(record)
  }
}

/** Every queued id in the order the queue hands them out (single class). */
function drain(jobs: JobTable): string[] {
  const out: string[] = []
  for (const { queueClass } of [...jobs.heads()]) for (let e = jobs.take(queueClass); e; e = jobs.take(queueClass)) out.push(e.id)
  return out
}

describe('the job table', () => {
  it('admits a job into memory and the store', () => {
    const { jobs, store } = table()
    const record = job('a')
    jobs.admit(record)
    expect(jobs.get('a')).toBe(record)
    expect(store.get('a')).toMatchObject({ id: 'a', state: 'queued' })
    expect(jobs.isQueued('a')).toBe(false) // queued by requeue, not by admission
  })

  it('past parkAbove a queued record leaves memory, saved as queued, and unpark brings it back', () => {
    const { jobs, store, counters } = table({ parkAbove: 2 })
    queued(jobs, job('a'), job('b'), job('c'), job('d'))
    expect(jobs.resident).toBe(2)
    expect(jobs.queued).toBe(4)
    expect(jobs.get('c')).toBeUndefined()
    expect(store.get('c')).toMatchObject({ state: 'queued' })
    const back = jobs.unpark('c')
    expect(back).toMatchObject({ id: 'c', state: 'queued' })
    expect(jobs.get('c')).toBe(back)
    expect(counters.get('unparked')).toBe(1)
  })

  it('a job that would run next stays in memory however long the queue', () => {
    const { jobs } = table({ parkAbove: 1 })
    queued(jobs, job('a'), job('b'), job('urgent', { priority: 9 }))
    expect(jobs.isResident('b')).toBe(false)
    expect(jobs.isResident('urgent')).toBe(true)
    expect(drain(jobs)).toEqual(['urgent', 'a', 'b'])
  })

  it('requeue is the one reset to queued: on no node, in no epoch, in the queue', () => {
    const { jobs } = table()
    const record = job('a')
    jobs.admit(record)
    Object.assign(record, { state: 'running', node: 'n1', epoch: 'x.1' })
    jobs.requeue(record)
    expect(record).toMatchObject({ state: 'queued', node: null, epoch: null })
    expect(jobs.isQueued('a')).toBe(true)
  })

  it('hold marks a job queued but keeps it out of the queue, in memory, until requeued', () => {
    const { jobs } = table({ parkAbove: 0 })
    const record = job('a')
    jobs.admit(record)
    Object.assign(record, { state: 'assigned', node: 'n1', epoch: 'x.1' })
    jobs.hold(record)
    expect(record).toMatchObject({ state: 'queued', node: null, epoch: null })
    expect(jobs.isQueued('a')).toBe(false)
    expect(jobs.get('a')).toBe(record)
  })

  it('putBack queues a job again without parking it, whatever the queue length', () => {
    const { jobs } = table({ parkAbove: 0 })
    queued(jobs, job('a'), job('b'))
    const record = job('c')
    jobs.admit(record)
    record.state = 'assigned'
    jobs.putBack(record)
    expect(record.state).toBe('queued')
    expect(jobs.isQueued('c') && jobs.isResident('c')).toBe(true)
  })

  it('unparks a batch of parked records in one store query, and never a final one', () => {
    const { jobs, store } = table({ parkAbove: 0 })
    queued(jobs, job('a'), job('b'), job('c'), job('d'))
    // d ended meanwhile (the store has it final; memory never held it again).
    store.save({ ...store.get('d')!, state: 'succeeded', finalState: 'succeeded' })
    const getMany = vi.spyOn(store, 'getMany')
    // a, the head, never left memory.
    const records = jobs.unparkMany(['a', 'b', 'c', 'd'])
    expect(getMany).toHaveBeenCalledTimes(1)
    expect(getMany.mock.calls[0]![0]).toEqual(['b', 'c', 'd'])
    expect([...records.keys()]).toEqual(['a', 'b', 'c'])
    expect(jobs.isResident('d')).toBe(false)
  })

  it('parks a resident queued job on request, and nothing else', () => {
    const { jobs, store } = table()
    queued(jobs, job('a'), job('b'))
    jobs.get('b')!.watchers = [{ replyTo: 't/reply/d' }] // only in memory so far
    expect(jobs.park('b')).toBe(true)
    expect(jobs.isResident('b')).toBe(false)
    // What memory held reaches the store before the record leaves memory.
    expect(store.get('b')).toMatchObject({ id: 'b', state: 'queued', watchers: [{ replyTo: 't/reply/d' }] })
    expect(jobs.unpark('b')).toMatchObject({ id: 'b', state: 'queued' })
    // Taken off the queue (dispatched): not a parked job any more.
    expect(drain(jobs)).toEqual(['a', 'b'])
    expect(jobs.park('a')).toBe(false)
    expect(jobs.park('unknown')).toBe(false)
  })

  it('retire takes a final job out of memory, the queue and its exclusions; lookup still finds it in the store', () => {
    const { jobs } = table()
    const record = job('a')
    queued(jobs, record, job('b'))
    jobs.exclude('a', 'n1')
    record.state = 'canceled'
    jobs.retire(record)
    jobs.save(record)
    expect(jobs.get('a')).toBeUndefined()
    expect(jobs.excludedFrom('a')).toBeUndefined()
    expect(jobs.queued).toBe(1)
    expect(drain(jobs)).toEqual(['b'])
    expect(jobs.lookup('a')).toMatchObject({ id: 'a', state: 'canceled' })
  })

  it('remembers which nodes refused a job', () => {
    const { jobs } = table()
    expect(jobs.excludedFrom('a')).toBeUndefined()
    jobs.exclude('a', 'n1')
    expect([...jobs.exclude('a', 'n2')]).toEqual(['n1', 'n2'])
    expect(jobs.excludedFrom('a')?.has('n2')).toBe(true)
  })

  it('counts queued jobs per owner and continues the store\'s seq', () => {
    const store = new MemoryJobStore()
    store.save({ ...job('old'), seq: 41 })
    const { jobs } = table({}, store)
    expect(jobs.nextSeq()).toBe(42)
    queued(jobs, job('a'), job('b'))
    expect(jobs.queuedBy('c')).toBe(2)
    expect(jobs.queuedBy('someone-else')).toBe(0)
  })

  it('lists what the store lists, each live job as memory holds it', () => {
    const { jobs } = table()
    const record = job('a')
    queued(jobs, record)
    record.state = 'running' // changed in memory, not saved yet
    expect(jobs.list({ limit: 10 }).map((j) => [j.id, j.state])).toEqual([['a', 'running']])
  })

  it('reads ahead the head of a parked queue after a dispatch that had to load, within its budget', async () => {
    const { jobs, counters } = table({ parkAbove: 1, readAhead: 3 })
    const ids = Array.from({ length: 8 }, (_, i) => `r${i}`)
    queued(jobs, ...ids.map((id) => job(id)))
    expect(ids.filter((id) => jobs.isResident(id))).toEqual(['r0'])
    const [{ queueClass }] = [...jobs.heads()]
    expect(jobs.take(queueClass!)?.id).toBe('r0')
    jobs.dispatched(true)
    await waitFor(() => counters.get('read_ahead') > 0, { what: 'a read-ahead' })
    expect(ids.filter((id) => jobs.isResident(id))).toEqual(['r0', 'r1', 'r2', 'r3'])
    jobs.stop()
  })
})
