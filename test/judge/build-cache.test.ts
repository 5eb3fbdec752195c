/**
 * A source judged again is not compiled again, and nothing else changes: the same verdicts, the
 * same compiler messages, a CE stays a CE, and a different source is built on its own.
 */
import { describe, expect, it } from 'vitest'
import { detectLanguages, runJudge } from '../../src/judge/index.js'
import { requireLanguage } from '../helpers/binaries.js'
import { judgeJob } from './judge-helpers.js'

const languages = await detectLanguages()

describe('build cache', () => {
  it('judges a resubmitted source the same, from its kept build', { timeout: 60_000 }, async () => {
    requireLanguage(languages, 'c')
    const ok = '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n'
    const wrong = '#include <stdio.h>\nint main(void) { puts("no"); return 0; }\n'
    const broken = 'int main(void) { return x; }\n'
    const first = await runJudge(judgeJob('c', ok))
    const again = await runJudge(judgeJob('c', ok))
    expect(first.verdict).toBe('AC')
    expect(again.verdict).toBe('AC')
    expect(again.tests.map((t) => [t.name, t.verdict])).toEqual(first.tests.map((t) => [t.name, t.verdict]))
    expect(again.compile).toEqual(first.compile)
    expect((await runJudge(judgeJob('c', wrong))).verdict).toBe('WA')
    const ce = await runJudge(judgeJob('c', broken))
    const ceAgain = await runJudge(judgeJob('c', broken))
    expect(ce.verdict).toBe('CE')
    expect(ceAgain).toEqual(ce)
  })

  it('keeps interpreted sources too, and writes the source for every job', { timeout: 60_000 }, async () => {
    requireLanguage(languages, 'python3')
    const source = 'print("ok")\n'
    for (let i = 0; i < 2; i++) expect((await runJudge(judgeJob('python3', source))).verdict).toBe('AC')
    const bad = 'print("ok"\n'
    for (let i = 0; i < 2; i++) expect((await runJudge(judgeJob('python3', bad))).verdict).toBe('CE')
  })
})
