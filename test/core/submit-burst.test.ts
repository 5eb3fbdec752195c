import { afterEach, describe, expect, it, vi } from 'vitest'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { waitFor } from '../helpers/wait.js'

/** Submits sent in one TCP write reach the master in one turn: that is the burst it admits together. */
describe('submits admitted a burst at a time', () => {
  let cluster: TestCluster
  let submitter: PlainSubmitter
  afterEach(async () => {
    await submitter?.close()
    await cluster?.close()
  })

  async function start(master: { parkAbove?: number } = {}) {
    cluster = await TestCluster.start({ master })
    submitter = await PlainSubmitter.connect(cluster.url, cluster.namespace, 'c1')
  }

  const accepted = (id: string) => submitter.repliesOf(id).filter((r) => r.type === 'accepted')

  it('one store lookup serves every submit of a burst', async () => {
    await start()
    const getMany = vi.spyOn(cluster.broker.store, 'getMany')
    submitter.submitTogether(Array.from({ length: 50 }, (_, i) => ({ id: `b${i}`, kind: 'noop' })))
    await waitFor(() => Array.from({ length: 50 }, (_, i) => `b${i}`).every((id) => accepted(id).length === 1), { what: '50 accepted' })
    expect(getMany).toHaveBeenCalledTimes(1)
    expect(getMany.mock.calls[0]![0]).toHaveLength(50)
  })

  it('a message that arrives after a submit, in the same burst, sees the job admitted', async () => {
    await start()
    submitter.client.stream.cork()
    submitter.submit({ id: 'early', kind: 'noop' })
    submitter.send(topics.rpc(cluster.namespace), { v: 1, type: 'rpc', id: 'r1', method: 'jobs.cancel', params: { id: 'early' }, replyTo: submitter.replyTo })
    process.nextTick(() => submitter.client.stream.uncork())
    const answer = await waitFor(() => [...submitter.replies.values()].flat().find((r) => r.type === 'rpc' && r.correlationId === 'r1'), { what: 'the rpc answer' })
    expect(answer).toMatchObject({ ok: true })
    expect(await waitFor(() => submitter.resultOf('early'), { what: 'the result' })).toMatchObject({ state: 'canceled' })
  })

  it('the same id twice in one burst makes one job; the second submit hears it is a duplicate', async () => {
    await start()
    submitter.submitTogether([
      { id: 'twice', kind: 'noop' },
      { id: 'twice', kind: 'noop' },
    ])
    await waitFor(() => accepted('twice').length === 2, { what: 'two answers' })
    expect(accepted('twice').filter((r) => r.duplicate === true)).toHaveLength(1)
    expect(cluster.broker.master.counters()).toMatchObject({ admitted: 1, duplicate_submits: 1 })
    expect((await (await cluster.client()).listJobs({ limit: 10 })).map((job) => job.id)).toEqual(['twice'])
  })

  it('the same id twice in one burst stays one job when the first is parked at once (a long queue)', async () => {
    await start({ parkAbove: 1 })
    submitter.submitTogether(Array.from({ length: 3 }, (_, i) => ({ id: `ahead-${i}`, kind: 'noop' })))
    await waitFor(() => [0, 1, 2].every((i) => accepted(`ahead-${i}`).length === 1), { what: 'the jobs ahead accepted' })
    submitter.submitTogether([
      { id: 'parked', kind: 'noop' },
      { id: 'parked', kind: 'noop' },
    ])
    await waitFor(() => accepted('parked').length === 2, { what: 'two answers' })
    expect(accepted('parked').map((r) => r.duplicate ?? false)).toEqual([false, true])
    // Parked: past parkAbove only the head of the queue keeps its record in memory.
    expect(cluster.broker.master.footprint()).toMatchObject({ jobs: 1, queued: 4 })
    expect(cluster.broker.master.counters()).toMatchObject({ admitted: 4, duplicate_submits: 1 })
  })
})
