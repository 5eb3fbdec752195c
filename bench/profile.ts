import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { startRole } from './lib/child.js'
import { edgerunBroker, edgerunWorker, floorBroker, stop } from './lib/cluster.js'
import { processCpuMs, selfCpuMs } from './lib/cpu.js'
import type { LoadResult } from './lib/loadgen.js'

/**
 * `node [--cpu-prof] dist/bench/profile.js`: one throughput run of SYSTEM=edgerun|floor, with the
 * CPU each process spent per job: on a shared 2-core box that is steadier than jobs/s.
 */
const system = (process.env.SYSTEM ?? 'edgerun') as 'edgerun' | 'floor'
const ns = `prof-${randomBytes(3).toString('hex')}`
const broker = system === 'floor' ? await floorBroker(ns, 'w1') : await edgerunBroker(ns)
let worker: ChildProcess
if (system === 'floor') {
  const role = startRole('floor-worker', { url: broker.url, ns, node: 'w1' })
  await role.ready
  worker = role.child
} else {
  worker = await edgerunWorker(broker.url, ns, 'w1', ['--slots', '1000', '--no-judge'])
}
const brokerCpu0 = selfCpuMs()
const workerCpu0 = processCpuMs(worker.pid)
const result = await startRole<LoadResult>('submitter', { system, url: broker.url, ns, mode: 'throughput', total: Number(process.env.JOBS ?? 20000), inFlight: 1000, kind: 'noop' }).result
const perJob = (ms: number) => `${Math.round((ms / result.total) * 1000)} µs/job`
process.stderr.write(`${system}: ${Math.round(result.jobsPerSec)} jobs/s; CPU: broker ${perJob(selfCpuMs() - brokerCpu0)}, worker ${perJob(processCpuMs(worker.pid) - workerCpu0)}, submitter ${perJob(result.cpuMs)}\n`)
const storeStats = (broker.edgerun?.store as { stats?: { commits: number; rowsWritten: number } } | undefined)?.stats
if (storeStats) process.stderr.write(`store: ${storeStats.commits} commits, ${(storeStats.rowsWritten / result.total).toFixed(2)} rows/job, ${(storeStats.rowsWritten / storeStats.commits).toFixed(1)} rows/commit\n`)
await stop(worker, 'SIGTERM')
await broker.close()
