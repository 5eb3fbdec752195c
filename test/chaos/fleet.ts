import { FaultProxy } from '../helpers/fault-proxy.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { between } from './random.js'

export const FAULTS = ['kill', 'cut', 'stall', 'delay'] as const
export type Fault = (typeof FAULTS)[number]
/** How often each fault is drawn, relative to the others in the run. */
const FAULT_WEIGHTS: Record<Fault, number> = { kill: 0.3, cut: 0.3, stall: 0.25, delay: 0.15 }

/**
 * Real `edgerun worker` processes, each behind a fault proxy of its own to the broker, and the
 * faults a chaos run deals them: kill -9 (and a restart a little later), a cut link, a stalled
 * link, a slow link. Drawn from the run's seeded random, so a seed replays the same schedule.
 */
export class WorkerFleet {
  readonly workers: Array<CliProcess | undefined>
  private readonly restarts: Promise<void>[] = []
  private readonly faultWeight: number

  private constructor(
    readonly proxies: FaultProxy[],
    workers: CliProcess[],
    private readonly namespace: string,
    private readonly flags: string[],
    private readonly faults: readonly Fault[],
    private readonly count: (action: string) => void,
  ) {
    this.workers = workers
    this.faultWeight = faults.reduce((sum, fault) => sum + FAULT_WEIGHTS[fault], 0)
  }

  /** `count` workers (ids w0, w1, …) through proxies to the broker at `target`; resolves once all are online. */
  static async start(options: {
    target: { host: string; port: number }
    namespace: string
    count: number
    /** The workers' --keepalive in seconds (default 2) and --slots (default 4). */
    keepaliveS?: number
    slots?: number
    faults: readonly Fault[]
    /** Called with the name of every action taken (kill-worker, cut, stall, delay). */
    countAction: (action: string) => void
  }): Promise<WorkerFleet> {
    const proxies = await Promise.all(Array.from({ length: options.count }, () => FaultProxy.start({ target: options.target })))
    const flags = ['--keepalive', String(options.keepaliveS ?? 2), '--slots', String(options.slots ?? 4)]
    const workers = await Promise.all(proxies.map((proxy, i) => startWorkerProcess(proxy, options.namespace, i, flags)))
    return new WorkerFleet(proxies, workers, options.namespace, flags, options.faults, options.countAction)
  }

  /** One fault, drawn from `random`, on one worker or its link. */
  async strike(random: () => number): Promise<void> {
    const i = between(random, 0, this.proxies.length - 1)
    const proxy = this.proxies[i]!
    const fault = pick(this.faults, random() * this.faultWeight)
    if (fault === 'kill') {
      const victim = this.workers[i]
      if (!victim) return // still restarting from an earlier kill
      this.count('kill-worker')
      proxy.resume()
      this.workers[i] = undefined
      victim.kill('SIGKILL')
      await victim.exited
      const downMs = between(random, 100, 1200)
      this.restarts.push(
        sleep(downMs).then(async () => {
          this.workers[i] = await startWorkerProcess(proxy, this.namespace, i, this.flags)
        }),
      )
    } else if (fault === 'cut') {
      this.count('cut')
      proxy.cut()
    } else if (fault === 'stall') {
      this.count('stall')
      proxy.stall()
      void sleep(between(random, 300, 4000)).then(() => proxy.resume())
    } else {
      this.count('delay')
      proxy.delay(between(random, 5, 80))
      void sleep(between(random, 300, 1500)).then(() => proxy.delay(0))
    }
  }

  /** After the last fault: every link healed, every worker running again. */
  async heal(): Promise<void> {
    await Promise.all(this.restarts)
    for (const proxy of this.proxies) {
      proxy.resume()
      proxy.delay(0)
    }
    for (let i = 0; i < this.workers.length; i++) if (!this.workers[i]) this.workers[i] = await startWorkerProcess(this.proxies[i]!, this.namespace, i, this.flags)
  }

  /** TCP connections the workers made through their proxies (the first ones included). */
  get connections(): number {
    return this.proxies.reduce((sum, proxy) => sum + proxy.stats.accepted, 0)
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker?.kill('SIGKILL')
    await Promise.all(this.proxies.map((proxy) => proxy.close()))
  }
}

/** The fault whose share of the weights `roll` (0 … their sum) falls in. */
function pick(faults: readonly Fault[], roll: number): Fault {
  for (const fault of faults) {
    if (roll < FAULT_WEIGHTS[fault]) return fault
    roll -= FAULT_WEIGHTS[fault]
  }
  return faults[faults.length - 1]!
}

/** Starts worker i behind its proxy; a restart that races its own will is retried until it holds its id. */
async function startWorkerProcess(proxy: FaultProxy, namespace: string, i: number, flags: string[]): Promise<CliProcess> {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
