import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EdgerunClient } from '../../src/client/client.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { freePort } from '../helpers/ports.js'
import { spawnBroker, spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
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

export const FAULTS = ['kill', 'cut', 'stall', 'delay'] as const
export type Fault = (typeof FAULTS)[number]
/** How often each fault is drawn, relative to the others in the run. */
const FAULT_WEIGHTS: Record<Fault, number> = { kill: 0.3, cut: 0.3, stall: 0.25, delay: 0.15 }

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
  const proxies = await Promise.all(Array.from({ length: options.workers }, () => FaultProxy.start({ target: { host: '127.0.0.1', port } })))
  const workerFlags = ['--keepalive', String(options.keepaliveS ?? 2), '--slots', String(options.slots ?? 4)]
  const startWorker = (proxy: FaultProxy, i: number) => startWorkerProcess(proxy, namespace, i, workerFlags)
  const faults = options.faults ?? FAULTS
  const faultWeight = faults.reduce((sum, fault) => sum + FAULT_WEIGHTS[fault], 0)
  const workers: Array<CliProcess | undefined> = await Promise.all(proxies.map((proxy, i) => startWorker(proxy, i)))
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
    const restarts: Promise<void>[] = []
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
        const i = between(random, 0, options.workers - 1)
        const proxy = proxies[i]!
        const fault = pick(faults, random() * faultWeight)
        if (fault === 'kill') {
          const victim = workers[i]
          if (!victim) continue // still restarting from an earlier kill
          count('kill-worker')
          proxy.resume()
          workers[i] = undefined
          victim.kill('SIGKILL')
          await victim.exited
          const downMs = between(random, 100, 1200)
          restarts.push(
            sleep(downMs).then(async () => {
              workers[i] = await startWorker(proxy, i)
            }),
          )
        } else if (fault === 'cut') {
          count('cut')
          proxy.cut()
        } else if (fault === 'stall') {
          count('stall')
          proxy.stall()
          void sleep(between(random, 300, 4000)).then(() => proxy.resume())
        } else {
          count('delay')
          proxy.delay(between(random, 5, 80))
          void sleep(between(random, 300, 1500)).then(() => proxy.delay(0))
        }
      }
    })()
    await submitting
    const chaosUntil = runStart + options.durationS * 1000
    if (chaosUntil > Date.now()) await sleep(chaosUntil - Date.now())
    stopChaos = true
    await chaos
    await Promise.all(restarts)
    for (const proxy of proxies) {
      proxy.resume()
      proxy.delay(0)
    }
    for (let i = 0; i < workers.length; i++) if (!workers[i]) workers[i] = await startWorker(proxies[i]!, i)
    log(`chaos: faults stopped after ${Date.now() - runStart} ms; ${ledger.pending} job(s) still owed a result`)
    await waitFor(() => ledger.pending === 0, { timeoutMs: 120_000, intervalMs: 100, what: 'every job settled' }).catch((error) => log(`chaos: ${(error as Error).message}`))
    const stats = await clients[0]!.stats().catch(() => undefined)
    const connections = proxies.reduce((sum, proxy) => sum + proxy.stats.accepted, 0)
    return { ...ledger.report(), seed: options.seed, actions, elapsedMs: Date.now() - started, storeCounts: stats?.jobs, connections }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
    for (const worker of workers) worker?.kill('SIGKILL')
    broker.kill('SIGKILL')
    await Promise.all(proxies.map((proxy) => proxy.close()))
    await rm(dataDir, { recursive: true, force: true })
  }
}

const startBroker = (port: number, dataDir: string, namespace: string) =>
  spawnBroker(port, dataDir, namespace, ['--ack-timeout', '2000', '--reconcile-timeout', '3000', '--run-grace', '5000'])

/** The fault whose share of the weights `roll` (0 … their sum) falls in. */
function pick(faults: readonly Fault[], roll: number): Fault {
  for (const fault of faults) {
    if (roll < FAULT_WEIGHTS[fault]) return fault
    roll -= FAULT_WEIGHTS[fault]
  }
  return faults[faults.length - 1]!
}

/** Starts worker i behind its proxy; a restart that races its own will is retried until it holds its id. */
export async function startWorkerProcess(proxy: FaultProxy, namespace: string, i: number, flags: string[]): Promise<CliProcess> {
  for (let tries = 0; ; tries++) {
    const worker = spawnCli([
      'worker', '--url', proxy.url(), '--namespace', namespace, '--id', `w${i}`, ...flags,
      '--command', 'sleep=/bin/sleep', '--no-judge', '--drain-timeout', '0', '--log-level', 'silent',
    ])
    await waitFor(() => worker.output().includes('online') || worker.child.exitCode !== null, { timeoutMs: 30_000, what: `worker w${i} online` })
    if (worker.output().includes('online')) return worker
    if (tries >= 20) throw new Error(`worker w${i} would not start: ${worker.output()}`)
    await sleep(500)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
