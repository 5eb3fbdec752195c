import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import { MasterGroup } from '../helpers/masters.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { startPostgres, type PostgresServer } from '../helpers/postgres.js'
import { waitFor, withTimeout } from '../helpers/wait.js'
import { FAULTS, WorkerFleet, sleep, type Fault } from './fleet.js'
import { PlainLedger } from './plain-ledger.js'
import { between, seededRandom } from './random.js'

export interface FailoverChaosOptions {
  jobs: number
  durationS: number
  seed: number
  workers: number
  submitters: number
  /** How many times to kill -9 the active master, evenly spread over the run (default 2). */
  masterKills?: number
  log: (line: string) => void
  /** Which faults the workers get (default all): kill -9, and cut, stalled or delayed links. */
  faults?: readonly Fault[]
  /** The mosquitto binary (tests: requireBinary('mosquitto')); default: found on PATH or in the system dirs. */
  mosquittoBinary?: string
  /** A Postgres server to use (a schema of its own is made); default: one of the run's own. */
  postgres?: PostgresServer
}

export interface Takeover {
  killedPid: number
  killedTerm: number
  activePid: number
  activeTerm: number
  /** Whether the new active master is one that was restarted after an earlier kill. */
  byRestarted: boolean
  /** From the kill to the new master's `online` on master/state, as the watcher saw it. */
  gapMs: number
  /** When the kill was sent, from the run's start. */
  killedAtMs: number
}

export type FailoverChaosReport = ReturnType<PlainLedger['report']> & {
  seed: number
  actions: Record<string, number>
  takeovers: Takeover[]
  /** The terms said online on master/state, in order: one more than the kills if no master stepped down by itself. */
  terms: number[]
  /** How often each plain submitter connected (1: it never lost its connection, so it never resubmitted). */
  submitterConnects: number[]
  connections: number
  elapsedMs: number
  /** Set when the run broke down (a master that would not take over, say): the reason. */
  error?: string
  /** The masters' logs, when something went wrong. */
  diagnostics?: string
}

/**
 * Standby masters under fire (docs/protocol.md §7a, §10): two real `edgerun master --store
 * postgres://…` processes behind a real Mosquitto, real worker processes behind fault proxies,
 * plain mqtt.js submitters speaking only docs/protocol.md. While the submitters submit at a steady
 * pace, the active master (the pid on the retained master/state) is killed -9 `masterKills` times;
 * each killed master is restarted once its successor is active, and stands by for the next kill.
 * Meanwhile workers are killed and their links cut, stalled and slowed.
 *
 * Three seeded randoms, one per thread of events (jobs, worker faults, master kills), so a seed
 * replays each schedule even though the threads interleave as the machine's timing has it.
 */
