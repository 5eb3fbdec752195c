import type { JudgeJobSpec, JudgeTestResult } from '../../protocol/index.js'
import type { RunContext, RunOutcome } from './runner.js'
import { groupTestProgress } from './test-progress.js'

/** A judge run with any verdict is `succeeded`: WA is an answer, not a failure (docs/protocol.md §10). */
export async function runJudgeJob(job: JudgeJobSpec, { signal, onProgress, logger }: RunContext): Promise<RunOutcome> {
  if (signal.aborted) return { state: 'canceled', output: null, error: 'canceled before it started' }
  const deadline = AbortSignal.timeout(job.timeoutMs)
  const combined = AbortSignal.any([signal, deadline])
  const progress = groupTestProgress(job.tests.length, onProgress)
  try {
    // Loaded on first use: a worker that never judges never pays for the judge.
    const { runJudge } = await import('../../judge/index.js')
    const output = await runJudge(job, {
      signal: combined,
      logger,
      onTest: (test: JudgeTestResult, index: number) => progress.add(test, index),
    })
    if (signal.aborted) return { state: 'canceled', output: null, error: 'canceled' }
    if (deadline.aborted) return { state: 'timed_out', output, error: `judging exceeded timeoutMs ${job.timeoutMs}` }
    return { state: 'succeeded', output }
  } catch (error) {
    if (signal.aborted) return { state: 'canceled', output: null, error: 'canceled' }
    if (deadline.aborted) return { state: 'timed_out', output: null, error: `judging exceeded timeoutMs ${job.timeoutMs}` }
    return { state: 'failed', output: null, error: `judge failed: ${(error as Error).message}` }
  } finally {
    // Every verdict goes out before the result does.
    progress.flush()
  }
}
