import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION, encode, nodeStateSchema, topics, type NodeStateMessage } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

function retainedState(url: string, topic: string, timeoutMs = 2000): Promise<NodeStateMessage | undefined> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0 })
    const timer = setTimeout(() => {
      client.end(true)
      resolve(undefined)
    }, timeoutMs)
    client.on('error', reject)
    client.on('message', (_topic, payload) => {
      clearTimeout(timer)
      client.end(true)
      resolve(nodeStateSchema.parse(JSON.parse(payload.toString())))
    })
    client.subscribe(topic)
  })
}

function birth(epoch: string, state: 'online' | 'offline'): Buffer {
  return encode({
    v: PROTOCOL_VERSION,
    type: 'node',
    state,
    epoch,
    slots: 1,
    labels: [],
    capabilities: { languages: [], commands: [] },
    running: [],
    version: 'test',
    ts: Date.now(),
  })
}

describe('liveness (docs/protocol.md §9)', () => {
  let cluster: TestCluster
  const processes: CliProcess[] = []
  let proxy: FaultProxy | undefined
  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill()
    await cluster?.close()
    await proxy?.close()
    proxy = undefined
  })

  it('a kill -9 of a real worker reads offline (same epoch) within 1 s, to a fresh subscriber too', async () => {
    cluster = await TestCluster.start()
    const worker = await spawnWorker(cluster.url, cluster.namespace, 'victim')
    processes.push(worker)
    const topic = topics.nodeState(cluster.namespace, 'victim')
    const before = await retainedState(cluster.url, topic)
    expect(before?.state).toBe('online')
    const killedAt = Date.now()
    worker.kill('SIGKILL')
    const after = await waitFor(async () => {
      const state = await retainedState(cluster.url, topic, 200)
      return state?.state === 'offline' ? state : undefined
    }, { timeoutMs: 1000, what: 'retained offline' })
    expect(Date.now() - killedAt).toBeLessThan(1000)
    expect(after.epoch).toBe(before!.epoch)
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'victim')?.state === 'offline', { timeoutMs: 1000, what: 'master sees offline' })
  })

  it('a stale will (older epoch) delivered after a newer birth leaves the node online', async () => {
    cluster = await TestCluster.start()
    const raw = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    const topic = topics.nodeState(cluster.namespace, 'flappy')
    await raw.publishAsync(topic, birth('inst.2', 'online'), { qos: 1, retain: true })
    await raw.publishAsync(topic, birth('inst.1', 'offline'), { qos: 1, retain: true })
    const client = await cluster.client()
    const node = await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'flappy'), { what: 'node known' })
    expect(node.state).toBe('online')
    expect(node.epoch).toBe('inst.2')
    await raw.endAsync()
  })

  it('a worker that sees a stale will of its own republishes its birth', async () => {
    cluster = await TestCluster.start()
    const worker = await cluster.worker({ id: 'self-heal' })
    const topic = topics.nodeState(cluster.namespace, 'self-heal')
    const raw = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    await raw.publishAsync(topic, birth(`${worker.instance}.0`, 'offline'), { qos: 1, retain: true })
    await waitFor(async () => (await retainedState(cluster.url, topic, 200))?.state === 'online', { timeoutMs: 2000, what: 'birth republished' })
    await raw.endAsync()
  })

  it('a second worker with the id of a live one is refused', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'dup', claimWaitMs: 100 })
    await expect(cluster.worker({ id: 'dup', claimWaitMs: 300 })).rejects.toMatchObject({ code: 'DUPLICATE_NODE' })
  })

  it('a plain reconnect sends one birth and resends the outbox once, as a plain subscriber sees it', async () => {
    cluster = await TestCluster.start()
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: cluster.broker.port } })
    const ns = cluster.namespace
    const seen: Array<{ topic: string; message: Record<string, unknown> }> = []
    const watcher = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    watcher.on('message', (topic, payload) => seen.push({ topic, message: JSON.parse(payload.toString()) }))
    await watcher.subscribeAsync([`${ns}/nodes/rc/state`, `${ns}/nodes/rc/events`, `${ns}/nodes/rc/control`], { qos: 1 })
    const worker = await cluster.worker({ id: 'rc', url: proxy.url() })
    const client = await cluster.client()
    const of = (type: string, jobId: string) => seen.filter((s) => s.message.type === type && (s.message.jobId === jobId || s.message.op === 'ack' && s.message.jobId === jobId))
    const births = (epoch: string) => seen.filter((s) => s.topic.endsWith('/state') && s.message.state === 'online' && s.message.epoch === epoch)

    // A result the broker has but whose ack never reaches the worker: the ack dies with the link.
    const first = client.submit({ id: 'rc-1', kind: 'noop', sleepMs: 300 })
    await waitFor(() => of('accepted', 'rc-1').length > 0, { what: 'rc-1 accepted' })
    const [link] = proxy.connections()
    link!.stall({ direction: 'down' })
    await waitFor(() => of('result', 'rc-1').length > 0 && of('control', 'rc-1').length > 0, { what: 'rc-1 result and its ack on the broker' })
    expect(worker.unacknowledged).toBe(1)
    link!.cut()
    expect(await first).toMatchObject({ type: 'result', state: 'succeeded' })

    await waitFor(() => births(`${worker.instance}.2`).length > 0, { what: 'birth of the second connection' })
    // Everything the worker said on reconnecting came before what it says about a later job.
    await client.submit({ id: 'rc-2', kind: 'noop' })
    await waitFor(() => of('control', 'rc-2').length > 0, { what: 'rc-2 acknowledged' })
    expect(births(`${worker.instance}.2`)).toHaveLength(1)
    expect(births(`${worker.instance}.1`)).toHaveLength(1)
    expect(of('result', 'rc-1')).toHaveLength(2) // sent, then resent once
    expect(of('control', 'rc-1')).toHaveLength(2) // both acknowledged: the job was final
    await waitFor(() => worker.unacknowledged === 0, { what: 'the outbox emptied' })
    await watcher.endAsync()
  })
})
