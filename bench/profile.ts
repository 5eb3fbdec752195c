import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { startRole } from './lib/child.js'
import { edgerunBroker, edgerunWorker, floorBroker, stop } from './lib/cluster.js'
import { processCpuMs, selfCpuMs } from './lib/cpu.js'
import type { LoadResult } from './lib/loadgen.js'
import { percentile } from './lib/stats.js'

/**
 * `node [--cpu-prof] dist/bench/profile.js`: one run of SYSTEM=edgerun|floor|plain, with the CPU
 * each process spent per job: on a shared 2-core box that is steadier than jobs/s.
 * MODE=sequential measures one job at a time (p50/p99) instead; STORE=memory swaps the SQLite
 * store out, to show what the store costs (never a published figure: the store must be on).
 * SYSTEM=plain submits to edgerun with a plain mqtt.js client (bench/roles/plain-submitter.ts;
 * NODELAY=1 sets TCP_NODELAY on its socket, PLAIN_FIELDS='{"progress":false}' adds fields to its
 * submits). WORKERS=n starts n edgerun workers (1,000 slots each).
 */
const system = (process.env.SYSTEM ?? 'edgerun') as 'edgerun' | 'floor' | 'plain'
const mode = (process.env.MODE ?? 'throughput') as 'throughput' | 'sequential'
const store = (process.env.STORE ?? 'sqlite') as 'sqlite' | 'memory'
const workerCount = system === 'floor' ? 1 : Number(process.env.WORKERS ?? 1)
const ns = `prof-${randomBytes(3).toString('hex')}`
const broker = system === 'floor' ? await floorBroker(ns, 'w1') : await edgerunBroker(ns, 0, undefined, store)
const workers: ChildProcess[] = []
if (system === 'floor') {
  const role = startRole('floor-worker', { url: broker.url, ns, node: 'w1' })
  await role.ready
  workers.push(role.child)
} else {
  for (let i = 1; i <= workerCount; i++) workers.push(await edgerunWorker(broker.url, ns, `w${i}`, ['--slots', '1000', '--no-judge']))
}
const workersCpu = () => workers.reduce((sum, worker) => sum + processCpuMs(worker.pid), 0)
const brokerCpu0 = selfCpuMs()
const workerCpu0 = workersCpu()
const total = Number(process.env.JOBS ?? (mode === 'sequential' ? 2000 : 20000))
const perJob = (ms: number) => `${Math.round((ms / total) * 1000)} µs/job`
const role = system === 'plain' ? 'plain-submitter' : 'submitter'
const roleConfig = { system, url: broker.url, ns, mode, total, kind: 'noop', noDelay: process.env.NODELAY === '1', fields: JSON.parse(process.env.PLAIN_FIELDS ?? '{}') as Record<string, unknown> }
const label = `${system}${system === 'plain' && roleConfig.noDelay ? ' (TCP_NODELAY)' : ''}${system === 'plain' && process.env.PLAIN_FIELDS ? ` ${process.env.PLAIN_FIELDS}` : ''} (${store}, ${workers.length} worker${workers.length > 1 ? 's' : ''})`
if (mode === 'sequential') {
  const { latencies, received } = await startRole<{ latencies: number[]; received?: Record<string, number> }>(role, { ...roleConfig, inFlight: 1 }).result
  const at = (p: number) => percentile(latencies, p).toFixed(3)
  process.stderr.write(`${label}: sequential p50 ${at(50)} ms, p99 ${at(99)} ms; CPU: broker ${perJob(selfCpuMs() - brokerCpu0)}, workers ${perJob(workersCpu() - workerCpu0)}${replies(received)}\n`)
} else {
  const result = await startRole<LoadResult & { received?: Record<string, number> }>(role, { ...roleConfig, inFlight: 1000 }).result
  process.stderr.write(`${label}: ${Math.round(result.jobsPerSec)} jobs/s; CPU: broker ${perJob(selfCpuMs() - brokerCpu0)}, workers ${perJob(workersCpu() - workerCpu0)}, submitter ${perJob(result.cpuMs)}${replies(result.received)}\n`)
}
/** The plain client's replies per job, by type (the sequential run's 50 warm-up jobs included). */
function replies(received: Record<string, number> | undefined): string {
  if (!received) return ''
  return `; replies per job: ${Object.entries(received).map(([type, n]) => `${type} ${(n / total).toFixed(2)}`).join(', ')}`
}
const storeStats = (broker.edgerun?.store as { stats?: { commits: number; rowsWritten: number } } | undefined)?.stats
if (storeStats) process.stderr.write(`store: ${storeStats.commits} commits, ${(storeStats.rowsWritten / total).toFixed(2)} rows/job, ${(storeStats.rowsWritten / storeStats.commits).toFixed(1)} rows/commit\n`)
await Promise.all(workers.map((worker) => stop(worker, 'SIGTERM')))
await broker.close()
