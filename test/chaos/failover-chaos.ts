import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { MasterGroup } from '../helpers/masters.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { startPostgres } from '../helpers/postgres.js'
import type { CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { startWorkerProcess } from './chaos.js'
import { between, seededRandom } from './random.js'

export interface FailoverChaosOptions {
  jobs: number
  durationS: number
  seed: number
  workers: number
  /** How many times the active master is killed -9 (spread over the run). */
  masterKills: number
  log: (line: string) => void
}

export interface FailoverChaosReport {
  seed: number
  submitted: number
  lost: number
  duplicated: number
  failed: number
  /** Jobs answered `rejected` (with their codes): a submit a master refused, never silently dropped. */
  rejected: Record<string, number>
  actions: Record<string, number>
  terms: number[]
  problems: string[]
}

/**
 * Issue 13's chaos: two `edgerun master --store postgres://…` behind a real Mosquitto, workers
 * behind fault proxies (kill -9 and restart, cut and stalled links), and the active master (the
 * pid on the retained master/state) killed -9 `masterKills` times and restarted as a standby.
 * Counted from a plain mqtt.js submitter: every job id must get exactly one result.
 */
export async function runFailoverChaos(options: FailoverChaosOptions): Promise<FailoverChaosReport> {
  const random = seededRandom(options.seed)
  const { log } = options
  const dir = await mkdtemp(join(tmpdir(), 'edgerun-fochaos-'))
  const port = await freePort()
  const ns = `fochaos-${options.seed}`
  const url = `mqtt://127.0.0.1:${port}`
  const actions: Record<string, number> = {}
  const count = (action: string) => (actions[action] = (actions[action] ?? 0) + 1)
  const postgres = await startPostgres()
  let mosquitto: ChildProcess | undefined
  let masters: MasterGroup | undefined
  let submitter: PlainSubmitter | undefined
  const proxies: FaultProxy[] = []
  const workers: Array<CliProcess | undefined> = []
  try {
    mosquitto = await startMosquitto(port, dir)
    masters = await MasterGroup.start(url, ns, await postgres.createSchema(), 2, ['--ack-timeout', '2000', '--reconcile-timeout', '3000', '--run-grace', '5000'])
    for (let i = 0; i < options.workers; i++) proxies.push(await FaultProxy.start({ target: { host: '127.0.0.1', port } }))
    const workerFlags = ['--keepalive', '2', '--slots', '4']
    for (const [i, proxy] of proxies.entries()) workers.push(await startWorkerProcess(proxy, ns, i, workerFlags))
    const sub = (submitter = await PlainSubmitter.connect(url, ns, 'chaos'))
    log(`failover chaos: seed ${options.seed}, ${options.jobs} jobs, ${options.workers} workers, 2 masters, Mosquitto ${url}`)
    const runStart = Date.now()
    const ids: string[] = []
    const submitWindowMs = options.durationS * 1000 * 0.7
    let stop = false
    const submitting = (async () => {
      for (let i = 0; i < options.jobs; i++) {
        const id = `job-${i}`
        ids.push(id)
        sub.submit({ id, kind: 'noop', sleepMs: between(random, 0, 20), maxAttempts: 10 })
        const due = runStart + ((i + 1) / options.jobs) * submitWindowMs
        if (due > Date.now()) await sleep(due - Date.now())
      }
    })()
    const killAt = Array.from({ length: options.masterKills }, (_, k) => runStart + ((k + 1) / (options.masterKills + 1)) * submitWindowMs)
    const restarts: Promise<void>[] = []
    const chaos = (async () => {
      while (!stop) {
        await sleep(between(random, 150, 600))
        if (stop) break
        if (killAt.length > 0 && Date.now() >= killAt[0]!) {
          killAt.shift()
          const active = await masters!.waitActive(0, 20_000)
          const victim = masters!.processOf(active.pid)
          if (!victim) throw new Error(`pid ${active.pid} on master/state is none of ours`)
          count('kill-master')
          log(`failover chaos: kill -9 the active master (term ${active.term})`)
          const killedAt = Date.now()
          victim.kill('SIGKILL')
          await victim.exited
          const next = await masters!.waitActive(active.term ?? 0, 20_000)
          log(`failover chaos: term ${next.term} active ${next.at - killedAt} ms after the kill; restarting the killed master as a standby`)
          await masters!.spawn()
          continue
        }
        const i = between(random, 0, options.workers - 1)
        const proxy = proxies[i]!
        const roll = random()
        if (roll < 0.35) {
          const victim = workers[i]
          if (!victim) continue
          count('kill-worker')
          proxy.resume()
          workers[i] = undefined
          victim.kill('SIGKILL')
          await victim.exited
          restarts.push(sleep(between(random, 100, 1200)).then(async () => void (workers[i] = await startWorkerProcess(proxy, ns, i, workerFlags))))
        } else if (roll < 0.7) {
          count('cut')
          proxy.cut()
        } else {
          count('stall')
          proxy.stall()
          void sleep(between(random, 300, 3000)).then(() => proxy.resume())
        }
      }
    })()
    await submitting
    const until = runStart + options.durationS * 1000
    if (until > Date.now()) await sleep(until - Date.now())
    stop = true
    await chaos
    await Promise.all(restarts)
    for (const proxy of proxies) proxy.resume()
    for (let i = 0; i < workers.length; i++) if (!workers[i]) workers[i] = await startWorkerProcess(proxies[i]!, ns, i, workerFlags)
    const final = (id: string) => sub.resultOf(id) ?? sub.repliesOf(id).find((r) => r.type === 'rejected')
    log(`failover chaos: faults stopped; ${ids.filter((id) => !final(id)).length} job(s) still owed an answer`)
    await waitFor(() => ids.every((id) => final(id)), { timeoutMs: 120_000, intervalMs: 100, what: 'every job answered' }).catch((error) => log(`failover chaos: ${(error as Error).message}`))
    const problems: string[] = []
    let lost = 0
    let duplicated = 0
    let failed = 0
    const rejected: Record<string, number> = {}
    for (const id of ids) {
      const results = sub.resultsOf(id)
      const refusal = sub.repliesOf(id).find((r) => r.type === 'rejected')
      if (results.length === 0 && refusal) rejected[String(refusal.code)] = (rejected[String(refusal.code)] ?? 0) + 1
      else if (results.length === 0) {
        lost++
        if (problems.length < 20) problems.push(`lost ${id}: ${JSON.stringify(sub.repliesOf(id))}`)
      }
      if (results.length > 1) {
        duplicated++
        if (problems.length < 20) problems.push(`duplicated ${id}: ${JSON.stringify(results)}`)
      }
      if (results[0] && results[0].state !== 'succeeded') failed++
    }
    if (problems.length > 0) log(masters.outputs())
    // FOCHAOS_DUMP=DIR keeps every master's whole log there (the report above shows their tails).
    const dump = process.env.FOCHAOS_DUMP
    if (dump) for (const [i, p] of masters.processes.entries()) await writeFile(join(dump, `master-${i}.log`), p.output())
    const terms = [...new Set(masters.history.filter((m) => m.state === 'online').map((m) => m.term ?? 0))]
    return { seed: options.seed, submitted: ids.length, lost, duplicated, failed, rejected, actions, terms, problems }
  } finally {
    await submitter?.close()
    for (const worker of workers) worker?.kill('SIGKILL')
    await masters?.close()
    await Promise.all(proxies.map((proxy) => proxy.close()))
    mosquitto?.kill('SIGKILL')
    await postgres.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
