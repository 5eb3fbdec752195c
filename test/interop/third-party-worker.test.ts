import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { waitFor } from '../helpers/wait.js'

const SCRIPT = fileURLToPath(new URL('./third-party-worker.mjs', import.meta.url))

type Message = Record<string, unknown> & { type?: string; jobId?: string; state?: string; op?: string; epoch?: string }

/**
 * The whole cluster as a third party sees it: a worker written from docs/protocol.md alone (plain
 * mqtt.js, hard-coded topics and JSON), a submitter that publishes raw JSON, and a watcher on the
 * worker's topics. Only the broker-master is edgerun's.
 */
describe('a third-party worker written from docs/protocol.md alone (docs/protocol.md §13)', () => {
  let cluster: TestCluster
  let proxy: FaultProxy
  let worker: ChildProcess | undefined
  const clients: MqttClient[] = []
  afterEach(async () => {
    worker?.kill('SIGKILL')
    worker = undefined
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
    await cluster?.close()
    await proxy?.close()
  })

  /** Starts the cluster, the watcher, the submitter (reply topic `{ns}/reply/me`) and the worker behind a fault proxy. */
  async function setup() {
    cluster = await TestCluster.start()
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: cluster.broker.port } })
    const ns = cluster.namespace
    const seen: Array<{ topic: string; message: Message }> = []
    const replies: Message[] = []
    const watcher = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    clients.push(watcher)
    watcher.on('message', (topic, payload) => seen.push({ topic, message: JSON.parse(payload.toString()) }))
    await watcher.subscribeAsync([`${ns}/nodes/tp/state`, `${ns}/nodes/tp/events`, `${ns}/nodes/tp/control`], { qos: 1 })
    const submitter = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    clients.push(submitter)
    submitter.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString())))
    await submitter.subscribeAsync(`${ns}/reply/me`, { qos: 1 })

    let out = ''
    worker = spawn(process.execPath, [SCRIPT, '--url', proxy.url(), '--ns', ns, '--id', 'tp', '--slots', '2', '--command', 'echo=/bin/echo', '--command', 'sleep=/bin/sleep'], { stdio: ['ignore', 'pipe', 'pipe'] })
    worker.stdout!.on('data', (chunk) => (out += chunk))
    worker.stderr!.on('data', (chunk) => (out += chunk))
    const epoch = (await waitFor(() => /online (\S+)/.exec(out)?.[1], { timeoutMs: 10_000, what: `third-party worker online: ${out}` }))
    await waitFor(() => seen.some((s) => s.message.state === 'online' && s.message.epoch === epoch), { what: 'its birth' })

    const submit = (job: Record<string, unknown>) => submitter.publishAsync(`${ns}/submit`, JSON.stringify({ v: 1, type: 'submit', replyTo: `${ns}/reply/me`, ...job }), { qos: 1 })
    const rpc = (body: Record<string, unknown>) => submitter.publishAsync(`${ns}/rpc`, JSON.stringify({ v: 1, type: 'rpc', replyTo: `${ns}/reply/me`, ...body }), { qos: 1 })
    const result = (jobId: string) => waitFor(() => replies.find((r) => r.type === 'result' && r.jobId === jobId), { timeoutMs: 10_000, what: `result of ${jobId}` })
    /** What the worker said (`events`) or was told (`control`) about a job. */
    const about = (kind: 'events' | 'control', jobId: string, type?: string) =>
      seen.filter((s) => s.topic.endsWith(`/${kind}`) && s.message.jobId === jobId && (type === undefined || s.message.type === type || s.message.op === type)).map((s) => s.message)
    const births = (e: string) => seen.filter((s) => s.topic.endsWith('/state') && s.message.state === 'online' && s.message.epoch === e)
    return { ns, epoch, seen, replies, submit, rpc, result, about, births, output: () => out }
  }

  /** Jobs and what the docs say each reports (docs/protocol.md §8), on whichever worker runs them. */
  const JOBS: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{ id: 'tp-echo', kind: 'command', name: 'echo', args: ['hello', 'world'], progress: true, correlationId: 'c-1' }, { state: 'succeeded', attempts: 1, correlationId: 'c-1', output: { exitCode: 0, signal: null, stdout: 'hello world\n', stderr: '' } }],
    [{ id: 'tp-noop', kind: 'noop', sleepMs: 50 }, { state: 'succeeded', output: { ok: true } }],
    [{ id: 'tp-late', kind: 'noop', sleepMs: 5000, timeoutMs: 100 }, { state: 'timed_out', output: null, error: 'noop sleep of 5000 ms exceeds timeoutMs 100' }],
    [{ id: 'tp-false', kind: 'command', name: 'sleep', args: ['nope'] }, { state: 'failed', output: { exitCode: 1, signal: null }, error: 'exit code 1' }],
  ]

  it('serves command and noop jobs, each result acknowledged, the replies in order', async () => {
    const t = await setup()
    for (const [job] of JOBS) await t.submit(job)
    for (const [job, expected] of JOBS) expect(await t.result(job.id as string), job.id as string).toMatchObject({ ...expected, node: 'tp' })

    // Every reply about a job comes in the order the master decided it: the worker's own progress
    // after the master's `running`, which it follows.
    const order = t.replies.filter((r) => r.jobId === 'tp-echo').map((r) => (r.type === 'progress' ? r.state : r.type))
    expect(order).toEqual(['accepted', 'assigned', 'running', 'started', 'result'])
    for (const jobId of ['tp-echo', 'tp-noop', 'tp-late', 'tp-false']) {
      await waitFor(() => t.about('control', jobId, 'ack').length === 1, { what: `ack of ${jobId}` })
      expect(t.about('events', jobId, 'result')).toHaveLength(1)
    }
  })

  it('reports those jobs as the reference worker does', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ id: 'ref', commands: { echo: '/bin/echo', sleep: '/bin/sleep' } })
    const ns = cluster.namespace
    const replies: Message[] = []
    const submitter = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
    clients.push(submitter)
    submitter.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString())))
    await submitter.subscribeAsync(`${ns}/reply/me`, { qos: 1 })
    for (const [job] of JOBS) await submitter.publishAsync(`${ns}/submit`, JSON.stringify({ v: 1, type: 'submit', replyTo: `${ns}/reply/me`, ...job }), { qos: 1 })
    for (const [job, expected] of JOBS) {
      const result = await waitFor(() => replies.find((r) => r.type === 'result' && r.jobId === job.id), { timeoutMs: 10_000, what: `result of ${String(job.id)}` })
      expect(result, job.id as string).toMatchObject({ ...expected, node: 'ref' })
    }
  })

  it('survives a reconnect: one birth, the outbox resent once and then acknowledged', async () => {
    const t = await setup()
    await t.submit({ id: 'tp-r1', kind: 'noop', sleepMs: 300 })
    await waitFor(() => t.about('events', 'tp-r1', 'accepted').length > 0, { what: 'tp-r1 accepted' })
    // The result reaches the broker, its ack does not reach the worker: the link dies with it.
    const [link] = proxy.connections()
    link!.stall({ direction: 'down' })
    await waitFor(() => t.about('control', 'tp-r1', 'ack').length > 0, { what: 'tp-r1 result recorded and acknowledged' })
    link!.cut()
    expect(await t.result('tp-r1')).toMatchObject({ state: 'succeeded', node: 'tp' })

    const next = `${t.epoch.slice(0, t.epoch.lastIndexOf('.'))}.2`
    await waitFor(() => t.births(next).length > 0, { what: 'birth of the second connection' })
    // A later job is the barrier: whatever the worker said on reconnecting came before it.
    await t.submit({ id: 'tp-r2', kind: 'noop' })
    expect(await t.result('tp-r2')).toMatchObject({ state: 'succeeded' })
    await waitFor(() => t.about('control', 'tp-r2', 'ack').length === 1, { what: 'ack of tp-r2' })
    expect(t.births(next)).toHaveLength(1)
    expect(t.births(t.epoch)).toHaveLength(1)
    expect(t.about('events', 'tp-r1', 'result')).toHaveLength(2) // sent, and resent once
    expect(t.about('control', 'tp-r1', 'ack')).toHaveLength(2) // the resend, of a final job, acknowledged too
    expect(t.replies.filter((r) => r.type === 'result' && r.jobId === 'tp-r1')).toHaveLength(1)
  })

  it('stops a canceled job and never reports it', async () => {
    const t = await setup()
    await t.submit({ id: 'tp-c1', kind: 'command', name: 'sleep', args: ['30'] })
    await waitFor(() => t.about('events', 'tp-c1', 'accepted').length > 0, { what: 'tp-c1 accepted' })
    await t.rpc({ id: 'r-cancel', method: 'jobs.cancel', params: { id: 'tp-c1' } })
    expect(await t.result('tp-c1')).toMatchObject({ state: 'canceled', output: null })
    await waitFor(() => t.about('control', 'tp-c1', 'cancel').length === 1, { what: 'cancel sent to the worker' })
    await t.submit({ id: 'tp-c2', kind: 'noop' })
    expect(await t.result('tp-c2')).toMatchObject({ state: 'succeeded', node: 'tp' })
    await waitFor(() => t.about('control', 'tp-c2', 'ack').length === 1, { what: 'ack of tp-c2' })
    expect(t.about('events', 'tp-c1', 'result')).toEqual([])

    // A graceful stop: draining, then offline with reason shutdown, then DISCONNECT (no will).
    const exited = new Promise((resolve) => worker!.once('exit', resolve))
    worker!.kill('SIGTERM')
    expect(await exited).toBe(0)
    await waitFor(() => t.seen.some((s) => s.topic.endsWith('/state') && s.message.state === 'offline'), { what: 'offline seen' })
    const states = t.seen.filter((s) => s.topic.endsWith('/state') && s.message.epoch === t.epoch).map((s) => [s.message.state, s.message.reason])
    expect(states).toEqual([['online', undefined], ['draining', undefined], ['offline', 'shutdown']])
  })
})
