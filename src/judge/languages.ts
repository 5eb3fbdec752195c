/**
 * The four toolchains: how to find them, how to check or compile a submission, how to run it,
 * and how its memory is limited. Memory is the part that differs most: a C program's address
 * space is its memory, while V8 reserves gigabytes of address space it never touches.
 */
import { execFile } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { promisify } from 'node:util'
import type { JudgeLanguage } from '../protocol/index.js'
import { sandboxCapabilities } from './sandbox/probe.js'
import { findExecutable, usableByOthers } from './sandbox/tools.js'

const execFileAsync = promisify(execFile)
const MiB = 1024 * 1024

export interface Toolchain {
  language: JudgeLanguage
  /** The compiler or interpreter, absolute. */
  executable: string
  sourceName: string
  /**
   * The compile step (c, cpp) or syntax check (python3, js), run in the box directory where the
   * source lies. Compilers write `main` next to it.
   */
  buildArgv(sourcePath: string): string[]
  /** True when the build step leaves a `main` binary to run. */
  producesBinary: boolean
  runArgv(programDir: string, memoryLimitMb: number): string[]
  memory(memoryLimitMb: number): { addressSpaceBytes?: number; dataBytes?: number; stackBytes: number; rssAllowanceKb: number }
}

/**
 * Native code: the address space may exceed the limit by the runtime's own mappings (libc,
 * libstdc++, the loader); peak RSS is then held to the limit itself.
 */
function nativeMemory(memoryLimitMb: number) {
  return { addressSpaceBytes: (memoryLimitMb + 32) * MiB, stackBytes: deepStack(memoryLimitMb), rssAllowanceKb: 0 }
}

/** Deep recursion is legitimate in judge solutions: the main stack may use the whole budget. */
function deepStack(memoryLimitMb: number): number {
  return Math.max(8, memoryLimitMb) * MiB
}

/** gcc and g++ differ only in the file name and the standard. */
function nativeToolchain(language: JudgeLanguage, executable: string, sourceName: string, std: string): Toolchain {
  return {
    language, executable, sourceName, producesBinary: true,
    buildArgv: (src) => [executable, '-O2', `-std=${std}`, '-pipe', '-fdiagnostics-color=never', '-o', 'main', src, '-lm'],
    runArgv: (dir) => [`${dir}/main`],
    memory: nativeMemory,
  }
}

function toolchainFor(language: JudgeLanguage, executable: string): Toolchain {
  switch (language) {
    case 'c':
      return nativeToolchain(language, executable, 'main.c', 'c17')
    case 'cpp':
      return nativeToolchain(language, executable, 'main.cpp', 'c++17')
    case 'python3':
      return {
        language, executable, sourceName: 'main.py', producesBinary: false,
        // compile() rather than py_compile: nothing is written, and a SyntaxError is reported as CE.
        buildArgv: (src) => [executable, '-I', '-B', '-c', 'import sys; compile(open(sys.argv[1], "rb").read(), sys.argv[1], "exec")', src],
        // -I: no user site, no PYTHON* variables, script dir not on sys.path; -B: no .pyc writes.
        runArgv: (dir) => [executable, '-I', '-B', `${dir}/main.py`],
        // The interpreter maps ~15 MB of its own before the program allocates anything.
        memory: (mb) => ({ addressSpaceBytes: (mb + 64) * MiB, stackBytes: deepStack(mb), rssAllowanceKb: 0 }),
      }
    case 'js':
      return {
        language, executable, sourceName: 'main.js', producesBinary: false,
        buildArgv: (src) => [executable, '--check', src],
        runArgv: (dir, mb) => [executable, `--max-old-space-size=${Math.max(mb, 8)}`, `${dir}/main.js`],
        // V8 reserves far more address space than it uses (RLIMIT_AS would break it), but
        // reservations are PROT_NONE and RLIMIT_DATA only counts writable memory. The heap is
        // held by --max-old-space-size; the data limit is the backstop for buffers; node's own
        // ~40 MB baseline (threads, code, snapshot) is allowed on top of the limit. The stack
        // rlimit stays at 8 MB: glibc sizes every thread's stack by it, node starts ~10 threads,
        // and those stacks count against RLIMIT_DATA (a big one made node hang at start-up).
        // V8 bounds JS recursion by its own --stack-size anyway.
        memory: (mb) => ({ dataBytes: (mb + 256) * MiB, stackBytes: 8 * MiB, rssAllowanceKb: 64 * 1024 }),
      }
  }
}

async function runs(argv: string[]): Promise<boolean> {
  try {
    await execFileAsync(argv[0]!, argv.slice(1), { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    return true
  } catch {
    return false
  }
}

function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/** The interpreter's real path (through pyenv/asdf shims), as python itself reports it. */
async function pythonExecutable(candidate: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(candidate, ['-c', 'import sys; print(sys.executable)'], { timeout: 10_000 })
    const path = stdout.trim()
    return path.startsWith('/') ? path : undefined
  } catch {
    return undefined
  }
}

/**
 * Candidates in order of preference, keeping the first that runs and, when the sandbox drops to
 * an unprivileged uid, that such a uid can reach (a toolchain under /root is no use there).
 */
async function resolveToolchain(language: JudgeLanguage): Promise<Toolchain | undefined> {
  const needOthers = sandboxCapabilities().dropUser
  const candidates: (string | undefined)[] = []
  switch (language) {
    case 'c':
      candidates.push(findExecutable('gcc'))
      break
    case 'cpp':
      candidates.push(findExecutable('g++'))
      break
    case 'python3': {
      const onPath = findExecutable('python3')
      candidates.push(onPath ? await pythonExecutable(onPath) : undefined, '/usr/local/bin/python3', '/usr/bin/python3')
      break
    }
    case 'js':
      candidates.push(process.execPath, findExecutable('node'), '/usr/local/bin/node', '/usr/bin/node')
      break
  }
  const seen = new Set<string>()
  for (const candidate of candidates) {
    if (!candidate) continue
    const path = language === 'python3' || language === 'js' ? real(candidate) : candidate
    if (seen.has(path)) continue
    seen.add(path)
    if (needOthers && !usableByOthers(path, 'exec')) continue
    if (await runs([path, '--version'])) return toolchainFor(language, path)
  }
  return undefined
}

let detected: Promise<Map<JudgeLanguage, Toolchain>> | undefined

export function detectToolchains(): Promise<Map<JudgeLanguage, Toolchain>> {
  detected ??= (async () => {
    const map = new Map<JudgeLanguage, Toolchain>()
    if (sandboxCapabilities().unusable) return map
    const languages: JudgeLanguage[] = ['python3', 'c', 'cpp', 'js']
    const found = await Promise.all(languages.map((language) => resolveToolchain(language)))
    for (const toolchain of found) if (toolchain) map.set(toolchain.language, toolchain)
    return map
  })()
  return detected
}
