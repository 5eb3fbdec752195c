/**
 * Problem directories (docs/judge.md): `problem.json` {timeLimitMs, memoryLimitMb, checker?} and
 * `tests/<name>.in` + `tests/<name>.out` pairs. The CLI inlines them into a judge job, so every
 * mistake in one is reported here, naming the file, before anything is sent.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { EdgerunError } from '../errors/index.js'
import { CHECKERS, LIMITS, type Checker, type JudgeLanguage } from '../protocol/index.js'

export interface Problem {
  timeLimitMs: number
  memoryLimitMb: number
  checker: Checker
  tests: { name: string; input: string; expected: string }[]
}

function problemError(message: string): EdgerunError {
  return new EdgerunError('BAD_PROBLEM', message)
}

const EXTENSIONS: Record<string, JudgeLanguage> = { '.py': 'python3', '.c': 'c', '.cpp': 'cpp', '.cc': 'cpp', '.js': 'js' }

export function languageFromFile(path: string): JudgeLanguage | undefined {
  return EXTENSIONS[extname(path).toLowerCase()]
}

function positiveInt(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max
}

async function readSettings(file: string): Promise<Omit<Problem, 'tests'>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw problemError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw problemError(`${file} is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw problemError(`${file} must hold a JSON object`)
  const { timeLimitMs, memoryLimitMb, checker = 'tokens' } = data as Record<string, unknown>
  if (!positiveInt(timeLimitMs, LIMITS.maxJudgeTimeLimitMs)) {
    throw problemError(`${file}: timeLimitMs must be an integer from 1 to ${LIMITS.maxJudgeTimeLimitMs}`)
  }
  if (!positiveInt(memoryLimitMb, LIMITS.maxJudgeMemoryMb)) {
    throw problemError(`${file}: memoryLimitMb must be an integer from 1 to ${LIMITS.maxJudgeMemoryMb}`)
  }
  if (typeof checker !== 'string' || !(CHECKERS as readonly string[]).includes(checker)) {
    throw problemError(`${file}: checker must be one of ${CHECKERS.join(', ')}`)
  }
  return { timeLimitMs, memoryLimitMb, checker: checker as Checker }
}

/** Tests sort by name, numerically where names are numbers ("2" before "10"). */
const byName = new Intl.Collator('en', { numeric: true }).compare

export async function loadProblem(dir: string): Promise<Problem> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw problemError(`cannot open problem directory ${dir}: ${error.code ?? String(error)}`)
  })
  if (!info.isDirectory()) throw problemError(`${dir} is not a directory`)
  const settings = await readSettings(join(dir, 'problem.json'))
  const testsDir = join(dir, 'tests')
  let entries: string[]
  try {
    entries = await readdir(testsDir)
  } catch (error) {
    throw problemError(`cannot read ${testsDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  const inputs = entries.filter((name) => name.endsWith('.in')).map((name) => name.slice(0, -3))
  const outputs = new Set(entries.filter((name) => name.endsWith('.out')).map((name) => name.slice(0, -4)))
  for (const name of inputs) if (!outputs.has(name)) throw problemError(`${join(testsDir, `${name}.in`)} has no matching ${name}.out`)
  for (const name of outputs) if (!inputs.includes(name)) throw problemError(`${join(testsDir, `${name}.out`)} has no matching ${name}.in`)
  if (inputs.length === 0) throw problemError(`${testsDir} holds no tests (<name>.in and <name>.out pairs)`)
  if (inputs.length > LIMITS.maxTests) throw problemError(`${testsDir} holds ${inputs.length} tests, more than ${LIMITS.maxTests}`)
  inputs.sort(byName)
  const tests = await Promise.all(
    inputs.map(async (name) => {
      const [input, expected] = await Promise.all(
        ['.in', '.out'].map(async (ext) => {
          const file = join(testsDir, name + ext)
          const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
            throw problemError(`cannot read ${file}: ${error.code ?? String(error)}`)
          })
          if (Buffer.byteLength(text) > LIMITS.maxTestBytes) throw problemError(`${file} is larger than ${LIMITS.maxTestBytes} bytes`)
          return text
        }),
      )
      return { name, input: input!, expected: expected! }
    }),
  )
  return { ...settings, tests }
}
