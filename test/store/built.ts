import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * The writer thread runs compiled code from dist/ (broker/store/background-writer.ts), and some
 * tests run the built store in a child process: build it if any store source is newer than its
 * output. For a beforeAll with a long timeout.
 */
export function ensureStoreBuilt(): void {
  const sources = join(ROOT, 'broker/store')
  const built = join(ROOT, 'dist/broker/store')
  const stale = readdirSync(sources)
    .filter((file) => file.endsWith('.ts'))
    .some((file) => {
      const output = join(built, file.replace(/\.ts$/, '.js'))
      return !existsSync(output) || statSync(join(sources, file)).mtimeMs > statSync(output).mtimeMs
    })
  if (!stale) return
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' })
  } catch (error) {
    // Type errors elsewhere in the project still emit; only a missing output is fatal.
    if (!existsSync(join(built, 'sqlite-store.js'))) throw error
  }
  // An incremental build leaves an unchanged output untouched; mark them current so the next run skips the build.
  const now = new Date()
  for (const file of readdirSync(built)) utimesSync(join(built, file), now, now)
}
