import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { languageFromFile, loadProblem } from '../../src/judge/index.js'

const EXAMPLES = fileURLToPath(new URL('../../examples/problems/', import.meta.url))

describe('languageFromFile', () => {
  it('maps the extensions of docs/judge.md', () => {
    expect(languageFromFile('a/b/sol.py')).toBe('python3')
    expect(languageFromFile('sol.c')).toBe('c')
    expect(languageFromFile('sol.cpp')).toBe('cpp')
    expect(languageFromFile('sol.cc')).toBe('cpp')
    expect(languageFromFile('sol.js')).toBe('js')
    expect(languageFromFile('SOL.CPP')).toBe('cpp')
  })

  it('knows nothing else', () => {
    expect(languageFromFile('sol.ts')).toBeUndefined()
    expect(languageFromFile('sol.h')).toBeUndefined()
    expect(languageFromFile('Makefile')).toBeUndefined()
    expect(languageFromFile('py')).toBeUndefined()
  })
})

describe('loadProblem', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  function problemDir(settings: unknown, tests: Record<string, string> = { '1.in': '1 2\n', '1.out': '3\n' }): string {
    const dir = mkdtempSync(join(tmpdir(), 'edgerun-problem-'))
    dirs.push(dir)
    if (settings !== undefined) writeFileSync(join(dir, 'problem.json'), typeof settings === 'string' ? settings : JSON.stringify(settings))
    mkdirSync(join(dir, 'tests'))
    for (const [name, text] of Object.entries(tests)) writeFileSync(join(dir, 'tests', name), text)
    return dir
  }

  it('loads an example problem', async () => {
    const problem = await loadProblem(join(EXAMPLES, 'aplusb'))
    expect(problem.timeLimitMs).toBe(1000)
    expect(problem.memoryLimitMb).toBe(64)
    expect(problem.checker).toBe('tokens')
    expect(problem.tests.map((test) => test.name)).toEqual(['1', '2', '3'])
    expect(problem.tests[0]).toEqual({ name: '1', input: '1 2\n', expected: '3\n' })
  })

  it('defaults the checker to tokens and sorts tests by name, numbers numerically', async () => {
    const dir = problemDir(
      { timeLimitMs: 500, memoryLimitMb: 32 },
      { '10.in': 'x', '10.out': 'x', '2.in': 'y', '2.out': 'y', 'b.in': 'z', 'b.out': 'z', 'a.in': 'w', 'a.out': 'w' },
    )
    const problem = await loadProblem(dir)
    expect(problem.checker).toBe('tokens')
    expect(problem.tests.map((test) => test.name)).toEqual(['2', '10', 'a', 'b'])
  })

  it('names the file at fault', async () => {
    await expect(loadProblem(join(tmpdir(), 'edgerun-no-such-problem'))).rejects.toThrow(/edgerun-no-such-problem.*ENOENT/)
    // Every problem mistake carries the one code (docs/errors.md).
    await expect(loadProblem(join(tmpdir(), 'edgerun-no-such-problem'))).rejects.toMatchObject({ code: 'BAD_PROBLEM' })
    await expect(loadProblem(problemDir('{ nope'))).rejects.toMatchObject({ code: 'BAD_PROBLEM' })
    await expect(loadProblem(join(problemDir({ timeLimitMs: 1000, memoryLimitMb: 64 }), 'problem.json'))).rejects.toMatchObject({ code: 'BAD_PROBLEM', message: expect.stringMatching(/is not a directory$/) })
    await expect(loadProblem(problemDir(undefined))).rejects.toThrow(/problem\.json: ENOENT/)
    await expect(loadProblem(problemDir('{ nope'))).rejects.toThrow(/problem\.json is not valid JSON/)
    await expect(loadProblem(problemDir('[]'))).rejects.toThrow(/problem\.json must hold a JSON object/)
    await expect(loadProblem(problemDir({ memoryLimitMb: 64 }))).rejects.toThrow(/problem\.json: timeLimitMs/)
    await expect(loadProblem(problemDir({ timeLimitMs: 1000, memoryLimitMb: 0 }))).rejects.toThrow(/problem\.json: memoryLimitMb/)
    await expect(loadProblem(problemDir({ timeLimitMs: 1.5, memoryLimitMb: 64 }))).rejects.toThrow(/timeLimitMs/)
    await expect(loadProblem(problemDir({ timeLimitMs: 1000, memoryLimitMb: 64, checker: 'float' }))).rejects.toThrow(/checker must be one of exact, lines, tokens/)
  })

  it('rejects unpaired and missing tests', async () => {
    const settings = { timeLimitMs: 1000, memoryLimitMb: 64 }
    await expect(loadProblem(problemDir(settings, { '1.in': '', '1.out': '', '2.in': '' }))).rejects.toThrow(/2\.in has no matching 2\.out/)
    await expect(loadProblem(problemDir(settings, { '1.out': '' }))).rejects.toThrow(/1\.out has no matching 1\.in/)
    await expect(loadProblem(problemDir(settings, {}))).rejects.toThrow(/tests holds no tests/)
    const noTestsDir = problemDir(settings)
    rmSync(join(noTestsDir, 'tests'), { recursive: true })
    await expect(loadProblem(noTestsDir)).rejects.toThrow(/tests: ENOENT/)
  })
})