export async function runFailoverChaos(options: FailoverChaosOptions): Promise<FailoverChaosReport> {
  const started = Date.now()
  const jobRandom = seededRandom(options.seed)
  const faultRandom = seededRandom(options.seed + 1)
  const masterRandom = seededRandom(options.seed + 2)
  const log = options.log
  const actions: Record<string, number> = {}
  const count = (action: string) => (actions[action] = (actions[action] ?? 0) + 1)
  const ledger = new PlainLedger()
  const namespace = `fochaos-${options.seed}`
  const dir = await mkdtemp(join(tmpdir(), 'edgerun-fochaos-'))
  const ownPostgres = options.postgres ? undefined : await startPostgres()
  const postgres = options.postgres ?? ownPostgres!
  let mosquitto: ChildProcess | undefined
  let masters: MasterGroup | undefined
  let fleet: WorkerFleet | undefined
  const submitters: PlainSubmitter[] = []
  let observer: MqttClient | undefined
  const takeovers: Takeover[] = []
  /** Whether to keep `dir`, with the masters' logs, for a look after a failure. */
  let keep = false
  try {
    const port = await freePort()
    mosquitto = await startMosquitto(port, dir, options.mosquittoBinary)
    const url = `mqtt://127.0.0.1:${port}`
    const storeUrl = await postgres.createSchema('fochaos')
    masters = await MasterGroup.start(url, namespace, storeUrl, 2, ['--ack-timeout', '2000', '--reconcile-timeout', '3000', '--run-grace', '5000'])
    fleet = await WorkerFleet.start({ target: { host: '127.0.0.1', port }, namespace, count: options.workers, faults: options.faults ?? FAULTS, countAction: count })
    for (let i = 0; i < options.submitters; i++) submitters.push(await PlainSubmitter.connect(url, namespace, `sub${i}`))
    // A bystander on the broker: when it relayed each submit and each reply (for the diagnosis only).
    observer = await mqtt.connectAsync(url, { clientId: `observer-${namespace}`, reconnectPeriod: 100 })
    const relayed = new Map<string, string[]>()
    observer.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString()) as { type?: string; id?: string; jobId?: string }
      const id = message.id ?? message.jobId
      if (id === undefined) return
      let list = relayed.get(id)
      if (!list) relayed.set(id, (list = []))
      list.push(`${message.type}@+${Date.now() - (ledger.origin)}`)
    })
    await observer.subscribeAsync([`${namespace}/submit`, `${namespace}/reply/+`], { qos: 1 })
    log(`failover chaos: seed ${options.seed}, ${options.jobs} jobs, 2 masters on Postgres behind Mosquitto ${url}, ${options.workers} workers, ${options.submitters} plain submitters`)
    const group = masters
    const workers = fleet
    // The run's windows start once everything is up: starting processes can take seconds on a busy machine.
    const runStart = Date.now()
    ledger.origin = runStart
    const durationMs = options.durationS * 1000
    let stop = false
    /** From a kill until its successor says online: a submit then finds no master subscribed. */
    let failingOver = false

    const submitting = (async () => {
      const windowMs = durationMs * 0.7
      for (let i = 0; i < options.jobs; i++) {
        const id = `job-${i}`
        const job =
          jobRandom() < 0.5
            ? { id, kind: 'noop', sleepMs: between(jobRandom, 0, 20), maxAttempts: 10 }
            : { id, kind: 'command', name: 'sleep', args: [`0.00${between(jobRandom, 1, 9)}`], maxAttempts: 10 }
        ledger.submit(submitters[i % submitters.length]!, job, failingOver)
        const due = runStart + ((i + 1) / options.jobs) * windowMs
        if (due > Date.now()) await sleep(due - Date.now())
      }
    })()

    const workerFaults = (async () => {
      while (!stop) {
        await sleep(between(faultRandom, 150, 600))
        if (!stop) await workers.strike(faultRandom)
      }
    })()

    const restarted = new Set<number>()
    let standbySince = 0
    const masterKills = (async () => {
      const kills = options.masterKills ?? 2
      for (let k = 0; k < kills; k++) {
        // Spread over the submit window: a failover meets submits, assignments and results alike.
        // A standby replays only the submits it heard (docs/protocol.md §7a): one that has just
        // started cannot stand in for submits the active master took in before that, so a
        // restarted master stands by for a while before the next kill.
        const at = Math.max(runStart + durationMs * 0.7 * ((k + 1) / (kills + 1)) + between(masterRandom, -500, 500), standbySince + 2_000)
        if (at > Date.now()) await sleep(at - Date.now())
        // The master active now: the last takeover's, or the first one.
        const active = await group.waitActive((takeovers.at(-1)?.activeTerm ?? 1) - 1, 20_000)
        const victim = group.processOf(active.pid)
        if (!victim) throw new Error(`master/state names pid ${active.pid}, none of ours`)
        count('kill-master')
        failingOver = true
        const killedAt = Date.now()
        log(`failover chaos: kill -9 the active master (pid ${active.pid}, term ${active.term}) at +${killedAt - runStart} ms, after job ${ledger.size - 1} was submitted`)
        victim.kill('SIGKILL')
        await withTimeout(victim.exited, 10_000, 'the killed master exiting')
        const next = await group.waitActive(active.term, 20_000)
        failingOver = false
        const takeover = {
          killedPid: active.pid!,
          killedTerm: active.term!,
          activePid: next.pid!,
          activeTerm: next.term!,
          byRestarted: restarted.has(next.pid!),
          gapMs: next.at - killedAt,
          killedAtMs: killedAt - runStart,
        }
        takeovers.push(takeover)
        log(`failover chaos: master pid ${next.pid} active with term ${next.term}, ${takeover.gapMs} ms after the kill, after job ${ledger.size - 1} was submitted`)
        // The machine comes back: the killed master rejoins, as a standby.
        await sleep(between(masterRandom, 200, 1000))
        const again = await group.spawn()
        restarted.add(again.child.pid!)
        standbySince = Date.now()
        count('restart-master')
        log(`failover chaos: killed master restarted (pid ${again.child.pid}), standing by`)
      }
    })()

    let error: string | undefined
    await submitting
    await masterKills.catch((e: Error) => (error = `master kills: ${e.message}`))
    const until = runStart + durationMs
    if (until > Date.now()) await sleep(until - Date.now())
    stop = true
    await workerFaults
    await workers.heal()
    log(`failover chaos: faults stopped after ${Date.now() - runStart} ms; ${ledger.pending} job(s) still owed an answer`)
    await waitFor(() => ledger.pending === 0, { timeoutMs: 60_000, intervalMs: 100, what: 'every job answered' }).catch((e: Error) => {
      error ??= e.message
      log(`failover chaos: ${e.message}`)
    })
    const report = ledger.report()
    const wrong = error !== undefined || report.lost > 0 || report.duplicated > 0 || report.problems.length > 0
    keep = wrong
    return {
      ...report,
      seed: options.seed,
      actions,
      takeovers,
      terms: [...new Set(group.history.filter((m) => m.state === 'online').map((m) => m.term ?? 0))],
      submitterConnects: submitters.map((s) => s.connects),
      connections: workers.connections,
      elapsedMs: Date.now() - started,
      ...(error !== undefined ? { error } : {}),
      ...(wrong ? { diagnostics: await diagnose(group, storeUrl, report.problems, dir, log, relayed, ledger.origin) } : {}),
    }
  } finally {
    await Promise.all(submitters.map((s) => s.close()))
    await observer?.endAsync(true).catch(() => {})
    await masters?.close()
    await fleet?.close()
    mosquitto?.kill('SIGKILL')
    await ownPostgres?.dispose()
    if (!keep) await rm(dir, { recursive: true, force: true })
  }
}

