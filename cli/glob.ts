import { readdirSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/**
 * Expands `*` and `?` in the last path segment (shells usually expand globs before we see them;
 * this covers quoted ones). A path without wildcards is returned as it is.
 */
export function expandGlob(pattern: string): string[] {
  const name = basename(pattern)
  if (!/[*?]/.test(name)) return [pattern]
  const dir = dirname(pattern)
  const regex = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries
    .filter((entry) => regex.test(entry))
    .map((entry) => join(dir, entry))
    .filter((path) => statSync(path).isFile())
    .sort()
}
