/**
 * The builds of the last few distinct sources, per worker process: a rejudge, a resubmission or
 * a batch of the same solution compiles once. A build is a pure function of the toolchain, its
 * arguments and the source, and it ran in the sandbox like any other; what is kept is its
 * outcome (ok, the compiler's messages) and, for compiled languages, a copy of the binary in a
 * directory of this process's own (0700, root's when the worker is root), out of every sandbox's
 * reach. Internal failures are never kept. A hit costs one file copy.
 */
import { createHash } from 'node:crypto'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Toolchain } from './languages.js'

/** Distinct sources kept; the least recently used goes first. Trivial binaries are ~16 KB. */
const MAX_ENTRIES = 64

interface Entry {
  ok: boolean
  output: string
  /** The binary, for a successful build of a compiled language. */
  binary?: string
}

const entries = new Map<string, Entry>()
let dir: Promise<string> | undefined

function cacheDir(): Promise<string> {
  dir ??= mkdtemp(join(tmpdir(), 'edgerun-builds-')).then((path) => {
    process.once('exit', () => rmSync(path, { recursive: true, force: true }))
    return path
  })
  return dir
}

export function buildKey(toolchain: Toolchain, source: string): string {
  return createHash('sha256').update(JSON.stringify([toolchain.language, toolchain.executable, toolchain.buildArgv(toolchain.sourceName)])).update('\0').update(source).digest('hex')
}

/** The kept outcome, its binary copied to `target`; undefined when not kept (or gone). */
export async function cachedBuild(key: string, target: string): Promise<{ ok: boolean; output: string } | undefined> {
  const entry = entries.get(key)
  if (!entry) return undefined
  entries.delete(key)
  entries.set(key, entry)
  if (entry.binary) {
    try {
      // The copy has the kept binary's mode (0755: libuv sets it on the new file). Synchronous,
      // like the job directory's making (job-dir.ts says why): one call, ~50 µs.
      copyFileSync(entry.binary, target)
    } catch {
      entries.delete(key)
      return undefined
    }
  }
  return { ok: entry.ok, output: entry.output }
}

/** Keeps an outcome; `binary` (the job's own copy) is copied, never moved. */
export async function keepBuild(key: string, outcome: { ok: boolean; output: string }, binary?: string): Promise<void> {
  const entry: Entry = { ok: outcome.ok, output: outcome.output }
  if (binary) {
    const path = join(await cacheDir(), key)
    try {
      await copyFile(binary, path)
    } catch {
      return
    }
    entry.binary = path
  }
  entries.set(key, entry)
  while (entries.size > MAX_ENTRIES) {
    const [oldest, old] = entries.entries().next().value as [string, Entry]
    entries.delete(oldest)
    if (old.binary) await rm(old.binary, { force: true })
  }
}
