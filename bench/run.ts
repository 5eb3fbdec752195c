import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureBullmq } from './scenarios/bullmq.js'
import { redisAvailable } from '../test/helpers/redis.js'
import { measureEdgerun, measureFloor, type LoadSizes, type SystemFigures } from './scenarios/throughput.js'
import { median, round } from './lib/stats.js'
import { measureFleet } from './scenarios/fleet.js'
import { measureDeath } from './scenarios/death.js'
import { measureJudge } from './scenarios/judge.js'
import { measureMetrics } from './scenarios/metrics.js'
import { measureScale } from './scenarios/scale.js'
import { measureStartup } from './scenarios/startup.js'
import { measurePostgres } from './scenarios/postgres.js'
import { measureFailover } from './scenarios/failover.js'
import { verdicts } from './verdicts.js'

/**
 * `npm run bench`: edgerun side by side with its baselines, in one run on one machine. The
 * verdicts are ratios, because absolute figures on a shared 2-core box mean little.
 */
const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    /** Rounds of each side for `--only metrics` (default 3): more on a busy machine. */
    rounds: { type: 'string' },
    /** `--only fleet` at another size than 10,000 (the machine may not hold it). */
    'fleet-workers': { type: 'string' },
  },
})
const want = (name: string) => !values.only || values.only.includes(name)
const sizes: LoadSizes = values.quick ? { total: 5_000, inFlight: 1_000, sequential: 500 } : { total: 20_000, inFlight: 1_000, sequential: 2_000 }
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform },
  sizes,
}
const log = (line: string) => process.stderr.write(`${line}\n`)
const failures: string[] = []

/**
 * One round of one system. A round that fails (a role that crashed, a baseline that timed out)
 * is logged, kept in `failures` and tried once more, instead of ending the whole run.
 */
async function round_<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return await fn()
    } catch (error) {
      const line = `${what}, attempt ${attempt}: ${(error as Error).message.split('\n')[0]}`
      failures.push(line)
      results.failures = failures
      log(`  failed: ${line}`)
    }
  }
  return undefined
}

function medianFigures(list: SystemFigures[]): SystemFigures {
  return {
    jobsPerSec: median(list.map((f) => f.jobsPerSec)),
    seqP50Ms: median(list.map((f) => f.seqP50Ms)),
    seqP99Ms: median(list.map((f) => f.seqP99Ms)),
  }
}

// `--only plain`: the same interleaved rounds without BullMQ and the one-round extras, for A/B runs
// of the plain client against the floor and EdgerunClient.
if (want('throughput') || want('plain')) {
  const full = want('throughput')
  // One job at a time, a plain mqtt.js client waits ~40 ms per job on Nagle and delayed ACK
  // (BENCHMARKS.md): 200 jobs give its p50; the TCP_NODELAY rows give edgerun's own latency.
  const plainSizes = { ...sizes, sequential: Math.min(sizes.sequential, 200) }
  const seqOnly = { ...sizes, total: 0 }
  const systems: Array<{ key: string; what: string; run: () => Promise<SystemFigures | undefined> }> = [
    { key: 'floor', what: 'floor (raw 4-hop MQTT on Aedes)', run: () => measureFloor(sizes) },
    { key: 'edgerun', what: 'edgerun (1 worker, noop, SQLite store)', run: () => measureEdgerun(sizes) },
    { key: 'plain', what: 'edgerun, plain mqtt.js submitter (protocol defaults, Nagle on)', run: () => measureEdgerun(plainSizes, { client: 'plain' }) },
    { key: 'plainNoDelay', what: 'edgerun, plain submitter with TCP_NODELAY, sequential only, 1 worker', run: () => measureEdgerun(seqOnly, { client: 'plain', noDelay: true }) },
    { key: 'plainNoDelay3Workers', what: 'the same, 3 workers', run: () => measureEdgerun(seqOnly, { client: 'plain', noDelay: true, workers: 3 }) },
    ...(full ? [{ key: 'bullmq', what: 'bullmq + redis', run: () => measureBullmq(sizes) }] : []),
  ]
  // The systems take turns, `repeats` rounds, and each figure is the median of its rounds:
  // a noisy neighbour then costs every system alike instead of whichever ran at that moment.
  const repeats = values.quick ? 1 : 3
  const rounds: Record<string, SystemFigures[]> = Object.fromEntries(systems.map(({ key }) => [key, []]))
  for (let r = 1; r <= repeats; r++) {
    for (const { key, what, run } of systems) {
      log(`round ${r}/${repeats}: ${what}…`)
      const figures = await round_(`${key} round ${r}`, run)
      if (figures) rounds[key]!.push(figures)
      log(`  ${JSON.stringify(figures ?? (key === 'bullmq' && !redisAvailable() ? 'skipped: redis-server not found' : 'failed'))}`)
    }
  }
  for (const { key } of systems) if (key !== 'bullmq') results[key] = medianFigures(rounds[key]!)
  if (full) results.bullmq = rounds.bullmq!.length > 0 ? medianFigures(rounds.bullmq!) : { jobsPerSec: null, skipped: redisAvailable() ? 'every round failed' : 'redis-server not found' }
  results.rounds = rounds
}
if (want('throughput')) {
  log('edgerun: 2 workers, noop…')
  results.edgerun2Workers = await measureEdgerun(sizes, { workers: 2 })
  log(`  ${JSON.stringify(results.edgerun2Workers)}`)
  log('edgerun: 1 worker, command /bin/true…')
  results.edgerunCommand = await measureEdgerun({ ...sizes, total: Math.min(sizes.total, 5_000), sequential: Math.min(sizes.sequential, 500) }, { kind: 'command', slots: 2 })
  log(`  ${JSON.stringify(results.edgerunCommand)}`)
}

