/**
 * Turns what the sandbox saw into a verdict. Load must not change it, so it rests on what a busy
 * machine does not change: CPU time, memory, output size, exit status. The wall clock only
 * catches programs that use no CPU (sleepers, a read that never returns), and its limit is
 * generous (`wallLimitFor`), so when it trips and the CPU time is under the limit, the program
 * was idle, not starved. The order matters: a program that printed past the output limit is OLE
 * even though it then died of SIGXFSZ; one that ran out of CPU is TLE even though SIGXCPU is "a
 * signal"; a resident set over the limit is MLE however the program ended; memory failures are
 * recognised before generic crashes.
 */
import type { Verdict } from '../protocol/index.js'
import type { SandboxRun } from './sandbox/run.js'

export interface VerdictLimits {
  timeLimitMs: number
  memoryLimitMb: number
  /** Peak RSS tolerated above the limit (an interpreter's own baseline). */
  rssAllowanceKb: number
  outputLimitBytes: number
}

export interface RunVerdict {
  /** The program's own fate; AC here means "ran cleanly", the checker decides the rest. */
  verdict: Verdict
  detail?: string
}

/**
 * What a runtime prints when an allocation fails under the address-space/data limit: C++
 * std::bad_alloc, Python MemoryError, V8's heap and ArrayBuffer failures, glibc and musl aborts.
 */
const OUT_OF_MEMORY = /std::bad_alloc|MemoryError|JavaScript heap out of memory|Reached heap limit|Array buffer allocation failed|Cannot allocate memory|out of memory/i

export function classifyRun(run: SandboxRun, limits: VerdictLimits): RunVerdict {
  if (run.failure) return { verdict: 'IE', detail: run.failure }
  if (run.stdoutBytes >= limits.outputLimitBytes || run.signal === 'SIGXFSZ') {
    return { verdict: 'OLE', detail: `output limit of ${limits.outputLimitBytes} bytes exceeded` }
  }
  const cpuMs = run.cpuMs ?? (run.killedBy === 'wall' ? 0 : run.wallMs)
  if (run.killedBy === 'cpu' || run.signal === 'SIGXCPU' || cpuMs > limits.timeLimitMs) {
    return { verdict: 'TLE', detail: 'CPU time limit exceeded' }
  }
  const limitKb = limits.memoryLimitMb * 1024
  const rssKb = run.maxRssKb ?? 0
  if (rssKb > limitKb + limits.rssAllowanceKb) return { verdict: 'MLE', detail: 'memory limit exceeded' }
  if (run.killedBy === 'wall') return { verdict: 'TLE', detail: 'wall-clock limit exceeded (sleeping or blocked)' }
  const failed = run.exitCode !== 0 || run.signal !== null
  if (failed) {
    if (OUT_OF_MEMORY.test(run.stderr)) return { verdict: 'MLE', detail: 'memory allocation failed' }
    // A failed allocation rarely says so (a NULL dereference, an unchecked exit(1)), but it
    // happens with the resident set close to the limit.
    if (rssKb >= 0.9 * limitKb) return { verdict: 'MLE', detail: 'failed near the memory limit' }
    return { verdict: 'RE', detail: run.signal !== null ? `killed by ${run.signal}` : `exit code ${run.exitCode}` }
  }
  return { verdict: 'AC' }
}
