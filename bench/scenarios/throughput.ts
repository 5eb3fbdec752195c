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
}

export interface LoadSizes {
  total: number
  inFlight: number
  sequential: number
}

async function drive(system: 'floor' | 'edgerun', url: string, ns: string, sizes: LoadSizes, kind: 'noop' | 'command', submitters = 1): Promise<SystemFigures> {
  const per = Math.ceil(sizes.total / submitters)
  const roles = Array.from({ length: submitters }, () =>
    startRole<LoadResult>('submitter', { system, url, ns, mode: 'throughput', total: per, inFlight: Math.ceil(sizes.inFlight / submitters), kind }),
  )
  const results = await Promise.all(roles.map((role) => role.result))
  const jobsPerSec = results.reduce((sum, r) => sum + r.jobsPerSec, 0)
  const seqRole = startRole<{ latencies: number[] }>('submitter', { system, url, ns, mode: 'sequential', total: sizes.sequential, inFlight: 1, kind })
  const { latencies } = await seqRole.result
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

export async function measureEdgerun(sizes: LoadSizes, options: { workers?: number; kind?: 'noop' | 'command'; slots?: number } = {}): Promise<SystemFigures> {
  const ns = `er-${randomBytes(3).toString('hex')}`
  const broker = await edgerunBroker(ns)
  const workers: ChildProcess[] = []
  try {
    for (let i = 1; i <= (options.workers ?? 1); i++) {
      workers.push(await edgerunWorker(broker.url, ns, `w${i}`, ['--slots', String(options.slots ?? 1000), '--no-judge', '--command', 'true=/bin/true']))
    }
    return await drive('edgerun', broker.url, ns, sizes, options.kind ?? 'noop')
  } finally {
    await Promise.all(workers.map((worker) => stop(worker)))
    await broker.close()
  }
}
