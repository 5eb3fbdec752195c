/**
 * Builds the `edgerun-sandbox` launcher with the host's C compiler, once, and caches it. It runs
 * as the worker's own user (root, usually), so where it lives matters: a binary that someone
 * else could replace would be run as root. Hence a directory owned by us and writable by nobody
 * else, checked before every use, and an atomic rename into place.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { HELPER_SOURCE, HELPER_VERSION } from './helper-source.js'
import { findExecutable } from './tools.js'

function ownedAndPrivate(path: string, kind: 'dir' | 'file'): boolean {
  try {
    const info = lstatSync(path)
    const uid = process.getuid?.()
    if (kind === 'dir' ? !info.isDirectory() : !info.isFile()) return false
    return info.uid === uid && (info.mode & 0o022) === 0
  } catch {
    return false
  }
}

function cacheDir(): string | undefined {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const dir = join(base, 'edgerun')
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch {
    return undefined
  }
  return ownedAndPrivate(dir, 'dir') ? dir : undefined
}

function compile(compiler: string, dir: string, name: string): string | undefined {
  const source = join(dir, `${name}.c`)
  const binary = join(dir, name)
  const staging = `${binary}.${process.pid}.tmp`
  writeFileSync(source, HELPER_SOURCE, { mode: 0o600 })
  // Static when the C library allows it: no dynamic loader on every test.
  for (const extra of [['-static'], []]) {
    const result = spawnSync(compiler, ['-O2', ...extra, '-o', staging, source], { stdio: 'ignore', timeout: 60_000 })
    if (result.status === 0) {
      chmodSync(staging, 0o700)
      renameSync(staging, binary)
      rmSync(source, { force: true })
      return binary
    }
  }
  rmSync(source, { force: true })
  rmSync(staging, { force: true })
  return undefined
}

let built: { path?: string } | undefined

/** The launcher's path, or undefined when there is no C compiler (the util-linux chain is used then). */
export function sandboxHelper(): string | undefined {
  if (built) return built.path
  built = {}
  const compiler = findExecutable('cc') ?? findExecutable('gcc')
  if (!compiler) return undefined
  const hash = createHash('sha256').update(HELPER_SOURCE).digest('hex').slice(0, 12)
  const name = `edgerun-sandbox-v${HELPER_VERSION}-${hash}`
  const cache = cacheDir()
  if (cache) {
    const cached = join(cache, name)
    if (ownedAndPrivate(cached, 'file') && (statSync(cached).mode & 0o100) !== 0) {
      built.path = cached
      return cached
    }
    built.path = compile(compiler, cache, name)
    if (built.path) {
      // Builds of other sources are dead weight, once no older edgerun still running can want them.
      for (const entry of readdirSync(cache)) {
        const path = join(cache, entry)
        if (entry.startsWith('edgerun-sandbox-') && entry !== name && Date.now() - statSync(path).mtimeMs > 86_400_000) {
          rmSync(path, { force: true })
        }
      }
      return built.path
    }
  }
  // No usable cache: a private directory for this process only.
  const dir = mkdtempSync(join(tmpdir(), 'edgerun-sandbox-'))
  built.path = compile(compiler, dir, name)
  if (built.path) process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  else rmSync(dir, { recursive: true, force: true })
  return built.path
}
