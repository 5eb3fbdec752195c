import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AssignMessage, ControlMessage } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'

/** Which (jobId, attempt) pairs the `ack`s a worker received cover, once each. */
function acked(controls: ControlMessage[]): string[] {
  return controls
    .filter((c) => c.op === 'ack')
    .flatMap((c) => [...(c.jobId ? [{ jobId: c.jobId, attempt: c.attempt }] : []), ...(c.jobs ?? [])])
    .map((entry) => `${entry.jobId}#${entry.attempt}`)
    .sort()
}

describe('result acknowledgements (docs/protocol.md §10; the ack-batch extension, docs/protocol.md §14)', () => {
  let cluster: TestCluster
  let dataDir: string | undefined
  const fakes: FakeWorker[] = []
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.stop()))
    await cluster?.close()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  async function resultsInOneTurn(features: string[]): Promise<{ fake: FakeWorker; assigns: AssignMessage[] }> {
    // The SQLite store, as in production: its commit (one per turn) is what a batch of acks follows.
    dataDir = await mkdtemp(join(tmpdir(), 'edgerun-acks-'))
    cluster = await TestCluster.start({ store: 'sqlite', dataDir })
    const fake = new FakeWorker(cluster.url, cluster.namespace, `fake-${features.length}`, 5, features)
    fakes.push(fake)
    await fake.connect()
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).some((n) => n.id === fake.id && n.state === 'online'), { what: 'fake online' })
    const done = Array.from({ length: 5 }, (_, i) => client.submit({ id: `ack-${i}`, kind: 'noop' }))
    const assigns = await Promise.all(Array.from({ length: 5 }, (_, i) => fake.nextAssign(i)))
    await fake.sendTogether(assigns.map((a) => ({ type: 'result', jobId: a.job.id, attempt: a.attempt, epoch: a.epoch, state: 'succeeded', output: { ok: true } })))
    for (const reply of await Promise.all(done)) expect(reply).toMatchObject({ type: 'result', state: 'succeeded' })
    const expected = assigns.map((a) => `${a.job.id}#${a.attempt}`).sort()
    await waitFor(() => acked(fake.controls).length >= expected.length, { what: 'every result acknowledged' })
    expect(acked(fake.controls)).toEqual(expected)
    return { fake, assigns }
  }

  it('a worker that did not announce ack-batch gets one ack per result, each naming its job', async () => {
    const { fake } = await resultsInOneTurn([])
    const acks = fake.controls.filter((c) => c.op === 'ack')
    expect(acks).toHaveLength(5)
    for (const ack of acks) {
      expect(ack.jobs).toBeUndefined()
      expect(ack.jobId).toBeDefined()
    }
  })

  it('a worker that announced ack-batch gets the results of one commit acknowledged in one message', async () => {
    const { fake } = await resultsInOneTurn(['ack-batch'])
    const acks = fake.controls.filter((c) => c.op === 'ack')
    // The five results arrived in one read, so they were made durable by one commit.
    expect(acks).toHaveLength(1)
    expect(acks[0]!.jobs).toHaveLength(5)
  })

  it('a result after the job is final is acknowledged only for an attempt given to that node\'s process', async () => {
    cluster = await TestCluster.start()
    const owner = new FakeWorker(cluster.url, cluster.namespace, 'owner')
    const other = new FakeWorker(cluster.url, cluster.namespace, 'other')
    fakes.push(owner, other)
    await owner.connect()
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).some((n) => n.id === 'owner' && n.state === 'online'), { what: 'owner online' })
    const done = client.submit({ id: 'late-1', kind: 'noop' })
    const assign = await owner.nextAssign()
    await owner.result(assign)
    expect(await done).toMatchObject({ type: 'result', state: 'succeeded', node: 'owner' })
    await waitFor(() => acked(owner.controls).length === 1, { what: 'the first result acknowledged' })
    await other.connect()

    // The same result again (a resend after a reconnect): it can never matter, so it is acknowledged.
    await owner.result(assign)
    // Spoofs: another node with the owner's attempt, and the owner with an attempt it never had.
    await other.result(assign)
    await owner.send({ type: 'result', jobId: 'late-1', attempt: 2, epoch: owner.epoch, state: 'succeeded', output: { ok: true } })
    // A job id the master never stored is acknowledged; sent last, its ack comes after any other.
    await owner.send({ type: 'result', jobId: 'never-1', attempt: 1, epoch: owner.epoch, state: 'succeeded', output: { ok: true } })
    await other.send({ type: 'result', jobId: 'never-2', attempt: 1, epoch: other.epoch, state: 'succeeded', output: { ok: true } })
    await waitFor(() => acked(owner.controls).includes('never-1#1') && acked(other.controls).includes('never-2#1'), { what: 'acks of the unknown jobs' })
    expect(acked(owner.controls)).toEqual(['late-1#1', 'late-1#1', 'never-1#1'])
    expect(acked(other.controls)).toEqual(['never-2#1'])
    expect((await client.stats()).ignored).toMatchObject({ result_after_final: 1, result_not_assigned: 2, result_unknown_job: 2 })
    expect(await client.getJob('late-1')).toMatchObject({ state: 'succeeded', node: 'owner', attempts: 1 })
  })
})
