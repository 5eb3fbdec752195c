import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jobFeedSchema, masterStatsSchema } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'
import { grantOf, login, rawClient, tempDir, writeUsersFile, type RawClient } from '../security/helpers.js'

/**
 * The dashboard's protocol additions (docs/protocol.md §15), from plain mqtt.js clients that
 * spell topics and JSON by hand: master/stats, master/jobs, jobs.list filters, jobs.get detail,
 * nodes.drain, and who may read them.
 */
describe('dashboard protocol additions, from a plain MQTT client', () => {
  let cluster: TestCluster
  const raws: RawClient[] = []
  afterEach(async () => {
    await Promise.all(raws.splice(0).map((raw) => raw.end()))
    await cluster?.close()
  })

  async function plain(name: string, credentials: object = {}) {
    const raw = await rawClient(cluster.url, { clientId: `${name}-${Math.random().toString(36).slice(2, 8)}`, ...credentials })
    raws.push(raw)
    await raw.client.subscribeAsync(`${cluster.namespace}/reply/${name}`, { qos: 1 })
    return raw
  }
  const json = (raw: RawClient, topic: string) => raw.messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload.toString()) as Record<string, any>)

  let rpcs = 0
  async function rpc(raw: RawClient, name: string, method: string, params?: object): Promise<Record<string, any>> {
    const id = `r-${++rpcs}`
    const replyTo = `${cluster.namespace}/reply/${name}`
    raw.client.publish(`${cluster.namespace}/rpc`, JSON.stringify({ v: 1, type: 'rpc', id, method, params, replyTo }), { qos: 1 })
    return waitFor(() => json(raw, replyTo).find((m) => m.type === 'rpc' && m.correlationId === id), { timeoutMs: 15_000, what: `${method} reply` })
  }
  function submit(raw: RawClient, name: string, job: object) {
    raw.client.publish(`${cluster.namespace}/submit`, JSON.stringify({ v: 1, type: 'submit', replyTo: `${cluster.namespace}/reply/${name}`, ...job }), { qos: 1 })
  }
  const resultOf = (raw: RawClient, name: string, id: string) => json(raw, `${cluster.namespace}/reply/${name}`).find((m) => m.type === 'result' && m.jobId === id)

  it('master/stats is retained, counts by state and priority, and shows rates', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'w1', slots: 2 })
    const me = await plain('me')
    const stats = `${cluster.namespace}/master/stats`
    for (let i = 0; i < 5; i++) submit(me, 'me', { id: `s-${i}`, kind: 'noop', priority: i % 2 })
    await waitFor(() => [0, 1, 2, 3, 4].every((i) => resultOf(me, 'me', `s-${i}`)), { timeoutMs: 15_000, what: 'five results' })
    // A watcher that subscribes later gets the retained copy at once, and then the figures.
    const watcher = await plain('watcher')
    await watcher.client.subscribeAsync(stats, { qos: 1 })
    const first = await waitFor(() => watcher.messages.find((m) => m.topic === stats), { timeoutMs: 15_000, what: 'retained stats' })
    expect(first.retain).toBe(true)
    const last = await waitFor(() => json(watcher, stats).findLast((m) => m.jobs.succeeded === 5), { timeoutMs: 15_000, what: 'stats with 5 succeeded' })
    expect(masterStatsSchema.parse(last)).toMatchObject({ type: 'stats', nodes: { online: 1, total: 1 }, busy: { w1: 0 } })
    // A running job counts as running, though the store still says assigned.
    submit(me, 'me', { id: 'run-1', kind: 'noop', sleepMs: 30_000, priority: 3 })
    const running = await waitFor(() => json(watcher, stats).find((m) => m.jobs.running === 1), { timeoutMs: 15_000, what: 'stats with one running' })
    expect(running.priorities).toEqual([{ priority: 3, queued: 0, assigned: 0, running: 1 }])
    expect(await rpc(me, 'me', 'jobs.cancel', { id: 'run-1' })).toMatchObject({ ok: true, result: { state: 'canceled' } })
    // One queued job per priority while no node can run it.
    submit(me, 'me', { id: 'q-hi', kind: 'noop', priority: 7, requires: { labels: ['nowhere'] } })
    submit(me, 'me', { id: 'q-lo', kind: 'noop', priority: -1, requires: { labels: ['nowhere'] } })
    const queued = await waitFor(() => json(watcher, stats).find((m) => m.jobs.queued === 2), { timeoutMs: 15_000, what: 'stats with two queued' })
    expect(queued.priorities).toEqual([
      { priority: 7, queued: 1, assigned: 0, running: 0 },
      { priority: -1, queued: 1, assigned: 0, running: 0 },
    ])
    // Rates: once nothing happens, the retained copy says so rather than keep the last burst's.
    await waitFor(() => json(watcher, stats).at(-1)!.rates.finished === 0, { timeoutMs: 15_000, what: 'rates back to zero' })
    // At most one a second: consecutive messages are at least ~1 s apart in the master's clock.
    const ts = json(watcher, stats).map((m) => m.ts as number)
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(950)
  })

  it('master/jobs carries job changes in batches at most every 250 ms', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'w1', slots: 4 })
    const me = await plain('me')
    const feed = `${cluster.namespace}/master/jobs`
    // Nobody subscribed: the embedded broker's master builds no feed at all.
    let published = 0
    cluster.broker.aedes.on('publish', (packet) => void (packet.topic === feed && published++))
    submit(me, 'me', { id: 'unwatched', kind: 'noop' })
    await waitFor(() => resultOf(me, 'me', 'unwatched'), { timeoutMs: 15_000, what: 'unwatched result' })
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(published).toBe(0)
    await me.client.subscribeAsync(`${cluster.namespace}/master/+`, { qos: 1 })
    const arrivals: number[] = []
    me.client.on('message', (topic) => topic === feed && arrivals.push(Date.now()))
    for (let i = 0; i < 20; i++) submit(me, 'me', { id: `f-${i}`, kind: 'noop', sleepMs: 20 * (i % 5) })
    await waitFor(() => {
      const last = new Map<string, string>()
      for (const batch of json(me, feed)) for (const job of batch.jobs) last.set(job.id, job.state)
      return last.size === 20 && [...last.values()].every((state) => state === 'succeeded')
    }, { timeoutMs: 15_000, what: 'every job succeeded in the feed' })
    for (const batch of json(me, feed)) jobFeedSchema.parse(batch)
    expect(json(me, feed).flatMap((b) => b.jobs).some((j) => j.id === 'unwatched')).toBe(false)
    const summary = json(me, feed).flatMap((b) => b.jobs).find((j) => j.id === 'f-3' && j.state === 'succeeded')
    expect(summary).toMatchObject({ kind: 'noop', owner: 'me', node: 'w1', attempt: 1, priority: 0 })
    // Batches: fewer messages than changes, and never two within 250 ms (later is only load).
    expect(json(me, feed).length).toBeLessThan(60)
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(200)
  })

  it('jobs.list filters by kind and id prefix; jobs.get with detail has the spec and attempts', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'w1', slots: 2, commands: { echo: '/bin/echo' } })
    const me = await plain('me')
    submit(me, 'me', { id: 'alpha-1', kind: 'noop' })
    submit(me, 'me', { id: 'alpha-2', kind: 'command', name: 'echo', args: ['hi'] })
    submit(me, 'me', { id: 'beta-1', kind: 'noop' })
    await waitFor(() => ['alpha-1', 'alpha-2', 'beta-1'].every((id) => resultOf(me, 'me', id)), { timeoutMs: 15_000, what: 'three results' })
    const ids = (reply: Record<string, any>) => (reply.result as Array<{ id: string }>).map((j) => j.id)
    expect(ids(await rpc(me, 'me', 'jobs.list', { idPrefix: 'alpha' }))).toEqual(['alpha-2', 'alpha-1'])
    expect(ids(await rpc(me, 'me', 'jobs.list', { kind: 'noop' }))).toEqual(['beta-1', 'alpha-1'])
    expect(ids(await rpc(me, 'me', 'jobs.list', { kind: 'noop', idPrefix: 'alpha', state: 'succeeded' }))).toEqual(['alpha-1'])
    expect(ids(await rpc(me, 'me', 'jobs.list', { idPrefix: 'alpha', limit: 1 }))).toEqual(['alpha-2'])
    expect(await rpc(me, 'me', 'jobs.list', { idPrefix: 'no/slash' })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } })
    const detail = await rpc(me, 'me', 'jobs.get', { id: 'alpha-2', detail: true })
    expect(detail.result).toMatchObject({ id: 'alpha-2', state: 'succeeded', spec: { kind: 'command', name: 'echo', args: ['hi'] }, history: [{ attempt: 1, node: 'w1' }] })
    expect((await rpc(me, 'me', 'jobs.get', { id: 'alpha-2' })).result).not.toHaveProperty('spec')
  })

  it('nodes.drain stops new assignments to a node; the worker publishes draining', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'w1', slots: 2 })
    const admin = await plain('admin')
    await admin.client.subscribeAsync(`${cluster.namespace}/nodes/+/state`, { qos: 1 })
    const drained = await rpc(admin, 'admin', 'nodes.drain', { id: 'w1' })
    expect(drained).toMatchObject({ ok: true, result: { id: 'w1', state: 'draining' } })
    await waitFor(() => json(admin, `${cluster.namespace}/nodes/w1/state`).some((m) => m.state === 'draining'), { timeoutMs: 15_000, what: 'w1 publishes draining' })
    submit(admin, 'admin', { id: 'after-drain', kind: 'noop' })
    await waitFor(() => json(admin, `${cluster.namespace}/reply/admin`).find((m) => m.jobId === 'after-drain' && m.state === 'waiting'), { timeoutMs: 15_000, what: 'waiting' })
    expect((await rpc(admin, 'admin', 'jobs.get', { id: 'after-drain' })).result).toMatchObject({ state: 'queued' })
    // A new worker takes it: draining is per node, not per cluster.
    await cluster.worker({ id: 'w2' })
    await waitFor(() => resultOf(admin, 'admin', 'after-drain'), { timeoutMs: 15_000, what: 'result from w2' })
    expect(resultOf(admin, 'admin', 'after-drain')).toMatchObject({ state: 'succeeded', node: 'w2' })
    expect(await rpc(admin, 'admin', 'nodes.drain', { id: 'nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  describe('with --auth', () => {
    const tmp = tempDir()
    let usersFile: string
    beforeAll(async () => {
      usersFile = await writeUsersFile(tmp.dir)
    })
    afterAll(() => tmp.remove())

    it('only admin reads master/stats and master/jobs, and only admin drains', async () => {
      cluster = await TestCluster.start({ authFile: usersFile })
      await cluster.worker({ id: 'w1', ...login('w1') })
      const alice = await plain('alice', login('alice'))
      const root = await plain('root', login('root'))
      for (const topic of ['master/stats', 'master/jobs', 'master/#', '+/master/stats']) {
        expect(await grantOf(alice, `${cluster.namespace}/${topic}`), topic).toBe(128)
      }
      expect(await grantOf(root, `${cluster.namespace}/master/stats`)).toBe(1)
      expect(await grantOf(root, `${cluster.namespace}/master/jobs`)).toBe(1)
      await waitFor(() => root.messages.some((m) => m.topic.endsWith('/master/stats')), { timeoutMs: 15_000, what: 'admin gets stats' })
      expect(await rpc(alice, 'alice', 'nodes.drain', { id: 'w1' })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } })
      // alice's list filters see alice's jobs only.
      submit(alice, 'alice', { id: 'a-1', kind: 'noop' })
      submit(root, 'root', { id: 'a-2', kind: 'noop' })
      await waitFor(() => resultOf(alice, 'alice', 'a-1') && resultOf(root, 'root', 'a-2'), { timeoutMs: 15_000, what: 'both results' })
      expect((await rpc(alice, 'alice', 'jobs.list', { idPrefix: 'a-' })).result.map((j: { id: string }) => j.id)).toEqual(['a-1'])
      expect((await rpc(alice, 'alice', 'jobs.list', { idPrefix: 'a-2' })).result).toEqual([])
      expect((await rpc(root, 'root', 'jobs.list', { idPrefix: 'a-' })).result).toHaveLength(2)
    })
  })
})
