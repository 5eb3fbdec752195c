import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EdgerunClient } from '../../src/client/client.js'
import { topics, type JobReply } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'
import { fire, grantOf, login, passwordOf, rawClient, tempDir, writeUsersFile, type RawClient } from './helpers.js'

describe('users, roles and the ACL with --auth (docs/security.md)', () => {
  const tmp = tempDir()
  let usersFile: string
  let cluster: TestCluster
  const raws: RawClient[] = []
  beforeAll(async () => {
    usersFile = await writeUsersFile(tmp.dir)
  })
  afterAll(() => tmp.remove())
  afterEach(async () => {
    await Promise.all(raws.splice(0).map((raw) => raw.end()))
    await cluster?.close()
  })

  async function start() {
    cluster = await TestCluster.start({ authFile: usersFile })
    return cluster
  }
  async function raw(name: string | undefined, extra: Parameters<typeof rawClient>[1] = {}) {
    const client = await rawClient(cluster.url, { ...(name ? login(name) : {}), clientId: `${name ?? 'anon'}-${Math.random().toString(36).slice(2, 8)}`, ...extra })
    raws.push(client)
    return client
  }
  async function nodeOnline(admin: EdgerunClient, id: string) {
    await waitFor(async () => (await admin.listNodes()).some((n) => n.id === id && n.state === 'online'), { what: `${id} online` })
  }

  it('workers and clients log in and run jobs; a client sees, follows and cancels only its own jobs', async () => {
    await start()
    await cluster.worker({ id: 'w1', ...login('w1') })
    const admin = await cluster.client(login('root'))
    const alice = await cluster.client(login('alice'))
    const bob = await cluster.client(login('bob'))
    expect(alice.replyTo).toBe(topics.reply(cluster.namespace, 'alice'))
    await nodeOnline(admin, 'w1')

    expect(await alice.submit({ id: 'a-1', kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'w1' })
    expect(await bob.submit({ id: 'b-1', kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded' })

    expect((await alice.listJobs()).map((j) => j.id)).toEqual(['a-1'])
    expect((await bob.listJobs()).map((j) => j.id)).toEqual(['b-1'])
    expect((await admin.listJobs()).map((j) => j.id).sort()).toEqual(['a-1', 'b-1'])
    expect((await admin.getJob('a-1')).owner).toBe('alice')
    await expect(alice.getJob('b-1')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(alice.cancelJob('b-1')).rejects.toMatchObject({ code: 'NOT_FOUND' })

    // Following: its own job yes; bob's is refused by the broker (SUBACK 0x80).
    expect(await alice.follow('a-1')).toMatchObject({ type: 'result', jobId: 'a-1' })
    // (src/net/connection.ts maps a refused SUBACK to NOT_AUTHORIZED only once it reads mqtt.js 5's
    // error code 128; until then the rejection is mqtt.js's own "Subscribe error".)
    await expect(alice.follow('b-1')).rejects.toThrow()

    // Cancel: its own queued job yes, bob's no.
    await cluster.workers[0]!.close({ drainTimeoutMs: 0 })
    cluster.workers.length = 0
    void bob.submit({ id: 'b-queued', kind: 'noop' })
    void alice.submit({ id: 'a-queued', kind: 'noop' })
    await waitFor(async () => (await admin.listJobs({ state: 'queued' })).length === 2, { what: 'two queued' })
    await expect(alice.cancelJob('b-queued')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await alice.cancelJob('a-queued')).toMatchObject({ id: 'a-queued', state: 'canceled' })
    expect((await admin.getJob('b-queued')).state).toBe('queued')
    expect(cluster.broker.security.counters.get('subscribe_denied')).toBe(1)
  })

  it('a bad password, an unknown user or no credentials get "not authorized"', async () => {
    await start()
    for (const credentials of [{ username: 'alice', password: 'wrong' }, { username: 'mallory', password: 'x' }, {}]) {
      await expect(EdgerunClient.connect({ url: cluster.url, namespace: cluster.namespace, connectTimeoutMs: 3000, ...credentials })).rejects.toMatchObject({
        code: 'NOT_AUTHORIZED',
        message: expect.stringContaining('not authorized: check --username/--password'),
      })
    }
    // The raw CONNACK is return code 5.
    await expect(rawClient(cluster.url, { username: 'alice', password: 'nope' })).rejects.toMatchObject({ code: 5 })
    expect(cluster.broker.security.counters.get('auth_failed')).toBe(4)
  })

  it('a worker cannot speak for another node: its events for w2 close its connection', async () => {
    await start()
    const admin = await cluster.client(login('root'))
    await cluster.worker({ id: 'w2', ...login('w2') })
    await nodeOnline(admin, 'w2')
    const events: JobReply[] = []
    const job = admin.submit({ id: 'victim', kind: 'noop', sleepMs: 300 }, { onEvent: (e) => events.push(e) })
    await waitFor(() => events.find((e) => e.type === 'progress' && e.state === 'running'), { what: 'running on w2' })
    const w1 = await raw('w1')
    fire(w1, topics.nodeEvents(cluster.namespace, 'w2'), JSON.stringify({ v: 1, type: 'result', jobId: 'victim', attempt: 1, epoch: 'x.1', state: 'failed', output: null }))
    await w1.waitClosed('w1 disconnected')
    // The real result wins; the spoof never reached the master.
    expect(await job).toMatchObject({ type: 'result', state: 'succeeded', node: 'w2' })
    expect(cluster.broker.master.counter('ignored_result_not_assigned')).toBe(0)
    expect(cluster.broker.security.counters.get('publish_denied')).toBe(1)
  })

  it('a worker whose --id is not its username cannot join', async () => {
    await start()
    // Its will (a retained offline on nodes/w2/state) is not its to publish: CONNACK 5.
    await expect(cluster.worker({ id: 'w2', ...login('w1') })).rejects.toMatchObject({ code: 'NOT_AUTHORIZED' })
    expect(cluster.broker.security.counters.get('will_denied')).toBe(1)
  })

  it('worker and client subscriptions outside their role are refused with SUBACK 0x80', async () => {
    await start()
    const ns = cluster.namespace
    const w1 = await raw('w1')
    expect(await grantOf(w1, topics.nodeAssign(ns, 'w1'))).toBe(1)
    expect(await grantOf(w1, topics.masterState(ns))).toBe(1)
    for (const filter of ['#', `${ns}/#`, topics.nodeAssign(ns, 'w2'), `${ns}/nodes/+/events`, topics.submit(ns), '$SYS/#']) {
      expect(await grantOf(w1, filter), filter).toBe(128)
    }
    const alice = await raw('alice')
    expect(await grantOf(alice, topics.reply(ns, 'alice'))).toBe(1)
    expect(await grantOf(alice, `${ns}/nodes/+/state`)).toBe(1)
    for (const filter of ['#', `${ns}/#`, topics.reply(ns, 'bob'), `${ns}/reply/+`, `${ns}/jobs/+/events`, topics.submit(ns), topics.rpc(ns), topics.nodeAssign(ns, 'w1')]) {
      expect(await grantOf(alice, filter), filter).toBe(128)
    }
    // Refused subscriptions leave the connection up.
    expect(alice.closed() || w1.closed()).toBe(false)
    const root = await raw('root')
    expect(await grantOf(root, '#')).toBe(1)
  })

  it('a client may submit only with its own replyTo: another client\'s or # closes its connection and makes no job', async () => {
    await start()
    const ns = cluster.namespace
    const admin = await cluster.client(login('root'))
    for (const replyTo of [topics.reply(ns, 'bob'), '#', `${ns}/reply/+`]) {
      const alice = await raw('alice')
      fire(alice, topics.submit(ns), JSON.stringify({ v: 1, type: 'submit', id: `hijack-${raws.length}`, kind: 'noop', replyTo }))
      await alice.waitClosed(`alice disconnected for replyTo ${replyTo}`)
    }
    const alice = await raw('alice')
    fire(alice, topics.rpc(ns), JSON.stringify({ v: 1, type: 'rpc', id: 'r', method: 'jobs.list', replyTo: topics.reply(ns, 'bob') }))
    await alice.waitClosed('alice disconnected for an rpc with bob\'s replyTo')
    expect(await admin.listJobs()).toEqual([])
    expect(cluster.broker.security.counters.get('publish_denied')).toBe(4)
    // The broker's refusals are in the stats rpc too, for whoever watches the cluster.
    expect((await admin.stats()).refused).toMatchObject({ publish_denied: 4 })
  })

  it('a client cannot take a job id that belongs to another client: rejected NOT_AUTHORIZED, connection kept', async () => {
    await start()
    const bob = await cluster.client(login('bob'))
    void bob.submit({ id: 'bobs', kind: 'noop' })
    const admin = await cluster.client(login('root'))
    await waitFor(async () => (await admin.getJob('bobs').catch(() => undefined))?.owner === 'bob', { what: 'bob\'s job stored' })
    const alice = await cluster.client(login('alice'))
    expect(await alice.submit({ id: 'bobs', kind: 'noop' })).toMatchObject({ type: 'rejected', jobId: 'bobs', code: 'NOT_AUTHORIZED' })
    // Her connection stays up and her own jobs go on.
    expect(await alice.submit({ id: 'alices', kind: 'noop', wait: false }).then((r) => r.type)).not.toBe('rejected-by-disconnect')
    expect((await admin.getJob('bobs')).owner).toBe('bob')
  })

  it('retained publishes: only a worker\'s own state; a retained submit or event closes the connection', async () => {
    await start()
    const ns = cluster.namespace
    const w1 = await raw('w1')
    await w1.client.publishAsync(topics.nodeState(ns, 'w1'), '', { qos: 1, retain: true })
    expect(w1.closed()).toBe(false)
    fire(w1, topics.nodeEvents(ns, 'w1'), '{}', { retain: true })
    await w1.waitClosed('retained event refused')
    const root = await raw('root')
    fire(root, topics.submit(ns), JSON.stringify({ v: 1, type: 'submit', id: 'sticky', kind: 'noop', replyTo: topics.reply(ns, 'root') }), { retain: true })
    await root.waitClosed('retained submit refused, even for an admin')
  })

  it('non-admins live in the served namespace only; admins anywhere', async () => {
    await start()
    const alice = await raw('alice')
    fire(alice, topics.submit('elsewhere'), JSON.stringify({ v: 1, type: 'submit', id: 'x', kind: 'noop', replyTo: topics.reply('elsewhere', 'alice') }))
    await alice.waitClosed('alice outside the namespace')
    const root = await raw('root')
    await root.client.publishAsync(topics.submit('elsewhere'), 'anything', { qos: 1 })
    expect(root.closed()).toBe(false)
  })

  it('a will the user may not publish refuses the connection', async () => {
    await start()
    const ns = cluster.namespace
    await expect(
      rawClient(cluster.url, { ...login('alice'), will: { topic: topics.submit(ns), payload: Buffer.from('{}'), qos: 1, retain: false } }),
    ).rejects.toMatchObject({ code: 5 })
    await expect(
      rawClient(cluster.url, { ...login('w1'), will: { topic: topics.nodeState(ns, 'w2'), payload: Buffer.from('{}'), qos: 1, retain: true } }),
    ).rejects.toMatchObject({ code: 5 })
    const ok = await rawClient(cluster.url, { ...login('w1'), will: { topic: topics.nodeState(ns, 'w1'), payload: Buffer.from(''), qos: 1, retain: true } })
    raws.push(ok)
    expect(cluster.broker.security.counters.get('will_denied')).toBe(2)
  })

  it('one user cannot take over another user\'s MQTT client id (and kick it off)', async () => {
    await start()
    const alice = await raw('alice', { clientId: 'shared-id' })
    await expect(rawClient(cluster.url, { ...login('bob'), clientId: 'shared-id' })).rejects.toMatchObject({ code: 2 })
    expect(alice.closed()).toBe(false)
    // The same user may replace its own session, as MQTT says.
    const again = await raw('alice', { clientId: 'shared-id' })
    await alice.waitClosed('the older alice session replaced')
    expect(again.closed()).toBe(false)
  })

  it('passwords are stored hashed, never in plain text', async () => {
    const { readFileSync } = await import('node:fs')
    const text = readFileSync(usersFile, 'utf8')
    for (const name of ['root', 'alice', 'w1']) expect(text).not.toContain(passwordOf(name))
    expect(JSON.parse(text).users.alice.hash).toMatch(/^scrypt\$1024\$8\$1\$/)
  })
})
