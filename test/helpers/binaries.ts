/**
 * The host tools a test runs. `npm test` installs them first (test/setup/system-packages.mjs), so a
 * missing one is a broken machine: the test that needs it fails and says what to install, rather
 * than skipping or reading a failed spawn as "present".
 */
import { findBinary, installCommand, packageFor } from '../setup/system-packages.mjs'

function missing(what: string, packageName: string | undefined): Error {
  const install = packageName ? `; or run  ${installCommand([packageName], process.getuid?.() === 0)}` : ''
  return new Error(`${what} is not installed: npm test installs it before the run (test/setup/system-packages.mjs)${install}`)
}

/** The absolute path of `name` (PATH, then the system directories), or an error naming its package. */
export function requireBinary(name: string): string {
  const path = findBinary(name)
  if (path === undefined) throw missing(name, packageFor(name))
  return path
}

const TOOLCHAIN: Record<string, string> = { c: 'gcc', cpp: 'g++', python3: 'python3', js: 'node' }

/** Fails when the judge found no toolchain for `language`: the judge tests must not pass by skipping it. */
export function requireLanguage(found: readonly string[], language: string): void {
  if (found.includes(language)) return
  const binary = TOOLCHAIN[language] ?? language
  const where = findBinary(binary)
  if (where === undefined) throw missing(`${binary} (the judge's ${language})`, packageFor(binary))
  // There, yet not usable: an unusable sandbox, or a toolchain the sandbox uid cannot reach.
  throw new Error(`the judge found no usable ${language} toolchain (${where} is there; detectLanguages() found: ${found.join(', ') || 'none'})`)
}
