import type { NoopJobSpec } from '../../protocol/index.js'
import type { RunContext, RunOutcome } from './runner.js'

/** The harmless built-in kind: optionally sleeps, then succeeds. Runs in-process. */
export async function runNoop(job: NoopJobSpec, { signal }: RunContext): Promise<RunOutcome> {
  if (signal.aborted) return canceled()
  const sleepMs = job.sleepMs ?? 0
  if (sleepMs === 0) return { state: 'succeeded', output: { ok: true } }
  if (sleepMs > job.timeoutMs) {
    await wait(job.timeoutMs, signal)
    return signal.aborted ? canceled() : { state: 'timed_out', output: null, error: `noop sleep of ${sleepMs} ms exceeds timeoutMs ${job.timeoutMs}` }
  }
  await wait(sleepMs, signal)
  return signal.aborted ? canceled() : { state: 'succeeded', output: { ok: true } }
}

function canceled(): RunOutcome {
  return { state: 'canceled', output: null, error: 'canceled' }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
