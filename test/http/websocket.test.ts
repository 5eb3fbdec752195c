import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, type ClientOptions } from 'ws'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'
import { fire, grantOf, login, rawClient, tempDir, writeUsersFile, type RawClient } from '../security/helpers.js'
import { get, parseMetrics, total } from './scrape.js'

/**
 * MQTT over WebSocket at /mqtt (docs/protocol.md, "Transports"): a plain mqtt.js client on
 * ws:// speaking only the protocol, held to the same authentication and ACL as on TCP.
 */
describe('/mqtt: MQTT over WebSocket', () => {
  const tmp = tempDir('edgerun-ws-')
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

  const wsUrl = () => `ws://127.0.0.1:${cluster.broker.http!.port}/mqtt`
  async function raw(name: string | undefined, extra: Parameters<typeof rawClient>[1] = {}) {
    const client = await rawClient(wsUrl(), { ...(name ? login(name) : {}), clientId: `${name ?? 'anon'}-${Math.random().toString(36).slice(2, 8)}`, ...extra })
    raws.push(client)
    return client
  }

  it('a client logs in, submits over the protocol and gets its result; the ACL holds it to its own topics', async () => {
    cluster = await TestCluster.start({ authFile: usersFile, http: { port: 0 } })
    const ns = cluster.namespace
    await cluster.worker({ id: 'w1', ...login('w1') })
    const alice = await raw('alice')
    expect(await grantOf(alice, topics.reply(ns, 'alice'))).toBe(1)
    // Another client's replies, every job's events, the submit topic: refused (SUBACK 0x80).
    for (const filter of [topics.reply(ns, 'bob'), `${ns}/jobs/+/events`, topics.submit(ns), '#']) expect(await grantOf(alice, filter), filter).toBe(128)

    await waitFor(async () => (await get(`${cluster.broker.http!.url}/metrics`)).text.includes('edgerun_nodes{state="online"} 1'), { what: 'w1 online' })
    fire(alice, topics.submit(ns), JSON.stringify({ v: 1, type: 'submit', id: 'over-ws', kind: 'noop', replyTo: topics.reply(ns, 'alice') }))
    const result = await waitFor(() => alice.messages.map((m) => JSON.parse(m.payload.toString())).find((m) => m.type === 'result' && m.jobId === 'over-ws'), { what: 'the result over WebSocket' })
    expect(result).toMatchObject({ state: 'succeeded', node: 'w1' })
    // The WebSocket connection counts like any other: w1 and alice.
    expect(total(parseMetrics((await get(`${cluster.broker.http!.url}/metrics`)).text), 'edgerun_mqtt_connections')).toBe(2)

    // A publish the ACL forbids closes the connection, as on TCP.
    fire(alice, topics.nodeEvents(ns, 'w1'), JSON.stringify({ v: 1, type: 'result', jobId: 'over-ws', attempt: 1, epoch: 'x.1', state: 'failed', output: null }))
    expect(await alice.waitClosed('alice dropped')).toBe(true)
    expect(cluster.broker.security.counters.get('publish_denied')).toBe(1)
  })

  it('a wrong password, an unknown user or none: not authorized', async () => {
    cluster = await TestCluster.start({ authFile: usersFile, http: { port: 0 } })
    for (const credentials of [{ username: 'alice', password: 'wrong' }, { username: 'mallory', password: 'x' }, {}]) {
      await expect(raw(undefined, credentials)).rejects.toThrow(/Not authorized/i)
    }
    expect(cluster.broker.security.counters.get('auth_failed')).toBe(3)
  })

  it('a browser page of another origin cannot open /mqtt; the dashboard\'s own origin can', async () => {
    cluster = await TestCluster.start({ http: { port: 0 } })
    expect(await upgradeStatus(wsUrl(), { origin: 'http://evil.example' })).toBe(403)
    expect(await upgradeStatus(wsUrl(), { headers: { host: `evil.example:${cluster.broker.http!.port}` } })).toBe(403)
    await expect(raw(undefined, { wsOptions: { origin: 'http://evil.example' } })).rejects.toThrow()
    expect(await upgradeStatus(wsUrl(), { origin: `http://localhost:${cluster.broker.http!.port}`, headers: { host: `localhost:${cluster.broker.http!.port}` } })).toBe(101)
    const own = await raw(undefined, { wsOptions: { origin: `http://127.0.0.1:${cluster.broker.http!.port}` } })
    expect(own.closed()).toBe(false)
  })

  it('a packet over --max-packet-size closes the WebSocket connection', async () => {
    cluster = await TestCluster.start({ http: { port: 0 }, maxPacketBytes: 2048 })
    const client = await raw(undefined)
    fire(client, topics.submit(cluster.namespace), 'x'.repeat(4096))
    expect(await client.waitClosed('closed for its size')).toBe(true)
    expect(cluster.broker.security.counters.get('packet_too_large')).toBe(1)
  })
})

/** The HTTP status a WebSocket upgrade gets: 101 when it is accepted. */
function upgradeStatus(url: string, options: ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt', options)
    ws.once('upgrade', (response) => {
      resolve(response.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      response.destroy()
    })
    ws.once('error', reject)
  })
}
