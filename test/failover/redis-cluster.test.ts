import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { requireBinary } from '../helpers/binaries.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { MasterGroup } from '../helpers/masters.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { usePostgres } from '../helpers/postgres.js'
import { spawnClusteredBroker, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { startRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

/**
 * docs/deploy.md's third topology: two Aedes brokers clustered over Redis, a master on each (an
 * `edgerun master --url` of its own broker, or the broker's own with `--store postgres://`), on
 * one Postgres store; workers and a plain mqtt.js submitter. The active master is killed -9
 * under load (with its broker, in the second case): the master on the other broker takes over,
 * and every job ends with exactly one result.
 */
const server = usePostgres()

const clusteredBroker = (port: number, redisPort: number, ns: string, store = ['--no-master', '--memory']): Promise<CliProcess> =>
  spawnClusteredBroker(port, `redis://127.0.0.1:${redisPort}`, ns, [...store, '--log-level', 'info', '--no-http'])

describe('failover on two Aedes brokers clustered over Redis', () => {
  const children: Array<ChildProcess | CliProcess> = []
  let masters: MasterGroup | undefined
  const submitters: PlainSubmitter[] = []
  afterEach(async () => {
    await Promise.all(submitters.splice(0).map((s) => s.close()))
    await masters?.close()
    for (const child of children.splice(0)) child.kill('SIGKILL')
  })

  it('kill -9 of the active master: the master on the other broker takes over, and every job ends with one result', async () => {
    const redisPort = await freePort()
    children.push(await startRedis(requireBinary('redis-server'), redisPort))
    const ns = uniqueNamespace('focluster')
    const [portA, portB] = [await freePort(), await freePort()]
    children.push(await clusteredBroker(portA, redisPort, ns), await clusteredBroker(portB, redisPort, ns))
    const urls = [`mqtt://127.0.0.1:${portA}`, `mqtt://127.0.0.1:${portB}`] as const
    masters = await MasterGroup.start(urls[0], ns, await server.createSchema(), 0)
    await masters.spawn(urls[0])
    await masters.spawn(urls[1])
    const first = await masters.waitActive()
    children.push(await spawnWorker(urls[0], ns, 'on-a', ['--slots', '4']), await spawnWorker(urls[1], ns, 'on-b', ['--slots', '4']))
    for (const [i, url] of urls.entries()) submitters.push(await PlainSubmitter.connect(url, ns, `sub${i}`))
    const ids: string[] = []
    const submit = (n: number, prefix: string) => {
      for (let i = 0; i < n; i++) {
        const id = `${prefix}${ids.length}`
        ids.push(id)
        submitters[ids.length % 2]!.submit({ id, kind: 'noop', sleepMs: 10 })
      }
    }
    const resultOf = (id: string) => submitters.find((s) => s.repliesOf(id).length > 0)?.resultOf(id)
    submit(300, 'c')
    await waitFor(() => ids.filter((id) => resultOf(id)).length >= 60, { timeoutMs: 30_000, what: 'results flowing' })
    const victim = masters.processOf(first.pid)!
    victim.kill('SIGKILL')
    // Submits while no master is active, on both brokers: the standby's buffer admits them.
    for (let i = 0; i < 10; i++) {
      submit(10, 'g')
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
    const second = await masters.waitActive(first.term, 15_000)
    expect(second.pid).not.toBe(first.pid)
    await waitFor(() => ids.every((id) => resultOf(id)), { timeoutMs: 60_000, what: `every result; missing ${ids.filter((id) => !resultOf(id)).length} ${masters.outputs()}` })
    const results = ids.map((id) => submitters.flatMap((s) => s.resultsOf(id)))
    expect({ missing: results.filter((r) => r.length === 0).length, duplicated: results.filter((r) => r.length > 1).length }).toEqual({ missing: 0, duplicated: 0 })
    expect(results.filter((r) => r[0]!.state !== 'succeeded')).toEqual([])
    expect(submitters.map((s) => s.connects)).toEqual([1, 1])
  }, 120_000)

  it('`edgerun broker --redis … --store postgres://…` on two brokers elects one master; kill -9 of its broker hands over to the other', async () => {
    const redisPort = await freePort()
    children.push(await startRedis(requireBinary('redis-server'), redisPort))
    const ns = uniqueNamespace('foembed')
    const storeUrl = await server.createSchema()
    const [portA, portB] = [await freePort(), await freePort()]
    const a = await clusteredBroker(portA, redisPort, ns, ['--store', storeUrl])
    children.push(a)
    await waitFor(() => a.output().includes('(active, term 1)'), { timeoutMs: 15_000, what: `broker A's master active: ${a.output()}` })
    const b = await clusteredBroker(portB, redisPort, ns, ['--store', storeUrl])
    children.push(b)
    const urlB = `mqtt://127.0.0.1:${portB}`
    masters = await MasterGroup.start(urlB, ns, storeUrl, 0)
    const first = await masters.waitActive()
    expect(first.pid).toBe(a.child.pid)
    await waitFor(() => masters!.own.size === 2, { what: 'both masters\' own states' })
    // Everyone on broker B: broker A, with the active master inside it, is the one that dies.
    children.push(await spawnWorker(urlB, ns, 'w0', ['--slots', '4']), await spawnWorker(urlB, ns, 'w1', ['--slots', '4']))
    const sub = await PlainSubmitter.connect(urlB, ns, 'sub')
    submitters.push(sub)
    const ids = Array.from({ length: 300 }, (_, i) => `e${i}`)
    for (const id of ids) sub.submit({ id, kind: 'noop', sleepMs: 10 })
    await waitFor(() => ids.filter((id) => sub.resultOf(id)).length >= 60, { timeoutMs: 30_000, what: 'results flowing' })
    a.kill('SIGKILL')
    for (let i = 0; i < 100; i++) {
      const id = `g${i}`
      ids.push(id)
      sub.submit({ id, kind: 'noop', sleepMs: 10 })
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 30))
    }
    const second = await masters.waitActive(first.term, 15_000)
    expect(second.pid).toBe(b.child.pid)
    expect(b.output()).toMatch(/serving namespace .* \(active, term \d+\)/)
    await waitFor(() => ids.every((id) => sub.resultOf(id)), { timeoutMs: 60_000, what: `every result; missing ${ids.filter((id) => !sub.resultOf(id)).length} ${b.output().slice(-3000)}` })
    expect({ missing: ids.filter((id) => sub.resultsOf(id).length === 0).length, duplicated: ids.filter((id) => sub.resultsOf(id).length > 1).length }).toEqual({ missing: 0, duplicated: 0 })
    expect(ids.filter((id) => sub.resultOf(id)!.state !== 'succeeded')).toEqual([])
    expect(sub.connects).toBe(1)
  }, 120_000)

  it('only the broker of the active master dies, the master lives on: it gives the lease up, and the master on the other broker takes over', async () => {
    const redisPort = await freePort()
    children.push(await startRedis(requireBinary('redis-server'), redisPort))
    const ns = uniqueNamespace('fodeaf')
    const [portA, portB] = [await freePort(), await freePort()]
    const brokerA = await clusteredBroker(portA, redisPort, ns)
    children.push(brokerA, await clusteredBroker(portB, redisPort, ns))
    const urls = [`mqtt://127.0.0.1:${portA}`, `mqtt://127.0.0.1:${portB}`] as const
    // Watched from broker B, which outlives broker A.
    masters = await MasterGroup.start(urls[1], ns, await server.createSchema(), 0)
    const deaf = await masters.spawn(urls[0])
    const first = await masters.waitActive()
    expect(first.pid).toBe(deaf.child.pid)
    await masters.spawn(urls[1])
    await waitFor(() => masters!.own.size === 2, { what: "both masters' own states" })
    children.push(await spawnWorker(urls[1], ns, 'wb', ['--slots', '4']))
    const sub = await PlainSubmitter.connect(urls[1], ns, 'sub')
    submitters.push(sub)
    sub.submit({ id: 'before', kind: 'noop' })
    await waitFor(() => sub.resultOf('before'), { timeoutMs: 15_000, what: 'a result before' })
    brokerA.kill('SIGKILL')
    // Its master still runs, and Postgres still renews its lease: nothing but the lost broker
    // link tells it that it serves nobody.
    sub.submit({ id: 'after', kind: 'noop' })
    const second = await masters.waitActive(first.term, 30_000)
    expect(second.pid).not.toBe(first.pid)
    await waitFor(() => /no connection to the broker/.test(deaf.output()), { timeoutMs: 10_000, what: `the deaf master stepping down: ${deaf.output().slice(-2000)}` })
    expect(deaf.child.exitCode).toBeNull()
    await waitFor(() => sub.resultOf('after'), { timeoutMs: 30_000, what: `the result submitted after the loss; ${masters.outputs()}` })
    expect(sub.resultsOf('after')).toHaveLength(1)
    expect(sub.resultsOf('before')).toHaveLength(1)
  }, 120_000)
})
