import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * Where to look for host tools. A worker may run with a trimmed PATH (services, CI), so the usual
 * system directories are searched as well.
 */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS]
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * True when a process with an arbitrary uid (neither owner nor group) could reach and use `path`:
 * every ancestor directory searchable by "other", the file readable/executable by "other".
 * Root can open anything, so a toolchain under /root looks fine to the worker and then fails
 * (or half-works) once the sandbox drops to an unprivileged uid.
 */
export function usableByOthers(path: string, need: 'read' | 'exec'): boolean {
  try {
    const parts = path.split('/').filter(Boolean)
    let dir = '/'
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part)
      if ((statSync(dir).mode & 0o001) === 0) return false
    }
    const mode = statSync(path).mode
    return (mode & (need === 'exec' ? 0o001 : 0o004)) !== 0
  } catch {
    return false
  }
}
