import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every module a file imports, statically or with `import()`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1]!)
}

/**
 * Imports go one way, commands/ and cli/ → broker/ → src/, so the library can be used without
 * the broker or the terminal, and the broker without oclif (README, "Layout").
 */
it.each([
  ['src', /(^|\/)(broker|cli|commands)\/|^@oclif\//],
  ['broker', /(^|\/)(cli|commands)\/|^@oclif\//],
])('%s/ imports nothing from the layers above it', (dir, forbidden) => {
  const offences = sources(dir).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.test(target))
      .map((target) => `${file} imports ${target}`),
  )
  expect(offences).toEqual([])
})

/** Lines as `wc -l` and an editor count them: a final newline ends the last line, it starts none. */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
}

it('no source file is over 400 lines', () => {
  const long = ['src', 'broker', 'cli', 'commands']
    .flatMap(sources)
    .map((file) => ({ file, lines: lineCount(readFileSync(join(ROOT, file), 'utf8')) }))
    .filter(({ lines }) => lines > 400)
    .map(({ file, lines }) => `${relative(ROOT, join(ROOT, file))}: ${lines} lines`)
  expect(long).toEqual([])
})
