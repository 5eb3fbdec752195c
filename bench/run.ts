import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureBullmq } from './scenarios/bullmq.js'
import { measureEdgerun, measureFloor, type LoadSizes } from './scenarios/throughput.js'
import { round } from './lib/stats.js'

/**
 * `npm run bench`: edgerun side by side with its baselines, in one run on one machine. The
 * verdicts are ratios, because absolute figures on a shared 2-core box mean little.
 */
const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
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

if (want('throughput')) {
  log('floor: raw 4-hop MQTT round trip on Aedes…')
  results.floor = await measureFloor(sizes)
  log(`  ${JSON.stringify(results.floor)}`)
  log('edgerun: 1 worker, noop, SQLite store…')
  results.edgerun = await measureEdgerun(sizes)
  log(`  ${JSON.stringify(results.edgerun)}`)
  log('edgerun: 2 workers, noop…')
  results.edgerun2Workers = await measureEdgerun(sizes, { workers: 2 })
  log(`  ${JSON.stringify(results.edgerun2Workers)}`)
  log('edgerun: 1 worker, command /bin/true…')
  results.edgerunCommand = await measureEdgerun({ ...sizes, total: Math.min(sizes.total, 5_000), sequential: Math.min(sizes.sequential, 500) }, { kind: 'command', slots: 2 })
  log(`  ${JSON.stringify(results.edgerunCommand)}`)
  log('bullmq + redis…')
  results.bullmq = (await measureBullmq(sizes)) ?? { jobsPerSec: null, skipped: 'redis-server not found' }
  log(`  ${JSON.stringify(results.bullmq)}`)
}

const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`)
log(`wrote ${dir}latest.json`)
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
process.exit(0)