/**
 * What went wrong, for the report: the store's record of each job named in `problems`, and the
 * masters' whole logs, written to files in `dir`, which is then kept (its path is in the text).
 */
async function diagnose(
  group: MasterGroup,
  storeUrl: string,
  problems: string[],
  dir: string,
  log: (line: string) => void,
  relayed: Map<string, string[]>,
  origin: number,
): Promise<string> {
  const ids = [...new Set(problems.map((line) => /^\w[\w ]* (job-\d+) /.exec(line)?.[1]).filter((id): id is string => id !== undefined))]
  const lines: string[] = []
  for (const id of ids) lines.push(`broker: ${id} relayed ${relayed.get(id)?.join(' ') ?? 'nothing'}`)
  lines.push(`master/state: ${group.history.map((m) => `${m.state} term ${m.term} pid ${m.pid} @+${m.at - origin}`).join(', ')}`)
  const client = new pg.Client({ connectionString: storeUrl })
  try {
    await client.connect()
    const rows = await client.query<{ id: string; state: string; record: string }>('SELECT id, state, record FROM edgerun_jobs WHERE id = ANY($1)', [ids])
    for (const row of rows.rows) lines.push(`store: ${row.id} ${row.state} ${row.record}`)
    const leases = await client.query('SELECT * FROM edgerun_leases')
    lines.push(`leases: ${JSON.stringify(leases.rows)}`)
  } catch (error) {
    lines.push(`store unreadable: ${(error as Error).message}`)
  } finally {
    await client.end().catch(() => {})
  }
  group.processes.forEach((p, i) => writeFileSync(join(dir, `master-${i}-pid-${p.child.pid}.log`), p.output()))
  lines.push(`the masters' logs: ${dir}/master-*.log`)
  log(`failover chaos: the masters' logs are kept in ${dir}`)
  return lines.join('\n')
}
