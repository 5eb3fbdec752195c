import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { startRole } from './lib/child.js'
import { edgerunBroker, edgerunWorker, floorBroker, stop } from './lib/cluster.js'
import { processCpuMs, selfCpuMs } from './lib/cpu.js'
import type { LoadResult } from './lib/loadgen.js'
import { percentile } from './lib/stats.js'

/**
 * `node [--cpu-prof] dist/bench/profile.js`: one run of SYSTEM=edgerun|floor, with the CPU each
 * process spent per job: on a shared 2-core box that is steadier than jobs/s.
 * MODE=sequential measures one job at a time (p50/p99) instead; STORE=memory swaps the SQLite
 * store out, to show what the store costs (never a published figure: the store must be on).
 */
const system = (process.env.SYSTEM ?? 'edgerun') as 'edgerun' | 'floor'
const mode = (process.env.MODE ?? 'throughput') as 'throughput' | 'sequential'
const store = (process.env.STORE ?? 'sqlite') as 'sqlite' | 'memory'
const ns = `prof-${randomBytes(3).toString('hex')}`
const broker = system === 'floor' ? await floorBroker(ns, 'w1') : await edgerunBroker(ns, 0, undefined, store)
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
const total = Number(process.env.JOBS ?? (mode === 'sequential' ? 2000 : 20000))
const perJob = (ms: number) => `${Math.round((ms / total) * 1000)} µs/job`
if (mode === 'sequential') {
  const { latencies } = await startRole<{ latencies: number[] }>('submitter', { system, url: broker.url, ns, mode, total, inFlight: 1, kind: 'noop' }).result
  const at = (p: number) => percentile(latencies, p).toFixed(3)
  process.stderr.write(`${system} (${store}): sequential p50 ${at(50)} ms, p99 ${at(99)} ms; CPU: broker ${perJob(selfCpuMs() - brokerCpu0)}, worker ${perJob(processCpuMs(worker.pid) - workerCpu0)}\n`)
} else {
  const result = await startRole<LoadResult>('submitter', { system, url: broker.url, ns, mode, total, inFlight: 1000, kind: 'noop' }).result
  process.stderr.write(`${system} (${store}): ${Math.round(result.jobsPerSec)} jobs/s; CPU: broker ${perJob(selfCpuMs() - brokerCpu0)}, worker ${perJob(processCpuMs(worker.pid) - workerCpu0)}, submitter ${perJob(result.cpuMs)}\n`)
}
const storeStats = (broker.edgerun?.store as { stats?: { commits: number; rowsWritten: number } } | undefined)?.stats
if (storeStats) process.stderr.write(`store: ${storeStats.commits} commits, ${(storeStats.rowsWritten / total).toFixed(2)} rows/job, ${(storeStats.rowsWritten / storeStats.commits).toFixed(1)} rows/commit\n`)
await stop(worker, 'SIGTERM')
await broker.close()
