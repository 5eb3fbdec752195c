import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { EdgerunError, isEdgerunError } from '../src/errors/index.js'
import type { EdgerunClient, SubmitSpec } from '../src/client/client.js'
import type { JobReply, JudgeLanguage, JudgeOutput } from '../src/protocol/index.js'
import { table } from './format.js'
import { expandGlob } from './glob.js'

export interface JudgeSubmission {
  file: string
  language: JudgeLanguage
  spec: SubmitSpec
  /** True when the user asked for several files (or a glob), even if it matched one. */
  batch: boolean
}

export interface BatchRow {
  file: string
  language: string
  jobId: string | null
  state: string
  verdict: string | null
  timeMs: number | null
  error?: string
}

export interface BatchReport {
  total: number
  failed: number
  results: BatchRow[]
  table: string
}

/** `--judge FILE... --problem DIR` → one inlined judge job per file (docs/judge.md). */
export async function buildJudgeSpecs(
  patterns: string[],
  problemDir: string,
  language: string | undefined,
  common: Record<string, unknown>,
): Promise<JudgeSubmission[]> {
  const { languageFromFile, loadProblem } = await import('../src/judge/index.js')
  const files = patterns.flatMap((pattern) => expandGlob(pattern))
  if (files.length === 0) throw new EdgerunError('BAD_FLAG', `no file matches ${patterns.join(' ')}`)
  let problem: Awaited<ReturnType<typeof import('../src/judge/index.js').loadProblem>>
  try {
    problem = await loadProblem(problemDir)
  } catch (error) {
    throw new EdgerunError(isEdgerunError(error) ? error.code : 'BAD_FLAG', `cannot load problem ${problemDir}: ${(error as Error).message}`)
  }
  const batch = files.length > 1 || patterns.some((pattern) => /[*?]/.test(pattern))
  return files.map((file) => {
    const lang = (language as JudgeLanguage | undefined) ?? languageFromFile(file)
    if (!lang) throw new EdgerunError('BAD_FLAG', `cannot tell the language of ${file} from its extension: use --language`)
    let source: string
    try {
      source = readFileSync(file, 'utf8')
    } catch (error) {
      throw new EdgerunError('BAD_FLAG', `cannot read ${file}: ${(error as Error).message}`)
    }
    const spec = {
      ...common,
      kind: 'judge',
      language: lang,
      source,
      tests: problem.tests,
      timeLimitMs: problem.timeLimitMs,
      memoryLimitMb: problem.memoryLimitMb,
      checker: problem.checker,
    } as SubmitSpec
    return { file, language: lang, spec, batch }
  })
}

/** Submits every file at once, shows a live bar (or a line per result), then a summary table. */
export async function runJudgeBatch(
  client: EdgerunClient,
  submissions: JudgeSubmission[],
  ui: { tty: boolean; write: (line: string) => void },
): Promise<BatchReport> {
  let done = 0
  let tests = 0
  const total = submissions.length
  const render = () => {
    if (!ui.tty) return
    const width = 30
    const filled = Math.round((done / total) * width)
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} judged, ${tests} tests`)
  }
  render()
  const rows = await Promise.all(
    submissions.map(async (submission): Promise<BatchRow> => {
      // On a terminal the bar counts verdicts as they come (grouped or not), so a long job shows it moves.
      const onTest = () => {
        tests++
        render()
      }
      const reply: JobReply = await client.submit(submission.spec, ui.tty ? { onTest } : {})
      done++
      const row = toRow(submission, reply)
      if (ui.tty) render()
      else ui.write(`${row.file}: ${row.verdict ?? row.state}${row.error ? ` (${row.error})` : ''}`)
      return row
    }),
  )
  if (ui.tty) process.stderr.write('\n')
  const failed = rows.filter((row) => row.state !== 'succeeded').length
  const rendered = table(
    ['FILE', 'LANGUAGE', 'VERDICT', 'TIME', 'STATE'],
    rows.map((row) => [basename(row.file), row.language, row.verdict, row.timeMs === null ? null : `${row.timeMs} ms`, row.state]),
  )
  return { total, failed, results: rows, table: rendered }
}

function toRow(submission: JudgeSubmission, reply: JobReply): BatchRow {
  const base = { file: submission.file, language: submission.language, jobId: reply.jobId ?? null }
  if (reply.type === 'rejected') return { ...base, state: 'rejected', verdict: null, timeMs: null, error: `${reply.code}: ${reply.message}` }
  if (reply.type !== 'result') return { ...base, state: reply.type, verdict: null, timeMs: null }
  const output = reply.output as JudgeOutput | null
  const timeMs = output?.tests?.length ? Math.max(...output.tests.map((test) => test.timeMs)) : null
  return { ...base, state: reply.state, verdict: output?.verdict ?? null, timeMs, ...(reply.error ? { error: reply.error } : {}) }
}
