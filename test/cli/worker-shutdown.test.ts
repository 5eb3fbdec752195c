import { afterEach, describe, expect, it } from 'vitest'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { TestCluster } from '../helpers/cluster.js'
import { spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor, withTimeout } from '../helpers/wait.js'

describe('edgerun worker shutdown', () => {
  let cluster: TestCluster | undefined
  const processes: CliProcess[] = []
  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill()
    await cluster?.close()
    cluster = undefined
  })

  it('SIGTERM publishes offline with reason shutdown and exits', async () => {
    cluster = await TestCluster.start()
    const worker = await spawnWorker(cluster.url, cluster.namespace, 'polite')
    processes.push(worker)
    const client = await cluster.client()
    worker.kill('SIGTERM')
    expect(await withTimeout(worker.exited, 10_000, 'worker exit')).toBe(0)
    await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'polite')?.state === 'offline', { what: 'offline' })
  })

  it('SIGTERM exits in bounded time when the broker stops answering mid-shutdown', async () => {
    cluster = await TestCluster.start()
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: cluster.broker.port } })
    try {
      const worker = await spawnWorker(proxy.url(), cluster.namespace, 'stalled')
      processes.push(worker)
      proxy.stall()
      worker.kill('SIGTERM')
      const code = await withTimeout(worker.exited, 15_000, 'worker exit with a silent broker')
      expect(code, `signal ${worker.child.signalCode}; output: ${worker.output()}`).toBe(0)
    } finally {
      await proxy.close()
    }
  })

  it('SIGTERM still exits when the broker is already gone', async () => {
    cluster = await TestCluster.start()
    const worker = await spawnWorker(cluster.url, cluster.namespace, 'orphan')
    processes.push(worker)
    await cluster.close()
    cluster = undefined
    await waitFor(() => worker.output().includes('connection lost'), { what: 'worker saw the broker go' })
    worker.kill('SIGTERM')
    expect(await withTimeout(worker.exited, 10_000, 'worker exit without a broker')).toBe(0)
  })
})
