import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, type ErrorCode } from '../../src/errors/index.js'
import { REJECT_CODES, RESULT_CODES } from '../../src/protocol/index.js'
import { EDGERUN_VERSION } from '../../src/version.js'

/**
 * docs/errors.md is the user-facing side of src/errors/codes.ts (fastify checks its errors doc
 * the same way): one table row per code, with the same exit status and wire flag.
 */
const HEADER = ['code', 'exit', 'on the wire', 'meaning', 'what to do']

interface Row {
  line: number
  code: string
  exit: number
  wire: boolean
  meaning: string
  remedy: string
}

/** Splits a markdown table line on its unescaped pipes, trimming the cells. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  const out: string[] = []
  let cell = ''
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i]
    if (char === '\\' && inner[i + 1] === '|') {
      cell += '|'
      i++
    } else if (char === '|') {
      out.push(cell.trim())
      cell = ''
    } else cell += char
  }
  out.push(cell.trim())
  return out
}

function parseErrorsTable(markdown: string): Row[] {
  const lines = markdown.split('\n')
  const headerAt = lines.findIndex((line) => line.trim().startsWith('|') && cells(line).join('|') === HEADER.join('|'))
  if (headerAt < 0) throw new Error(`docs/errors.md has no table with the columns ${HEADER.join(' | ')}`)
  const separator = cells(lines[headerAt + 1] ?? '')
  if (separator.length !== HEADER.length || !separator.every((cell) => /^:?-{3,}:?$/.test(cell))) {
    throw new Error('the errors table header is not followed by a separator row')
  }
  const rows: Row[] = []
  for (let i = headerAt + 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
    const row = cells(lines[i]!)
    if (row.length !== HEADER.length) throw new Error(`docs/errors.md line ${i + 1}: ${row.length} cells, expected ${HEADER.length}`)
    const [code, exit, wire, meaning, remedy] = row as [string, string, string, string, string]
    const codeMatch = /^`([A-Z_]+)`$/.exec(code)
    if (!codeMatch) throw new Error(`docs/errors.md line ${i + 1}: the code cell must be one code in backticks, got ${code}`)
    if (!/^\d+$/.test(exit)) throw new Error(`docs/errors.md line ${i + 1}: exit must be a number, got ${exit}`)
    if (wire !== 'yes' && wire !== 'no') throw new Error(`docs/errors.md line ${i + 1}: "on the wire" must be yes or no, got ${wire}`)
    rows.push({ line: i + 1, code: codeMatch[1]!, exit: Number(exit), wire: wire === 'yes', meaning, remedy })
  }
  return rows
}

const rows = parseErrorsTable(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8'))
const codes = Object.keys(ERROR_CODES) as ErrorCode[]

describe('docs/errors.md against src/errors/codes.ts', () => {
  it('lists every code exactly once, and nothing else', () => {
    const documented = rows.map((row) => row.code)
    const duplicates = documented.filter((code, i) => documented.indexOf(code) !== i)
    expect(duplicates, 'codes listed twice').toEqual([])
    expect(codes.filter((code) => !documented.includes(code)), 'codes missing from docs/errors.md').toEqual([])
    expect(documented.filter((code) => !(codes as string[]).includes(code)), 'codes in docs/errors.md that ERROR_CODES lacks').toEqual([])
  })

  it.each(codes)('%s has the registry exit status and wire flag, and says what it means and what to do', (code) => {
    const row = rows.find((r) => r.code === code)
    expect(row, `no row for ${code}`).toBeDefined()
    expect({ exit: row!.exit, wire: row!.wire }).toEqual({ exit: ERROR_CODES[code].exit, wire: ERROR_CODES[code].protocol })
    expect(row!.meaning.length, `${code}: empty meaning (line ${row!.line})`).toBeGreaterThan(0)
    expect(row!.remedy.length, `${code}: empty "what to do" (line ${row!.line})`).toBeGreaterThan(0)
  })

  it('every protocol rejection code (REJECT_CODES) is a protocol code of the registry', () => {
    for (const code of REJECT_CODES) {
      expect(code in ERROR_CODES, `${code} is missing from ERROR_CODES`).toBe(true)
      expect(ERROR_CODES[code as ErrorCode].protocol, `${code} is not marked protocol: true`).toBe(true)
    }
  })

  it('every result code (RESULT_CODES) is a protocol code of the registry', () => {
    for (const code of RESULT_CODES) {
      expect(code in ERROR_CODES, `${code} is missing from ERROR_CODES`).toBe(true)
      expect(ERROR_CODES[code as ErrorCode].protocol, `${code} is not marked protocol: true`).toBe(true)
    }
  })

  it('every protocol code of the registry is a rejection or result code the schemas accept', () => {
    const protocolCodes = codes.filter((code) => ERROR_CODES[code].protocol)
    expect([...protocolCodes].sort()).toEqual([...REJECT_CODES, ...RESULT_CODES].sort())
  })
})

describe('version', () => {
  it('src/version.ts EDGERUN_VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(EDGERUN_VERSION).toBe(pkg.version)
  })
})
