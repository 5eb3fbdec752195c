/**
 * The three answer checkers. Their messages say where the answers part ways, never what the
 * expected answer is: a submitter must not learn hidden test data from a WA.
 */
import type { Checker } from '../protocol/index.js'

export interface CheckResult {
  ok: boolean
  detail?: string
}

function exact(output: Buffer, expected: Buffer): CheckResult {
  if (output.equals(expected)) return { ok: true }
  const length = Math.min(output.length, expected.length)
  let at = 0
  while (at < length && output[at] === expected[at]) at++
  return { ok: false, detail: `output differs at byte ${at} (got ${output.length} bytes, expected ${expected.length})` }
}

/** Lines with trailing whitespace cut, trailing blank lines dropped; CRLF counts as LF. */
function normalLines(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trimEnd())
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

function tokenize(text: string): string[] {
  return text.split(/\s+/).filter((token) => token.length > 0)
}

/** Element by element; the first difference, or a difference in count, is the detail. */
function sameSequence(got: string[], want: string[], unit: 'line' | 'token'): CheckResult {
  const length = Math.min(got.length, want.length)
  for (let i = 0; i < length; i++) {
    if (got[i] !== want[i]) return { ok: false, detail: `${unit} ${i + 1} differs` }
  }
  if (got.length !== want.length) return { ok: false, detail: `got ${got.length} ${unit}s, expected ${want.length}` }
  return { ok: true }
}

function lines(output: string, expected: string): CheckResult {
  return sameSequence(normalLines(output), normalLines(expected), 'line')
}

function tokens(output: string, expected: string): CheckResult {
  return sameSequence(tokenize(output), tokenize(expected), 'token')
}

export function check(checker: Checker, output: Buffer, expected: string): CheckResult {
  switch (checker) {
    case 'exact':
      return exact(output, Buffer.from(expected, 'utf8'))
    case 'lines':
      return lines(output.toString('utf8'), expected)
    case 'tokens':
      return tokens(output.toString('utf8'), expected)
  }
}