if (want('death')) {
  log('death: kill -9 of a worker holding 50 running jobs…')
  results.death = await measureDeath(values.quick ? 3 : 7)
  log(`  ${JSON.stringify(results.death)}`)
}
if (want('scale')) {
  log(`scale: dispatch with 1k and ${values.quick ? '100k' : '1M'} queued…`)
  results.scale = await measureScale(values.quick ? 100_000 : 1_000_000)
  log(`  ${JSON.stringify(results.scale)}`)
}
// The fleet: simulated plain-mqtt.js workers in two processes against a real broker process.
// `connections` is its small size (500 in one simulator process), as the scenario was before.
if (want('fleet')) {
  const workers = values['fleet-workers'] ? Number(values['fleet-workers']) : values.quick ? 2_000 : 10_000
  log(`fleet: ${workers} simulated workers: cold storm, kill -9 storm, dispatch wide vs narrow…`)
  results.fleet = await round_('fleet', () => measureFleet({ workers, simProcesses: 2, jobs: values.quick ? 5_000 : 20_000, stormTimeoutMs: 180_000 }, log))
  log(`  ${JSON.stringify(results.fleet)}`)
}
if (want('connections')) {
  const workers = values.quick ? 200 : 500
  log(`connections: ${workers} workers, then a kill -9 and restart of the broker-master…`)
  results.connections = await round_('connections', () => measureFleet({ workers, simProcesses: 1, jobs: 2_000, stormTimeoutMs: 120_000 }, log))
  log(`  ${JSON.stringify(results.connections)}`)
}
if (want('failover')) {
  const kills = values.quick ? 5 : 7
  log(`failover: 2 masters on Postgres under 200 jobs/s; kill -9 the active one ${kills} times, then SIGTERM it 3 times…`)
  results.failover = await round_('failover', () => measureFailover(kills, 3, log))
  log(`  ${JSON.stringify(results.failover)}`)
}
if (want('judge')) {
  log('judge: trivial C and Python solutions, 1 worker, 2 slots, beside a bare fork+exec launcher…')
  results.judge = await measureJudge(values.quick ? 4 : 8)
  log(`  ${JSON.stringify(results.judge)}`)
}
if (want('metrics')) {
  const rounds = Math.max(1, Number(values.rounds ?? 3))
  log(`metrics: edgerun with /metrics on (scraped every second) and off, taking turns, ${rounds} rounds each…`)
  results.metrics = await measureMetrics(sizes, rounds, log)
  const m = results.metrics as { throughputRatio: number; pairedThroughputRatio: number; seqP50Ratio: number; cpuPerJobRatio: number; eventsNsPerJob: { unheard: number; metrics: number }; scrapeCpuMs: number }
  log(`  on ÷ off: jobs/s ${m.throughputRatio} (per round: ${m.pairedThroughputRatio}), sequential p50 ${m.seqP50Ratio}, CPU per job ${m.cpuPerJobRatio}`)
  log(`  the master's events of one job: ${m.eventsNsPerJob.unheard} ns unheard, ${m.eventsNsPerJob.metrics} ns with metrics; one scrape: ${m.scrapeCpuMs} ms CPU`)
}
if (want('startup')) {
  log('startup: edgerun --version and --help against node -e 0, interleaved…')
  results.startup = await measureStartup(values.quick ? 9 : 21)
  log(`  ${JSON.stringify(results.startup)}`)
}
if (want('postgres')) {
  // BENCH_PG_LARGE: a smaller deep queue where seeding 1 M rows takes too long.
  const large = Number(process.env.BENCH_PG_LARGE) || (values.quick ? 100_000 : 1_000_000)
  log(`postgres: jobs/s on Postgres vs SQLite, then dispatch with 1k and ${large} queued in Postgres…`)
  results.postgres = await round_('postgres', () => measurePostgres(sizes, { large, repeats: values.quick ? 1 : 3, log }))
  log(`  ${JSON.stringify(results.postgres)}`)
}
results.verdicts = verdicts(results)
process.stderr.write(`\n${(results.verdicts as { table: string }).table}\n\n`)

const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`)
log(`wrote ${dir}latest.json`)
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
process.exit(0)
