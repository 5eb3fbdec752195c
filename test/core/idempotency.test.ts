import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'

describe('submit idempotency', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('the same id sent twice makes one job', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const client = await cluster.client()
    const first = await client.submit({ id: 'same-id', kind: 'noop' })
    expect(first.type).toBe('result')
    const other = await cluster.client()
    const second = await other.submit({ id: 'same-id', kind: 'noop' })
    expect(second).toMatchObject({ type: 'result', jobId: 'same-id', state: 'succeeded' })
    const jobs = await client.listJobs({ limit: 100 })
    expect(jobs.filter((job) => job.id === 'same-id')).toHaveLength(1)
    const stats = await client.stats()
    expect(stats.jobs.succeeded).toBe(1)
  })

  it('the same client submitting a finished id again gets its result again, without hanging', { timeout: 20_000 }, async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const client = await cluster.client()
    const first = await client.submit({ id: 'twice', kind: 'noop' })
    expect(first).toMatchObject({ type: 'result', jobId: 'twice', state: 'succeeded' })
    // Its reply subscription got the result already, so the master answers `accepted` (final,
    // duplicate) rather than a second copy; the client asks for the job and settles from that.
    const again = await client.submit({ id: 'twice', kind: 'noop' })
    expect(again).toMatchObject({ type: 'result', jobId: 'twice', state: 'succeeded' })
    expect((await client.stats()).jobs.succeeded).toBe(1)
  })
})
