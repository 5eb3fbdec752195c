/**
 * Groups a judge job's verdicts into `tests` progress events (docs/protocol.md, "progress"): at
 * most one every GROUP_INTERVAL_MS per job, every verdict in order. A verdict that comes after a
 * quiet spell goes out at once; the ones that follow it within the interval wait for the next
 * event. At ~200 tests/s a job sends ~20 events a second instead of 200, and a human watching
 * still sees it move.
 */
import { JUDGE_TESTS_STATE, MAX_GROUPED_VERDICTS, type JudgeTestResult, type JudgeTestsProgress } from '../../protocol/index.js'

export const GROUP_INTERVAL_MS = 50

export interface TestProgress {
  add(test: JudgeTestResult, index: number): void
  /** Sends what is waiting now (before the job's result, which must come after every verdict). */
  flush(): void
}

export function groupTestProgress(
  total: number,
  send: (state: string, detail: JudgeTestsProgress) => void,
  intervalMs = GROUP_INTERVAL_MS,
): TestProgress {
  let waiting: JudgeTestsProgress['tests'] = []
  let lastSent = -Infinity
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (waiting.length === 0) return
    const tests = waiting
    waiting = []
    lastSent = performance.now()
    send(JUDGE_TESTS_STATE, { total, tests })
  }
  return {
    add(test, index) {
      waiting.push({ index, ...test })
      const since = performance.now() - lastSent
      if (since >= intervalMs || waiting.length >= MAX_GROUPED_VERDICTS) flush()
      else timer ??= setTimeout(flush, intervalMs - since)
    },
    flush,
  }
}
