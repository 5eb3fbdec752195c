/**
 * The worker's grouping of judge verdicts into `tests` progress events, and the readers'
 * expansion of both forms. The intervals are either zero or far longer than the test, so no
 * assertion rests on how fast the machine is.
 */
import { describe, expect, it } from 'vitest'
import { judgeVerdicts, type JudgeTestsProgress } from '../../src/protocol/index.js'
import { groupTestProgress } from '../../src/worker/runners/test-progress.js'
import { describeEvent, testProgressBar } from '../../cli/job-progress.js'

const verdict = (i: number) => ({ name: String(i + 1), verdict: 'AC' as const, timeMs: i, memoryKb: 1000 })

describe('groupTestProgress', () => {
  it('sends the first verdict at once and groups the ones within the interval, in order', () => {
    const sent: JudgeTestsProgress[] = []
    const progress = groupTestProgress(5, (state, detail) => {
      expect(state).toBe('tests')
      sent.push(detail)
    }, 60_000)
    for (let i = 0; i < 5; i++) progress.add(verdict(i), i)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.tests.map((t) => t.index)).toEqual([0])
    progress.flush()
    expect(sent).toHaveLength(2)
    expect(sent[1]).toEqual({ total: 5, tests: [1, 2, 3, 4].map((i) => ({ index: i, ...verdict(i) })) })
    progress.flush()
    expect(sent).toHaveLength(2)
  })

  it('with no interval, every verdict is its own event', () => {
    const sent: JudgeTestsProgress[] = []
    const progress = groupTestProgress(3, (_state, detail) => sent.push(detail), 0)
    for (let i = 0; i < 3; i++) progress.add(verdict(i), i)
    expect(sent.map((d) => d.tests.map((t) => t.index))).toEqual([[0], [1], [2]])
  })

  it('sends a full group without waiting', () => {
    const sent: JudgeTestsProgress[] = []
    const progress = groupTestProgress(1000, (_state, detail) => sent.push(detail), 60_000)
    for (let i = 0; i < 600; i++) progress.add(verdict(i), i)
    progress.flush()
    expect(sent.map((d) => d.tests.length)).toEqual([1, 256, 256, 87])
    expect(sent.flatMap((d) => d.tests.map((t) => t.index))).toEqual(Array.from({ length: 600 }, (_, i) => i))
  })
})

describe('reading judge progress', () => {
  const base = { v: 1 as const, type: 'progress' as const, jobId: 'j1', attempt: 1, node: 'w1' }

  it('expands `test` and `tests` to the same verdicts', () => {
    const one = { ...base, state: 'test', detail: { index: 2, total: 3, ...verdict(2) } }
    const group = { ...base, state: 'tests', detail: { total: 3, tests: [{ index: 2, ...verdict(2) }] } }
    expect(judgeVerdicts(one)).toEqual(judgeVerdicts(group))
    expect(judgeVerdicts(one)).toEqual([{ index: 2, total: 3, ...verdict(2) }])
    expect(judgeVerdicts({ ...base, state: 'running' })).toEqual([])
    expect(judgeVerdicts({ ...base, state: 'tests', detail: { total: 3, tests: 'nope' } })).toEqual([])
  })

  it('the CLI prints one line per verdict, grouped or not', () => {
    const group = { ...base, state: 'tests', detail: { total: 3, tests: [0, 1].map((i) => ({ index: i, ...verdict(i) })) } }
    const one = { ...base, state: 'test', detail: { index: 0, total: 3, ...verdict(0) } }
    const lines = describeEvent(group).split('\n')
    expect(lines).toEqual(['j1: test on w1 (attempt 1): test 1/3 AC 0 ms', 'j1: test on w1 (attempt 1): test 2/3 AC 1 ms'])
    expect(describeEvent(one)).toBe(lines[0])
  })

  it('the single-job bar counts verdicts, grouped or not', () => {
    let out = ''
    const progress = testProgressBar((text) => (out += text))
    progress.update({ ...base, state: 'tests', detail: { total: 3, tests: [0, 1].map((i) => ({ index: i, ...verdict(i) })) } })
    expect(out).toContain('2/3 tests')
    progress.update({ ...base, state: 'test', detail: { index: 2, total: 3, ...verdict(2) } })
    expect(out).toContain('3/3 tests')
    expect(out).not.toContain('tests on w1')
  })
})
