import { afterEach, describe, expect, it } from 'vitest'
import type { ChildProcess } from 'node:child_process'
import { EdgerunClient } from '../../src/client/client.js'
import { requireBinary } from '../helpers/binaries.js'
import { startRedis } from '../helpers/redis.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { freePort } from '../helpers/ports.js'
import { spawnCli, spawnClusteredBroker, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

const broker = (port: number, redisPort: number, ns: string, extra: string[] = []): Promise<CliProcess> =>
  spawnClusteredBroker(port, `redis://127.0.0.1:${redisPort}`, ns, ['--memory', '--log-level', 'silent', ...extra])

describe('scale-out: two Aedes processes clustered over Redis', () => {
  const children: Array<ChildProcess | CliProcess> = []
  const clients: EdgerunClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()))
    for (const child of children.splice(0)) child.kill('SIGKILL')
  })

  it('a worker on one broker serves a submitter on the other; its will crosses the cluster', async () => {
    const redisPort = await freePort()
    children.push(await startRedis(requireBinary('redis-server'), redisPort))
    const ns = uniqueNamespace('cluster')
    const [portA, portB] = [await freePort(), await freePort()]
    children.push(await broker(portA, redisPort, ns))
    children.push(await broker(portB, redisPort, ns, ['--no-master']))
    const urlA = `mqtt://127.0.0.1:${portA}`
    const urlB = `mqtt://127.0.0.1:${portB}`
    const remote = await spawnWorker(urlB, ns, 'on-b')
    children.push(remote)
    const client = await EdgerunClient.connect({ url: urlA, namespace: ns })
    clients.push(client)
    await waitFor(async () => (await client.listNodes()).some((n) => n.id === 'on-b' && n.state === 'online'), { timeoutMs: 10_000, what: 'node on B seen by the master on A' })
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'on-b' })

    const events: string[] = []
    const slow = client.submit({ id: 'crosses', kind: 'noop', sleepMs: 1500 }, { onEvent: (e) => events.push(e.type === 'progress' ? e.state : e.type) })
    await waitFor(() => events.includes('running'), { what: 'running on B' })
    remote.kill('SIGKILL')
    await waitFor(() => events.includes('requeued'), { timeoutMs: 5000, what: 'the will from B requeues it on A' })
    children.push(await spawnWorker(urlA, ns, 'on-a'))
    expect(await slow).toMatchObject({ type: 'result', state: 'succeeded', node: 'on-a', attempts: 1, lost: 1 })
  }, 60_000)

  it('a lone --no-master broker is refused with a clear error', async () => {
    const child = spawnCli(['broker', '--port', '0', '--no-master', '--memory'])
    children.push(child)
    const code = await child.exited
    expect(child.output()).toContain('--no-master only makes sense with --redis URL')
    expect(code).toBe(2)
  })
})
