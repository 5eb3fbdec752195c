import { afterEach, describe, expect, it, vi } from 'vitest'
import type { FinalReply } from '../../src/client/client.js'
import { TestCluster } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'

describe('read-ahead: the head of a parked queue comes back into memory while the master is idle', () => {
  let cluster: TestCluster
  const fakes: FakeWorker[] = []
  afterEach(async () => {
    for (const fake of fakes.splice(0)) await fake.stop()
    await cluster?.close()
  })

  async function parkedQueue(readAhead: number, jobs: number) {
    cluster = await TestCluster.start({ master: { parkAbove: 2, readAhead } })
    const client = await cluster.client()
    const results = Array.from({ length: jobs }, (_, i) => client.submit({ id: `ra-${i}`, kind: 'noop' }) as Promise<FinalReply>)
    await waitFor(async () => (await client.stats()).queued === jobs, { what: `${jobs} queued` })
    const fake = new FakeWorker(cluster.url, cluster.namespace, `fake-ra-${readAhead}`, 1)
    fakes.push(fake)
    const master = cluster.broker.master
    // Records the master holds: with parkAbove 2, ra-0 and ra-1 until read-ahead loads more.
    return { client, results, fake, master, inMemory: () => master.footprint().jobs }
  }

  it('after a dispatch, the next readAhead jobs are loaded, and the dispatches that follow never wait on the store', async () => {
    const { client, results, fake, master, inMemory } = await parkedQueue(3, 12)
    expect(inMemory()).toBe(2) // the rest parked: past parkAbove
    const read: string[] = []
    const getMany = cluster.broker.store.getMany.bind(cluster.broker.store)
    vi.spyOn(cluster.broker.store, 'getMany').mockImplementation((ids) => {
      read.push(...ids)
      return getMany(ids)
    })
    await fake.connect()
    const first = await fake.nextAssign()
    expect(first.job.id).toBe('ra-0')
    // ra-1 … ra-3 are now the head (ra-1 never left memory); ra-4 is past the window and stays parked.
    await waitFor(() => read.length >= 2, { what: 'the head read ahead' })
    expect(read).toEqual(['ra-2', 'ra-3'])
    expect(inMemory()).toBe(4)
    const readAhead = master.counter('read_ahead')
    expect(readAhead).toBeGreaterThan(0)
    // Store reads made by dispatch itself, not by read-ahead.
    const onDemand = () => master.counter('unparked') - master.counter('read_ahead')
    const loadsBefore = onDemand()
    // A read-ahead job canceled before it runs is final once, and never dispatched.
    expect(await client.cancelJob('ra-2')).toMatchObject({ state: 'canceled' })
    await fake.result(first)
    const second = await fake.nextAssign()
    expect(second.job.id).toBe('ra-1')
    await fake.result(second)
    expect((await fake.nextAssign(2)).job.id).toBe('ra-3')
    // ra-3 was parked until read-ahead loaded it: its dispatch read nothing from the store.
    expect(onDemand()).toBe(loadsBefore)
    // The other nine, one at a time.
    for (let i = 2; i < 11; i++) await fake.result(await fake.nextAssign(i))
    const finals = await Promise.all(results)
    expect(finals.map((r) => (r.type === 'result' ? r.state : r.type))).toEqual(finals.map((_, i) => (i === 2 ? 'canceled' : 'succeeded')))
    expect(new Set(fake.assigns.map((a) => a.job.id)).size).toBe(fake.assigns.length)
  })

  it('readAhead 0 leaves parked jobs in the store until they are dispatched', async () => {
    const { fake, master, inMemory } = await parkedQueue(0, 8)
    await fake.connect()
    const first = await fake.nextAssign()
    // The idle wait is a few ms; give it ample time to (wrongly) run.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(inMemory()).toBe(2) // ra-0 on the node, ra-1 the head
    expect(master.counter('read_ahead')).toBe(0)
    await fake.result(first)
    expect((await fake.nextAssign()).job.id).toBe('ra-1')
  })
})
