import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker, type BrokerHandle } from '../../broker/broker.js'
import { startRole } from '../lib/child.js'
import { round } from '../lib/stats.js'

export interface ConnectionFigures {
  workers: number
  connectAllMs: number
  reconnectAllMs: number
}

/**
 * `count` workers connected at once, then the broker-master restarted on the same port and data
 * dir: how long until the master sees every one online again (their backoff has jitter, so they
 * do not all come back in the same millisecond).
 */
export async function measureConnections(count = 500): Promise<ConnectionFigures> {
  const ns = `fleet-${randomBytes(3).toString('hex')}`
  const dataDir = mkdtempSync(join(tmpdir(), 'edgerun-fleet-'))
  let broker: BrokerHandle = await startBroker({ port: 0, store: 'sqlite', dataDir, master: { namespace: ns } })
  const port = broker.port
  const online = () => broker.master.nodesOnline()
  const started = performance.now()
  const fleet = startRole('fleet', { url: broker.url, ns, count })
  try {
    await until(() => online() >= count, 120_000)
    const connectAllMs = performance.now() - started
    await broker.close()
    const restarted = performance.now()
    broker = await startBroker({ port, store: 'sqlite', dataDir, master: { namespace: ns } })
    await until(() => online() >= count, 120_000)
    const reconnectAllMs = performance.now() - restarted
    return { workers: count, connectAllMs: round(connectAllMs, 0), reconnectAllMs: round(reconnectAllMs, 0) }
  } finally {
    fleet.kill()
    await broker.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('connections bench: timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
