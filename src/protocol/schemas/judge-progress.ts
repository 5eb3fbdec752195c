import { z } from 'zod'
import { judgeTestResultSchema, type JudgeTestResult } from './outputs.js'

/**
 * The judge's live progress (docs/protocol.md, "progress"): a worker reports verdicts as
 * `progress` events, either one per event (`state: "test"`) or several at once (`state:
 * "tests"`), in test order. Grouping changes how many messages there are, not what they say:
 * expand both with `judgeVerdicts`.
 */
export const JUDGE_TEST_STATE = 'test'
export const JUDGE_TESTS_STATE = 'tests'

/** Verdicts one `tests` event may carry at most (a worker sends them sooner). */
export const MAX_GROUPED_VERDICTS = 256

const index = z.number().int().nonnegative()
const total = z.number().int().positive()

/** `detail` of a `test` event: one verdict. */
export const judgeTestProgressSchema = judgeTestResultSchema.extend({ index, total })

/** `detail` of a `tests` event: consecutive verdicts, in test order. */
export const judgeTestsProgressSchema = z.object({
  total,
  tests: z.array(judgeTestResultSchema.extend({ index })).min(1).max(MAX_GROUPED_VERDICTS),
})

export type JudgeTestProgress = JudgeTestResult & { index: number; total: number }
export type JudgeTestsProgress = z.infer<typeof judgeTestsProgressSchema>

/**
 * What a reader insists on: a verdict and where it stands. A worker that leaves out a name, a
 * time or a memory figure still shows progress (the name is then the 1-based number).
 */
const lenientTest = z.object({
  index,
  verdict: z.string(),
  name: z.string().optional(),
  timeMs: z.number().nonnegative().optional(),
  memoryKb: z.number().nonnegative().optional(),
  detail: z.string().optional(),
  total: total.optional(),
})
const lenientGroup = z.object({ total: total.optional(), tests: z.array(lenientTest) })

function complete(test: z.infer<typeof lenientTest>, groupTotal: number | undefined): JudgeTestProgress {
  const { index: at, verdict, name, timeMs, memoryKb, detail, total: own } = test
  return {
    index: at,
    total: own ?? groupTotal ?? at + 1,
    name: name ?? String(at + 1),
    verdict: verdict as JudgeTestProgress['verdict'],
    timeMs: timeMs ?? 0,
    memoryKb: memoryKb ?? 0,
    ...(detail !== undefined ? { detail } : {}),
  }
}

/** The verdicts a progress event carries, in order: one for `test`, several for `tests`, none otherwise. */
export function judgeVerdicts(event: { state: string; detail?: unknown }): JudgeTestProgress[] {
  if (event.state === JUDGE_TEST_STATE) {
    const one = lenientTest.safeParse(event.detail)
    return one.success ? [complete(one.data, undefined)] : []
  }
  if (event.state === JUDGE_TESTS_STATE) {
    const group = lenientGroup.safeParse(event.detail)
    return group.success ? group.data.tests.map((test) => complete(test, group.data.total)) : []
  }
  return []
}
