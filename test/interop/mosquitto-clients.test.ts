import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { requireBinary } from '../helpers/binaries.js'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'

/** mosquitto_sub printing each message as one JSON line; resolves once SUBACK is seen. */
async function subscribe(port: number, topic: string): Promise<{ lines: () => string[]; child: ChildProcess }> {
  const child = spawn(requireBinary('stdbuf'), ['-oL', requireBinary('mosquitto_sub'), '-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', '1', '-d'])
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  child.stderr.on('data', (chunk) => (err += chunk))
  const lines = () => out.split('\n').filter((line) => line.startsWith('{'))
  await waitFor(() => (out + err).includes('SUBACK'), { timeoutMs: 5000, what: 'mosquitto_sub SUBACK' })
  return { lines, child }
}

/** Async: the broker under test lives in this very process, so a sync spawn would deadlock it. */
function publish(port: number, topic: string, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(requireBinary('mosquitto_pub'), ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', '1', '-m', message], { timeout: 5000 }, (error) =>
      error ? reject(error) : resolve(),
    )
  })
}

describe('protocol with mosquitto_pub and mosquitto_sub only (docs/protocol.md §5)', () => {
  let cluster: TestCluster
  const children: ChildProcess[] = []
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill()
    await cluster?.close()
  })

  it('submits a job and reads its result, then asks for it with jobs.get', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ commands: { echo: '/bin/echo' } })
    const ns = cluster.namespace
    const port = cluster.broker.port
    const sub = await subscribe(port, `${ns}/reply/mos`)
    children.push(sub.child)
    await publish(port, `${ns}/submit`, JSON.stringify({ v: 1, type: 'submit', id: 'mos-1', kind: 'command', name: 'echo', args: ['hi', 'there'], replyTo: `${ns}/reply/mos`, correlationId: 'c-77' }))
    const result = await waitFor(() => sub.lines().map((line) => JSON.parse(line)).find((m) => m.type === 'result'), { timeoutMs: 5000, what: 'result' })
    expect(result).toMatchObject({ v: 1, type: 'result', jobId: 'mos-1', correlationId: 'c-77', state: 'succeeded', output: { exitCode: 0, stdout: 'hi there\n' } })
    const types = sub.lines().map((line) => JSON.parse(line).type)
    expect(types[0]).toBe('accepted')
    expect(types.filter((type) => type === 'result')).toHaveLength(1)

    await publish(port, `${ns}/rpc`, JSON.stringify({ v: 1, type: 'rpc', id: 'r1', method: 'jobs.get', params: { id: 'mos-1' }, replyTo: `${ns}/reply/mos` }))
    const rpc = await waitFor(() => sub.lines().map((line) => JSON.parse(line)).find((m) => m.type === 'rpc'), { timeoutMs: 5000, what: 'rpc reply' })
    expect(rpc).toMatchObject({ v: 1, type: 'rpc', correlationId: 'r1', ok: true, result: { id: 'mos-1', state: 'succeeded' } })
  })

  it('answers a malformed submit that has a usable replyTo with rejected BAD_MESSAGE', async () => {
    cluster = await TestCluster.start()
    const ns = cluster.namespace
    const port = cluster.broker.port
    const sub = await subscribe(port, `${ns}/reply/mos`)
    children.push(sub.child)
    await publish(port, `${ns}/submit`, JSON.stringify({ v: 1, type: 'submit', id: 'bad', kind: 'noop', timeoutMs: -5, replyTo: `${ns}/reply/mos` }))
    await publish(port, `${ns}/submit`, JSON.stringify({ v: 2, type: 'submit', id: 'future', kind: 'noop', replyTo: `${ns}/reply/mos` }))
    await publish(port, `${ns}/submit`, 'not json at all')
    const replies = await waitFor(() => (sub.lines().length >= 2 ? sub.lines().map((line) => JSON.parse(line)) : undefined), { timeoutMs: 5000, what: 'two rejections' })
    expect(replies[0]).toMatchObject({ type: 'rejected', jobId: 'bad', code: 'BAD_MESSAGE' })
    expect(replies[1]).toMatchObject({ type: 'rejected', jobId: 'future', code: 'UNSUPPORTED_VERSION' })
    // The master survived all three.
    const client = await cluster.client()
    expect((await client.stats()).rejected).toMatchObject({ BAD_MESSAGE: 2, UNSUPPORTED_VERSION: 1 })
  })
})
