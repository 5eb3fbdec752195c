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
    const master = cluster.broker.master
    const config = { url: cluster.url, ns: cluster.namespace, prefix: 'f', from: 0, count: NODES, slots: 1 }
    fleet = spawn(process.execPath, [`${ROOT}dist/bench/roles/fleet-sim.js`], { env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) }, stdio: 'ignore' })
    await waitFor(() => master.nodesOnline() === NODES, { timeoutMs: 120_000, intervalMs: 50, what: `${NODES} nodes online` })
    expect(master.footprint().nodes).toBe(NODES)
    fleet.kill('SIGKILL')
    await waitFor(() => master.nodesOnline() === 0, { timeoutMs: 120_000, intervalMs: 50, what: 'every node offline' })
    // The master's table as an operator reads it: nodes.list, every node, each offline.
    const listed = await (await cluster.client()).listNodes()
    expect(listed).toHaveLength(NODES)
    expect(new Set(listed.map((node) => node.state))).toEqual(new Set(['offline']))
    expect(cluster.broker.security.counters.get('worker_limit')).toBe(0)
  }, 300_000)
})
