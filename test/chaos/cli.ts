import { parseArgs } from 'node:util'
import { runChaos } from './chaos.js'

/** `npm run chaos -- --jobs N --duration S [--seed X] [--workers N] [--submitters N]` */
const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    duration: { type: 'string', default: '120' },
    seed: { type: 'string', default: process.env.CHAOS_SEED },
    workers: { type: 'string', default: '3' },
    submitters: { type: 'string', default: '2' },
  },
})
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
const report = await runChaos({
  jobs: Number(values.jobs),
  durationS: Number(values.duration),
  seed,
  workers: Number(values.workers),
  submitters: Number(values.submitters),
  killBroker: true,
  log: (line) => console.error(line),
})
console.log(JSON.stringify(report, null, 2))
console.error(`chaos: ${report.submitted} submitted, ${report.lost} lost, ${report.duplicated} duplicated, ${report.conflicting} conflicting (seed ${seed}; replay with CHAOS_SEED=${seed})`)
process.exit(report.lost === 0 && report.duplicated === 0 ? 0 : 1)
