import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { ROOT } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A 1,000-node fleet on one broker-master: simulated workers (bench/roles/fleet-sim.ts, plain
 * mqtt.js written from docs/protocol.md, one process), every one online in the master's node
 * table, then the process killed with SIGKILL so that all their wills fire at once, and every
 * node offline. Bounded waits only: how fast belongs in `npm run bench -- --only fleet`.
 */
const NODES = 1_000
let cluster: TestCluster | undefined
let fleet: ChildProcess | undefined

afterEach(async () => {
  fleet?.kill('SIGKILL')
  fleet = undefined
  await cluster?.close()
  cluster = undefined
})

describe('a fleet of 1,000 nodes', () => {
  it('comes online, and goes offline to the last node when killed at once', async () => {
    cluster = await TestCluster.start({ maxConnections: NODES + 100, maxWorkers: NODES })
    const nodes = cluster.broker.master.ctx.nodes
    const config = { url: cluster.url, ns: cluster.namespace, prefix: 'f', from: 0, count: NODES, slots: 1 }
    fleet = spawn(process.execPath, [`${ROOT}dist/bench/roles/fleet-sim.js`], { env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) }, stdio: 'ignore' })
    await waitFor(() => nodes.countOnline() === NODES, { timeoutMs: 120_000, intervalMs: 50, what: `${NODES} nodes online` })
    expect(nodes.size).toBe(NODES)
    fleet.kill('SIGKILL')
    await waitFor(() => nodes.countOnline() === 0, { timeoutMs: 120_000, intervalMs: 50, what: 'every node offline' })
    const states = new Set([...nodes.all()].map((node) => node.state))
    expect([...states]).toEqual(['offline'])
    expect(nodes.size).toBe(NODES)
    expect(cluster.broker.security.counters.get('worker_limit')).toBe(0)
  }, 300_000)
})
