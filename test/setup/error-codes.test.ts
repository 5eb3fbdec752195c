import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Every error edgerun throws, rejects with or hands to a callback carries a code of the registry
 * (src/errors/codes.ts, docs/errors.md): an EdgerunError, or a class whose constructor takes such
 * a code. A bare `new Error(…)` would reach the user as INTERNAL (exit 70) with no code to look up.
 *
 * PENDING lists the files whose sites are being coded on other branches (the job store, the
 * judge, the master). Each entry must still hold an uncoded site and must exist: when its branch
 * lands, this test asks for the entry to go, until the list is empty.
 */
const PENDING = [
  'src/judge/problem.ts',
]

const UNCODED = [
  // The built-in error classes, constructed anywhere (thrown, rejected, passed to a callback).
  /\bnew (?:Error|TypeError|RangeError|SyntaxError|ReferenceError|URIError|EvalError|AggregateError)\(/,
  // A thrown string or template.
  /\bthrow\s+['"`]/,
]

/** An error class of our own must take a registry code (ErrorCode, or the protocol's RejectCode). */
const ERROR_CLASS = /class (\w+) extends Error\b[^]*?constructor\(([^)]*)\)/g

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Comments say why, and may quote an uncoded error: only code counts. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[^]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

function uncodedSites(file: string, source = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const text = withoutComments(source)
  const sites = text.split('\n').flatMap((line, i) => (UNCODED.some((pattern) => pattern.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : []))
  for (const match of text.matchAll(ERROR_CLASS)) {
    if (file === 'src/errors/edgerun-error.ts' && match[1] === 'EdgerunError') continue
    if (!/\bcode: (?:ErrorCode|RejectCode)\b/.test(match[2]!)) sites.push(`${file}: class ${match[1]} extends Error without a registry code`)
  }
  return sites
}

const files = ['src', 'broker', 'cli', 'commands'].flatMap(sources)

it('every error in src/, broker/, cli/ and commands/ carries a registry code', () => {
  const sites = files.filter((file) => !PENDING.includes(file)).flatMap((file) => uncodedSites(file))
  expect(sites, 'use new EdgerunError(CODE, message) (src/errors/codes.ts; add a code there and to docs/errors.md if none fits)').toEqual([])
})

it('the pending list names only files that exist and still have an uncoded error', () => {
  const stale = PENDING.filter((file) => !existsSync(join(ROOT, file)) || uncodedSites(file).length === 0)
  expect(stale, 'remove these from PENDING in test/setup/error-codes.test.ts').toEqual([])
})

it('the scan sees each kind of uncoded error, and not a coded one or a comment', () => {
  const sample = [
    "throw new Error('a')",
    'callback(new TypeError(`b`))',
    "throw 'c'",
    'class Oops extends Error {\n  constructor(message: string) {\n    super(message)\n  }\n}',
    "throw new EdgerunError('BAD_FLAG', 'fine')",
    '// a comment may say new Error(x)',
    'class Coded extends Error {\n  constructor(readonly code: RejectCode, message: string) {\n    super(message)\n  }\n}',
  ].join('\n')
  expect(uncodedSites('sample.ts', sample)).toEqual([
    "sample.ts:1: throw new Error('a')",
    'sample.ts:2: callback(new TypeError(`b`))',
    "sample.ts:3: throw 'c'",
    'sample.ts: class Oops extends Error without a registry code',
  ])
})
