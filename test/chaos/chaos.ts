import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EdgerunClient } from '../../src/client/client.js'
import { freePort } from '../helpers/ports.js'
import { spawnBroker } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { FAULTS, WorkerFleet, sleep, type Fault } from './fleet.js'
import { Ledger } from './ledger.js'
import { between, seededRandom } from './random.js'

export interface ChaosOptions {
  jobs: number
  durationS: number
  seed: number
  workers: number
  submitters: number
  /** Whether to kill -9 the broker-master once, mid-run. */
  killBroker: boolean
  log: (line: string) => void
  /** Which faults to inject (default all): kill -9 of a worker, and cut, stalled or delayed links. */
  faults?: readonly Fault[]
  /** A fault every this many ms (default: at random, every 150–600 ms). */
  faultEveryMs?: number
  /** Every job a `noop` of this many ms with the spec's default budgets (default: a mix of short noops and commands, maxAttempts 10). */
  noopMs?: number
  /** The workers' --keepalive in seconds (default 2) and --slots (default 4). */
  keepaliveS?: number
  slots?: number
}

export { FAULTS, type Fault } from './fleet.js'

export type ChaosReport = ReturnType<Ledger['report']> & {
  seed: number
  actions: Record<string, number>
  elapsedMs: number
  storeCounts?: Record<string, number>
  /** TCP connections the workers made through their proxies (the first ones included). */
  connections: number
}

/**
 * The guarantee of docs/protocol.md §10 under fire: a real broker-master with a real --data-dir, real worker
 * processes behind fault proxies, several submitters, and at random: kill -9 and restart of
 * workers, cut and stalled connections, and one kill -9 of the broker-master itself.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now()
  const random = seededRandom(options.seed)
  const log = options.log
  const dataDir = await mkdtemp(join(tmpdir(), 'edgerun-chaos-'))
  const port = await freePort()
  const namespace = `chaos-${options.seed}`
  const brokerUrl = `mqtt://127.0.0.1:${port}`
  const actions: Record<string, number> = {}
  const count = (action: string) => (actions[action] = (actions[action] ?? 0) + 1)
  const ledger = new Ledger()

  let broker = await startBroker(port, dataDir, namespace)
  const fleet = await WorkerFleet.start({ target: { host: '127.0.0.1', port }, namespace, count: options.workers, keepaliveS: options.keepaliveS, slots: options.slots, faults: options.faults ?? FAULTS, countAction: count })
  const clients = await Promise.all(
    Array.from({ length: options.submitters }, (_, i) =>
      EdgerunClient.connect({ url: brokerUrl, namespace, clientId: `submitter-${i}`, rpcTimeoutMs: 3000 }),
    ),
  )
  for (const client of clients) client.on('reply', (reply) => ledger.raw(reply))
  log(`chaos: seed ${options.seed}, ${options.jobs} jobs, ${options.workers} workers, ${options.submitters} submitters, broker ${brokerUrl}`)
  // The run's windows start once everything is up: starting processes can take seconds on a busy machine.
  const runStart = Date.now()

  try {
    const submitWindowMs = options.durationS * 1000 * 0.7
    let stopChaos = false
    const submitting = (async () => {
      for (let i = 0; i < options.jobs; i++) {
        const id = `job-${i}`
        const client = clients[i % clients.length]!
        const spec =
          options.noopMs !== undefined
            ? { id, kind: 'noop' as const, sleepMs: options.noopMs }
            : random() < 0.5
              ? { id, kind: 'noop' as const, sleepMs: between(random, 0, 20), maxAttempts: 10 }
              : { id, kind: 'command' as const, name: 'sleep', args: [`0.00${between(random, 1, 9)}`], maxAttempts: 10 }
        ledger.submit(id)
        void client.submit(spec).then((reply) => ledger.settle(id, reply))
        const due = runStart + ((i + 1) / options.jobs) * submitWindowMs
        if (due > Date.now()) await sleep(due - Date.now())
      }
    })()
    const brokerKillAt = runStart + options.durationS * 1000 * 0.4
    let brokerKilled = !options.killBroker
    const chaos = (async () => {
      while (!stopChaos) {
        await sleep(options.faultEveryMs ?? between(random, 150, 600))
        if (stopChaos) break
        if (!brokerKilled && Date.now() >= brokerKillAt) {
          brokerKilled = true
          count('kill-broker')
          log('chaos: kill -9 broker-master')
          broker.kill('SIGKILL')
          await broker.exited
          await sleep(between(random, 200, 1000))
          broker = await startBroker(port, dataDir, namespace)
          log('chaos: broker-master restarted')
          continue
        }
        await fleet.strike(random)
      }
    })()
    await submitting
    const chaosUntil = runStart + options.durationS * 1000
    if (chaosUntil > Date.now()) await sleep(chaosUntil - Date.now())
    stopChaos = true
    await chaos
    await fleet.heal()
    log(`chaos: faults stopped after ${Date.now() - runStart} ms; ${ledger.pending} job(s) still owed a result`)
    await waitFor(() => ledger.pending === 0, { timeoutMs: 120_000, intervalMs: 100, what: 'every job settled' }).catch((error) => log(`chaos: ${(error as Error).message}`))
    const stats = await clients[0]!.stats().catch(() => undefined)
    const connections = fleet.connections
    return { ...ledger.report(), seed: options.seed, actions, elapsedMs: Date.now() - started, storeCounts: stats?.jobs, connections }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
    broker.kill('SIGKILL')
    await fleet.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

const startBroker = (port: number, dataDir: string, namespace: string) =>
  spawnBroker(port, dataDir, namespace, ['--ack-timeout', '2000', '--reconcile-timeout', '3000', '--run-grace', '5000'])
