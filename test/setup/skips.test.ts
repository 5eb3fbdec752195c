import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return testSources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/**
 * No test skips itself in silence: the summary lists every skip with its reason, and only
 * `ctx.skip(condition, 'reason')` carries one. A tool a test needs is installed by `npm test`,
 * so its absence fails (test/helpers/binaries.ts) rather than skips.
 */
it('every skip in test/ gives its reason', () => {
  const offences: string[] = []
  for (const file of testSources(join(ROOT, 'test'))) {
    // This file names the patterns; the reporter names the ways to skip.
    if (file === fileURLToPath(import.meta.url) || file.endsWith('summary-reporter.ts')) continue
    readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
      const where = `${relative(ROOT, file)}:${index + 1}: ${line.trim()}`
      if (/\b(it|test|describe|suite)\.(skip|skipIf|runIf|todo)\b/.test(line)) offences.push(where)
      if (/\bskip\(/.test(line) && !/\bskip\(.*,\s*['"`]/.test(line)) offences.push(where)
    })
  }
  expect(offences, 'use ctx.skip(condition, "why") instead').toEqual([])
})
