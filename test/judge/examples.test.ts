import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { detectLanguages, languageFromFile, loadProblem, runJudge } from '../../src/judge/index.js'
import type { JudgeJobSpec } from '../../src/protocol/index.js'
import { requireLanguage } from '../helpers/binaries.js'
import { expectedVerdict } from './judge-helpers.js'

const PROBLEMS = fileURLToPath(new URL('../../examples/problems/', import.meta.url))
const available = await detectLanguages()

const problems = readdirSync(PROBLEMS, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()

it('ships at least three example problems', () => {
  expect(problems.length).toBeGreaterThanOrEqual(3)
})

describe.each(problems)('example problem %s', (problemName) => {
  const dir = join(PROBLEMS, problemName)
  const solutions = readdirSync(join(dir, 'solutions')).sort()

  it('has at least one accepted solution', () => {
    expect(solutions.some((file) => file.startsWith('ac.'))).toBe(true)
  })

  it.each(solutions)('%s gets its verdict', { timeout: 30_000 }, async (file) => {
    const language = languageFromFile(file)
    expect(language, `${file}: unknown extension`).toBeDefined()
    requireLanguage(available, language!)
    const problem = await loadProblem(dir)
    const job: JudgeJobSpec = {
      kind: 'judge', id: `example-${problemName}-${file}`, priority: 0, timeoutMs: 60_000, maxAttempts: 1,
      requires: { labels: [] }, wait: true, language: language!,
      source: await readFile(join(dir, 'solutions', file), 'utf8'),
      tests: problem.tests, timeLimitMs: problem.timeLimitMs, memoryLimitMb: problem.memoryLimitMb, checker: problem.checker,
    }
    const seen: number[] = []
    const output = await runJudge(job, { onTest: (_result, index) => seen.push(index) })
    const summary = JSON.stringify({ verdict: output.verdict, tests: output.tests, compile: output.compile?.ok ? 'ok' : output.compile?.output.slice(0, 300) })
    expect(output.verdict, summary).toBe(expectedVerdict(file))
    if (output.verdict === 'CE') {
      expect(output.tests).toEqual([])
      expect(output.compile?.ok).toBe(false)
      expect(output.compile?.output.length).toBeGreaterThan(0)
    } else {
      expect(output.compile?.ok).toBe(true)
      expect(seen).toEqual(output.tests.map((_, index) => index))
      // Stops at the first non-AC test; an accepted run went through all of them.
      expect(output.tests.slice(0, -1).every((test) => test.verdict === 'AC')).toBe(true)
      expect(output.tests.at(-1)!.verdict).toBe(output.verdict)
      if (output.verdict === 'AC') expect(output.tests.map((test) => test.name)).toEqual(problem.tests.map((test) => test.name))
    }
  })
})
