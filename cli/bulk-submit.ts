import type { EdgerunClient, SubmitSpec } from '../src/client/client.js'
import { newJobId } from '../src/client/ids.js'

export interface BulkReport {
  total: number
  succeeded: number
  failed: number
  rejected: number
  elapsedMs: number
  jobsPerSec: number
}

/** `submit --count N`: N copies of one spec, all in flight at once, one summary at the end. */
export async function submitMany(client: EdgerunClient, spec: SubmitSpec, count: number, onDone?: (done: number) => void): Promise<BulkReport> {
  const base = spec.id ?? newJobId()
  const started = performance.now()
  let done = 0
  const replies = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const reply = await client.submit({ ...spec, id: `${base}-${i}` } as SubmitSpec)
      onDone?.(++done)
      return reply
    }),
  )
  const elapsedMs = performance.now() - started
  const succeeded = replies.filter((r) => r.type === 'result' && r.state === 'succeeded').length
  const rejected = replies.filter((r) => r.type === 'rejected').length
  return { total: count, succeeded, failed: count - succeeded - rejected, rejected, elapsedMs: Math.round(elapsedMs), jobsPerSec: Math.round((count / elapsedMs) * 1000) }
}
