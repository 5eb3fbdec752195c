import { randomBytes } from 'node:crypto'
import { startRole } from '../lib/child.js'
import { edgerunBroker, edgerunWorker, floorBroker, stop } from '../lib/cluster.js'
import type { LoadResult } from '../lib/loadgen.js'
import { percentile, round } from '../lib/stats.js'
import type { ChildProcess } from 'node:child_process'

export interface SystemFigures {
  jobsPerSec: number
  seqP50Ms: number
  seqP99Ms: number
  /** With `cpu`: CPU time of this process (the in-process broker-master) per job, in µs. */
  cpuUsPerJob?: number
}

export interface LoadSizes {
  total: number
  inFlight: number
  sequential: number
}

/** Who submits: the floor's raw sender, `EdgerunClient`, or a plain mqtt.js client (bench/roles/plain-submitter.ts). */
export type Submitter = 'floor' | 'edgerun' | 'plain'

/** `sizes.total` 0 skips the throughput phase (`jobsPerSec` is then NaN, `null` in the JSON). */
async function drive(system: Submitter, url: string, ns: string, sizes: LoadSizes, kind: 'noop' | 'command', noDelay = false): Promise<SystemFigures> {
  const role = system === 'plain' ? 'plain-submitter' : 'submitter'
  const config = { system, url, ns, kind, noDelay }
  const { jobsPerSec } = sizes.total > 0 ? await startRole<LoadResult>(role, { ...config, mode: 'throughput', total: sizes.total, inFlight: sizes.inFlight }).result : { jobsPerSec: NaN }
  const { latencies } = await startRole<{ latencies: number[] }>(role, { ...config, mode: 'sequential', total: sizes.sequential, inFlight: 1 }).result
  return { jobsPerSec: round(jobsPerSec, 0), seqP50Ms: round(percentile(latencies, 50)), seqP99Ms: round(percentile(latencies, 99)) }
}

export async function measureFloor(sizes: LoadSizes): Promise<SystemFigures> {
  const ns = `floor-${randomBytes(3).toString('hex')}`
  const broker = await floorBroker(ns, 'w1')
  const worker = startRole('floor-worker', { url: broker.url, ns, node: 'w1' })
  try {
    await worker.ready
    return await drive('floor', broker.url, ns, sizes, 'noop')
  } finally {
    worker.kill()
    await broker.close()
  }
}

/**
 * edgerun's broker-master (SQLite store on) with `workers` worker processes. `client: 'plain'`
 * submits with a plain mqtt.js client (noop jobs only) instead of `EdgerunClient`, with Nagle on
 * as `mqtt.connect` leaves it unless `noDelay`.
 */
export async function measureEdgerun(
  sizes: LoadSizes,
  options: { workers?: number; kind?: 'noop' | 'command'; slots?: number; client?: 'edgerun' | 'plain'; noDelay?: boolean; postgresUrl?: string; metrics?: boolean; cpu?: boolean } = {},
): Promise<SystemFigures> {
  const ns = `er-${randomBytes(3).toString('hex')}`
  const broker = options.postgresUrl
    ? await edgerunBroker(ns, 0, undefined, 'postgres', options.postgresUrl, { metrics: options.metrics })
    : await edgerunBroker(ns, 0, undefined, 'sqlite', undefined, { metrics: options.metrics })
  const workers: ChildProcess[] = []
  try {
    for (let i = 1; i <= (options.workers ?? 1); i++) {
      workers.push(await edgerunWorker(broker.url, ns, `w${i}`, ['--slots', String(options.slots ?? 1000), '--no-judge', '--command', 'true=/bin/true']))
    }
    const before = process.cpuUsage()
    const figures = await drive(options.client ?? 'edgerun', broker.url, ns, sizes, options.kind ?? 'noop', options.noDelay)
    if (!options.cpu) return figures
    const used = process.cpuUsage(before)
    return { ...figures, cpuUsPerJob: round((used.user + used.system) / (sizes.total + sizes.sequential), 1) }
  } finally {
    await Promise.all(workers.map((worker) => stop(worker)))
    await broker.close()
  }
}
