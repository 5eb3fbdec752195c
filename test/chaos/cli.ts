import { parseArgs } from 'node:util'
import { FAULTS, runChaos, type Fault } from './chaos.js'
import { runFailoverChaos } from './failover-chaos.js'
import { randomSeed } from './seeds.js'

/**
 * `npm run chaos -- --jobs N --duration S [--seed X] [--workers N] [--submitters N]
 *   [--faults kill,cut,stall,delay] [--fault-every MS] [--noop-ms MS] [--keepalive S] [--slots N]
 *   [--no-broker-kill] [--flaky] [--failover [--master-kills N]]`
 *
 * `--flaky` is the flaky-link run of docs/protocol.md §10: 3 workers whose links are cut or
 * stalled every 700 ms for 40 s (keepalive 2 s), 4,000 noop jobs of 500 ms with the default
 * budgets, no kills. Flags given with it override its values.
 *
 * `--failover` is the standby masters' run (test/chaos/failover-chaos.ts): two `edgerun master
 * --store postgres://…` behind a Mosquitto, the active one killed -9 `--master-kills` times (2),
 * plain mqtt.js submitters; it takes --jobs, --duration, --workers, --submitters and --faults.
 */
const { values } = parseArgs({
  options: {
    jobs: { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string', default: process.env.CHAOS_SEED },
    workers: { type: 'string' },
    submitters: { type: 'string' },
    faults: { type: 'string' },
    'fault-every': { type: 'string' },
    'noop-ms': { type: 'string' },
    keepalive: { type: 'string' },
    slots: { type: 'string' },
    'no-broker-kill': { type: 'boolean', default: false },
    flaky: { type: 'boolean', default: false },
    failover: { type: 'boolean', default: false },
    'master-kills': { type: 'string', default: '2' },
  },
})
const preset: Record<string, string | undefined> = values.flaky
  ? { jobs: '4000', duration: '40', workers: '3', submitters: '2', faults: 'cut,stall', 'fault-every': '700', 'noop-ms': '500', keepalive: '2', slots: '16' }
  : { jobs: '20000', duration: '120', workers: '3', submitters: '2' }
const option = (name: 'jobs' | 'duration' | 'workers' | 'submitters' | 'faults' | 'fault-every' | 'noop-ms' | 'keepalive' | 'slots') => values[name] ?? preset[name]
const number = (text: string | undefined) => (text === undefined ? undefined : Number(text))
const faults = option('faults')?.split(',') as Fault[] | undefined
for (const fault of faults ?? []) if (!FAULTS.includes(fault)) throw new Error(`--faults: unknown fault ${fault} (known: ${FAULTS.join(', ')})`)

// Random unless given: `npm run chaos` is for finding new schedules, `npm test` replays known ones.
const seed = values.seed ? Number(values.seed) : randomSeed()
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed ${values.seed}: must be an integer of 0 or more`)
console.error(`chaos: seed ${seed} (replay: npm run chaos -- --seed ${seed} with the same flags)`)
if (values.failover) {
  const report = await runFailoverChaos({
    jobs: Number(option('jobs')),
    durationS: Number(option('duration')),
    seed,
    workers: Number(option('workers')),
    submitters: Number(option('submitters')),
    masterKills: Number(values['master-kills']),
    log: (line) => console.error(line),
    ...(faults ? { faults } : {}),
  })
  const { diagnostics, ...summary } = report
  console.log(JSON.stringify(summary, null, 2))
  if (diagnostics) console.error(diagnostics)
  const failed = report.states.failed ?? 0
  console.error(
    `failover chaos: ${report.submitted} submitted, ${report.lost} lost, ${report.duplicated} duplicated, ${report.rejected} rejected, ${failed} failed ` +
      `(takeovers ${report.takeovers.map((t) => `${t.gapMs} ms`).join(', ')}; seed ${seed}; replay with --seed ${seed})`,
  )
  process.exit(report.error === undefined && report.lost === 0 && report.duplicated === 0 && failed === 0 ? 0 : 1)
}
const report = await runChaos({
  jobs: Number(option('jobs')),
  durationS: Number(option('duration')),
  seed,
  workers: Number(option('workers')),
  submitters: Number(option('submitters')),
  killBroker: !values.flaky && !values['no-broker-kill'],
  log: (line) => console.error(line),
  ...(faults ? { faults } : {}),
  faultEveryMs: number(option('fault-every')),
  noopMs: number(option('noop-ms')),
  keepaliveS: number(option('keepalive')),
  slots: number(option('slots')),
})
console.log(JSON.stringify(report, null, 2))
const failed = report.states.failed ?? 0
console.error(
  `chaos: ${report.submitted} submitted, ${report.lost} lost, ${report.duplicated} duplicated, ${report.conflicting} conflicting, ${failed} failed ` +
    `(${report.connections} connections, ${JSON.stringify(report.actions)}; seed ${seed}; replay with --seed ${seed})`,
)
process.exit(report.lost === 0 && report.duplicated === 0 && failed === 0 ? 0 : 1)
