import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { Worker } from '../../src/worker/worker.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { freePort } from '../helpers/ports.js'
import { spawnBroker, type CliProcess } from '../helpers/processes.js'
import { runCli } from '../helpers/run-command.js'
import { waitFor, withTimeout } from '../helpers/wait.js'

type Message = Record<string, unknown> & { type: string }

/** A real `edgerun broker` (broker-master with its SQLite store in `dataDir`) serving `namespace`. */
async function startBroker(dataDir: string, namespace: string): Promise<{ process: CliProcess; url: string }> {
  const port = await freePort()
  return { process: await spawnBroker(port, dataDir, namespace), url: `mqtt://127.0.0.1:${port}` }
}

/** A plain mqtt.js client that speaks docs/protocol.md and keeps every reply it gets. */
async function plainClient(url: string, namespace: string, id: string): Promise<{ client: MqttClient; replies: Message[]; replyTo: string }> {
  const client = await mqtt.connectAsync(url, { clientId: id, reconnectPeriod: 0 })
  const replyTo = `${namespace}/reply/${id}`
  const replies: Message[] = []
  client.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString()) as Message))
  await client.subscribeAsync(replyTo, { qos: 1 })
  return { client, replies, replyTo }
}

describe('namespaces on one --data-dir (docs/storage.md, "Namespaces")', () => {
  const brokers: CliProcess[] = []
  const workers: Worker[] = []
  const clients: MqttClient[] = []
  let dataDir: string | undefined

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync()))
    await Promise.all(workers.splice(0).map((worker) => worker.close({ drainTimeoutMs: 0 })))
    for (const broker of brokers.splice(0)) broker.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  /** A broker of `namespace` on the data dir, a worker that can `say` (/bin/echo), and a plain client. */
  async function clusterOf(namespace: string) {
    const broker = await startBroker(dataDir!, namespace)
    brokers.push(broker.process)
    const worker = await Worker.start(
      { url: broker.url, namespace, id: `w-${namespace}`, judge: false, claimWaitMs: 50, commands: { say: '/bin/echo' } },
      { languages: [] },
    )
    workers.push(worker)
    const plain = await plainClient(broker.url, namespace, 'plain')
    clients.push(plain.client)
    const rpc = async (method: string, params: Record<string, unknown>): Promise<Message> => {
      const id = `rpc-${plain.replies.length}-${method}`
      await plain.client.publishAsync(`${namespace}/rpc`, JSON.stringify({ v: 1, type: 'rpc', id, method, params, replyTo: plain.replyTo }), { qos: 1 })
      return waitFor(() => plain.replies.find((m) => m.type === 'rpc' && m.correlationId === id), { timeoutMs: 5000, what: `${method} reply` })
    }
    const submit = async (spec: Record<string, unknown>): Promise<Message> => {
      await plain.client.publishAsync(`${namespace}/submit`, JSON.stringify({ v: 1, type: 'submit', replyTo: plain.replyTo, ...spec }), { qos: 1 })
      return waitFor(() => plain.replies.find((m) => m.type === 'result' && m.jobId === spec.id), { timeoutMs: 10_000, what: `the result of ${String(spec.id)}` })
    }
    const stop = async () => {
      await plain.client.endAsync()
      await worker.close({ drainTimeoutMs: 0 })
      broker.process.kill('SIGTERM')
      await withTimeout(broker.process.exited, 10_000, `broker ${namespace} stopping`)
    }
    return { url: broker.url, replies: plain.replies, rpc, submit, stop }
  }

  it('a broker of beta after one of alpha runs its own same-id job and lists none of alpha\'s', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgerun-ns-'))
    const alphaNs = uniqueNamespace('alpha')
    const betaNs = uniqueNamespace('beta')

    const alpha = await clusterOf(alphaNs)
    const alphaResult = await alpha.submit({ id: 'same-id', kind: 'command', name: 'say', args: ['from', 'alpha'] })
    expect(alphaResult).toMatchObject({ state: 'succeeded', output: { exitCode: 0, stdout: 'from alpha\n' } })
    await alpha.stop()

    const beta = await clusterOf(betaNs)
    const betaResult = await beta.submit({ id: 'same-id', kind: 'command', name: 'say', args: ['from', 'beta'] })
    expect(betaResult).toMatchObject({ state: 'succeeded', attempts: 1, node: `w-${betaNs}`, output: { exitCode: 0, stdout: 'from beta\n' } })
    // A new job to beta: admitted as one (not a duplicate of alpha's), and nothing of alpha's came back.
    const forSameId = beta.replies.filter((m) => m.jobId === 'same-id')
    expect(forSameId[0]).toMatchObject({ type: 'accepted', state: 'queued' })
    expect(forSameId[0]!.duplicate).toBeUndefined()
    expect(forSameId.filter((m) => m.type === 'result')).toHaveLength(1)
    expect(JSON.stringify(beta.replies)).not.toContain('from alpha')

    // jobs.list and jobs.get over the rpc, as a plain client asks them.
    const listed = await beta.rpc('jobs.list', { limit: 100 })
    expect(listed).toMatchObject({ ok: true })
    expect(listed.result).toEqual([expect.objectContaining({ id: 'same-id', state: 'succeeded', output: expect.objectContaining({ stdout: 'from beta\n' }) })])
    expect(await beta.rpc('jobs.get', { id: 'same-id' })).toMatchObject({ ok: true, result: { output: { stdout: 'from beta\n' } } })
    const stats = await beta.rpc('stats', {})
    expect(stats).toMatchObject({ ok: true, result: { jobs: { succeeded: 1 } } })

    // And the CLI's `jobs list` under beta.
    const cli = await runCli(['jobs', 'list', '--json', '--url', beta.url, '--namespace', betaNs])
    expect(cli.exitCode).toBe(0)
    const cliJobs = JSON.parse(cli.stdout) as Array<{ id: string; output?: { stdout?: string } }>
    expect(cliJobs.map((job) => [job.id, job.output?.stdout])).toEqual([['same-id', 'from beta\n']])
    await beta.stop()

    // alpha, back on the same data dir, still has its own job as it left it.
    const alphaAgain = await clusterOf(alphaNs)
    expect(await alphaAgain.rpc('jobs.get', { id: 'same-id' })).toMatchObject({ ok: true, result: { output: { stdout: 'from alpha\n' } } })
    const alphaListed = await alphaAgain.rpc('jobs.list', {})
    expect((alphaListed.result as Array<{ id: string }>).map((job) => job.id)).toEqual(['same-id'])
  }, 60_000)
})
