import { randomBytes } from 'node:crypto'
import { startRole } from '../lib/child.js'
import type { LoadResult } from '../lib/loadgen.js'
import { redisAvailable, startRedis } from '../../test/helpers/redis.js'
import { percentile, round } from '../lib/stats.js'
import { freePort } from '../../test/helpers/ports.js'
import type { LoadSizes, SystemFigures } from './throughput.js'

/** BullMQ + Redis: add + waitUntilFinished with a no-op processor. Undefined when Redis is missing. */
export async function measureBullmq(sizes: LoadSizes): Promise<(SystemFigures & { redis: string }) | undefined> {
  const binary = redisAvailable()
  if (!binary) return undefined
  const port = await freePort()
  const redis = await startRedis(binary, port)
  const queue = `bench-${randomBytes(3).toString('hex')}`
  const worker = startRole('bullmq', { port, queue, role: 'worker' })
  try {
    await worker.ready
    const load = await startRole<LoadResult>('bullmq', { port, queue, role: 'submitter', mode: 'throughput', total: sizes.total, inFlight: sizes.inFlight }).result
    const seq = await startRole<{ latencies: number[] }>('bullmq', { port, queue, role: 'submitter', mode: 'sequential', total: sizes.sequential, inFlight: 1 }).result
    return { jobsPerSec: round(load.jobsPerSec, 0), seqP50Ms: round(percentile(seq.latencies, 50)), seqP99Ms: round(percentile(seq.latencies, 99)), redis: binary }
  } finally {
    worker.kill()
    redis.kill('SIGKILL')
  }
}
