import { afterEach, describe, expect, it } from 'vitest'
import type { FinalReply } from '../../src/client/client.js'
import type { JobReply } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'

describe('acknowledged assignment and requeue (docs/protocol.md §10)', () => {
  let cluster: TestCluster
  const fakes: FakeWorker[] = []
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.stop()))
    await cluster?.close()
  })

  async function setup(master: Record<string, unknown> = {}) {
    cluster = await TestCluster.start({ master })
    const fake = new FakeWorker(cluster.url, cluster.namespace, 'fake-a')
    fakes.push(fake)
    await fake.connect()
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).some((n) => n.id === 'fake-a' && n.state === 'online'), { what: 'fake online' })
    return { fake, client }
  }

  function track(client: Awaited<ReturnType<TestCluster['client']>>, id: string, sleepMs?: number) {
    const events: JobReply[] = []
    const done = client.submit({ id, kind: 'noop', ...(sleepMs ? { sleepMs } : {}) }, { onEvent: (e) => events.push(e) }) as Promise<FinalReply>
    return { events, done }
  }

  it('a job whose node dies after accepted is requeued and finishes once elsewhere', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'dies-after-accept')
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'running'), { what: 'running' })
    fake.die()
    await cluster.worker()
    const result = await job.done
    expect(result).toMatchObject({ type: 'result', state: 'succeeded', attempts: 2 })
    expect(job.events.filter((e) => e.type === 'result')).toHaveLength(1)
    expect(job.events.some((e) => e.type === 'progress' && e.state === 'requeued')).toBe(true)
  })

  it('a job whose node dies before accepted is requeued', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'dies-before-accept')
    await fake.nextAssign()
    fake.die()
    await cluster.worker()
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 2 })
  })

  it('an accepted that never arrives misses its deadline: cancel to the old node, requeue', async () => {
    const { fake, client } = await setup({ ackTimeoutMs: 200 })
    const job = track(client, 'never-accepted')
    const assign = await fake.nextAssign()
    await waitFor(() => fake.controls.find((c) => c.op === 'cancel' && c.jobId === 'never-accepted' && c.attempt === assign.attempt), { what: 'cancel' })
    await cluster.worker()
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded' })
  })

  it('the first result wins: a late result after the requeue is final, the rest dropped', async () => {
    const { fake, client } = await setup({ ackTimeoutMs: 300 })
    const job = track(client, 'late-result', 3000)
    const first = await fake.nextAssign()
    await fake.accept(first)
    fake.die()
    // The requeued attempt goes to a slow worker; the old node comes back with its result first.
    await cluster.worker({ id: 'slow' })
    await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'requeued'), { what: 'requeued' })
    await fake.connect()
    await fake.result(first, { ok: true })
    const result = await job.done
    expect(result).toMatchObject({ type: 'result', node: 'fake-a' })
    await waitFor(() => fake.controls.find((c) => c.op === 'ack' && c.jobId === 'late-result'), { what: 'ack to the old node' })
    // Nothing else final arrives for it.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(job.events.filter((e) => e.type === 'result')).toHaveLength(1)
    expect((await client.getJob('late-result')).node).toBe('fake-a')
  })

  it('maxAttempts spent: failed, with the reason', async () => {
    const { fake, client } = await setup({ ackTimeoutMs: 100 })
    const reply = client.submit({ id: 'doomed', kind: 'noop', maxAttempts: 2 }) as Promise<FinalReply>
    const result = await reply
    expect(result).toMatchObject({ type: 'result', state: 'failed', attempts: 2 })
    expect(result.type === 'result' && result.error).toMatch(/gave up after 2 attempt\(s\): node fake-a did not accept/)
    expect(fake.assigns.length).toBe(2)
  })

  it('a worker busy rejection uses up no attempt', async () => {
    const { fake, client } = await setup({ busyRetryMs: 10 })
    const job = track(client, 'busy')
    for (let i = 0; i < 3; i++) {
      const assign = await fake.nextAssign(i)
      await fake.send({ type: 'rejected', jobId: assign.job.id, attempt: assign.attempt, epoch: assign.epoch, code: 'BUSY', message: 'busy' })
    }
    const assign = await fake.nextAssign(3)
    await fake.accept(assign)
    await fake.result(assign)
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1 })
  })

  it('with --lost-grace a node that comes back in time keeps its job', async () => {
    const { fake, client } = await setup({ lostGraceMs: 3000 })
    const job = track(client, 'grace')
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    fake.die()
    await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'fake-a')?.state === 'offline', { what: 'offline' })
    await fake.connect([{ jobId: 'grace', attempt: assign.attempt }])
    await fake.result(assign)
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, node: 'fake-a' })
    expect(job.events.some((e) => e.type === 'progress' && e.state === 'requeued')).toBe(false)
  })

  it('a silent worker: the master enforces timeoutMs plus grace', async () => {
    const { fake, client } = await setup({ runGraceMs: 100 })
    const reply = client.submit({ id: 'silent', kind: 'noop', timeoutMs: 200, maxAttempts: 1 }) as Promise<FinalReply>
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    const result = await reply
    expect(result).toMatchObject({ type: 'result', state: 'timed_out' })
  })

  it('a result for an attempt not assigned to that node is ignored and counted', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'spoof-target')
    const assign = await fake.nextAssign()
    const intruder = new FakeWorker(cluster.url, cluster.namespace, 'intruder')
    fakes.push(intruder)
    await intruder.connect()
    await intruder.result(assign, { ok: true })
    await intruder.send({ type: 'accepted', jobId: assign.job.id, attempt: assign.attempt, epoch: assign.epoch })
    await waitFor(async () => (await client.stats()).ignored.result_not_assigned === 1, { what: 'spoof counted' })
    expect(job.events.some((e) => e.type === 'result')).toBe(false)
    await fake.accept(assign)
    await fake.result(assign)
    expect(await job.done).toMatchObject({ state: 'succeeded', node: 'fake-a' })
  })
})
