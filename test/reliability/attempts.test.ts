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

  function track(client: Awaited<ReturnType<TestCluster['client']>>, id: string, sleepMs?: number, spec: { maxAttempts?: number; timeoutMs?: number } = {}) {
    const events: JobReply[] = []
    const done = client.submit({ id, kind: 'noop', ...(sleepMs ? { sleepMs } : {}), ...spec }, { onEvent: (e) => events.push(e) }) as Promise<FinalReply>
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
    // Lost, and its node never came back: counted against maxLost, not maxAttempts.
    expect(result).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, lost: 1 })
    expect(job.events.filter((e) => e.type === 'result')).toHaveLength(1)
    expect(job.events.some((e) => e.type === 'progress' && e.state === 'requeued')).toBe(true)
  })

  it('a job whose node dies before accepted is requeued', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'dies-before-accept')
    await fake.nextAssign()
    fake.die()
    await cluster.worker()
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, lost: 1 })
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

  it('a connected worker that never accepts spends maxLost, not maxAttempts: failed MAX_LOST, with the reason', async () => {
    const { fake, client } = await setup({ ackTimeoutMs: 100 })
    const reply = client.submit({ id: 'doomed', kind: 'noop', maxAttempts: 1, maxLost: 3 }) as Promise<FinalReply>
    const result = await reply
    expect(result).toMatchObject({ type: 'result', state: 'failed', code: 'MAX_LOST', attempts: 0, lost: 3, output: null })
    expect(result.type === 'result' && result.error).toMatch(/gave up after 3 lost attempt\(s\) \(maxLost 3\): lost to connections 3 times; last: node fake-a did not accept/)
    expect(fake.assigns.length).toBe(3)
  })

  it('a worker process that comes back (same instance) lost the attempt to its link: maxAttempts is not charged', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'link-lost', undefined, { maxAttempts: 1 })
    for (let i = 0; i < 3; i++) {
      const assign = await fake.nextAssign(i)
      await fake.accept(assign)
      await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'running' && e.attempt === assign.attempt), { what: `attempt ${assign.attempt} running` })
      fake.die()
      await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'requeued' && e.attempt === assign.attempt), { what: 'requeued' })
      await fake.connect() // a new connection of the same process, no longer holding it
    }
    const last = await fake.nextAssign(3)
    await fake.result(last)
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, lost: 3, node: 'fake-a' })
    expect(job.events.some((e) => e.type === 'result' && e.code !== undefined)).toBe(false)
  })

  it('a new process under the node id means the old one died: charged, and maxAttempts crashes fail MAX_ATTEMPTS', async () => {
    const { fake, client } = await setup()
    const job = track(client, 'crash-loop', undefined, { maxAttempts: 2 })
    let current = fake
    for (let crash = 1; crash <= 2; crash++) {
      const assign = await current.nextAssign(0)
      await current.accept(assign)
      await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'running' && e.attempt === assign.attempt), { what: `attempt ${assign.attempt} running` })
      current.die()
      await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'requeued' && e.attempt === assign.attempt), { what: 'requeued' })
      // The node restarts: another process (instance) under the same id.
      current = new FakeWorker(cluster.url, cluster.namespace, 'fake-a')
      fakes.push(current)
      await current.connect()
    }
    const result = await job.done
    expect(result).toMatchObject({ type: 'result', state: 'failed', code: 'MAX_ATTEMPTS', attempts: 2, lost: 2, output: null })
    expect(result.type === 'result' && result.error).toMatch(/^gave up after 2 charged attempt\(s\) \(maxAttempts 2\): its worker process died 2 times while running it; last: node fake-a went offline/)
    // The second restart's birth decided it: no third assignment.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(current.assigns).toHaveLength(0)
  })

  it('with --lost-grace, what a graceful shutdown still held is a link loss, even if another process comes back in time', async () => {
    const { fake, client } = await setup({ lostGraceMs: 3000 })
    const job = track(client, 'handed-back', undefined, { maxAttempts: 1 })
    const assign = await fake.nextAssign(0)
    await fake.accept(assign)
    await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'running'), { what: 'running' })
    await fake.shutdown()
    await waitFor(() => job.events.some((e) => e.type === 'progress' && e.state === 'requeued'), { what: 'requeued at once, grace or not' })
    const next = new FakeWorker(cluster.url, cluster.namespace, 'fake-a')
    fakes.push(next)
    await next.connect()
    await next.result(await next.nextAssign(0))
    expect(await job.done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, lost: 1 })
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

  it('a silent worker on a live connection: the run deadline asks for a rebirth, and its answer charges a timeout', async () => {
    const { fake, client } = await setup({ runGraceMs: 100, ackTimeoutMs: 300 })
    const reply = client.submit({ id: 'silent', kind: 'noop', timeoutMs: 200, maxAttempts: 1 }) as Promise<FinalReply>
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    await waitFor(() => fake.controls.find((c) => c.op === 'rebirth'), { what: 'rebirth asked' })
    expect(fake.controls.some((c) => c.op === 'cancel' && c.jobId === 'silent' && c.attempt === assign.attempt)).toBe(true)
    // Still connected, and still nothing to say about the job: the link held, the job did not finish.
    await fake.rebirth()
    const result = await reply
    expect(result).toMatchObject({ type: 'result', state: 'timed_out', code: 'MAX_ATTEMPTS', attempts: 1 })
    expect(result.type === 'result' && result.error).toMatch(/no result came within timeoutMs \+ run grace once while its worker stayed connected/)
    // The requeued attempt already went out again: with maxAttempts spent it is canceled, not left to run.
    const second = await fake.nextAssign(1)
    await waitFor(() => fake.controls.find((c) => c.op === 'cancel' && c.jobId === 'silent' && c.attempt === second.attempt), { what: 'cancel of the attempt in flight' })
  })

  it('a run deadline missed during a stall that ends with the same process back costs no attempt', async () => {
    const { fake, client } = await setup({ runGraceMs: 100 })
    const job = track(client, 'stalled', undefined, { timeoutMs: 200, maxAttempts: 1 })
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    await waitFor(() => fake.controls.find((c) => c.op === 'rebirth'), { what: 'rebirth asked' })
    // The stalled connection is given up and the same process reconnects.
    fake.die()
    await fake.connect()
    const again = await waitFor(() => fake.assigns.find((a) => a.attempt > assign.attempt), { what: 'assigned again' })
    await fake.result(again)
    const result = await job.done
    // maxAttempts 1 and still it ran again: the lost attempts (the one past its deadline, and the
    // one requeued to the same node just before its connection died) were the link's.
    expect(result).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1 })
    expect(result.type === 'result' && result.lost).toBeGreaterThanOrEqual(1)
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
