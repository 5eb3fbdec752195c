/**
 * Turns what the sandbox saw into a verdict. The order matters: a program that printed past the
 * output limit is OLE even though it then died of SIGXFSZ; one that ran out of CPU is TLE even
 * though SIGXCPU is "a signal"; memory failures are recognised before generic crashes.
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
  if (run.killedBy === 'wall') return { verdict: 'TLE', detail: 'wall-clock limit exceeded' }
  if (run.stdoutBytes >= limits.outputLimitBytes || run.signal === 'SIGXFSZ') {
    return { verdict: 'OLE', detail: `output limit of ${limits.outputLimitBytes} bytes exceeded` }
  }
  const cpuMs = run.cpuMs ?? run.wallMs
  if (run.signal === 'SIGXCPU' || cpuMs > limits.timeLimitMs) return { verdict: 'TLE', detail: 'CPU time limit exceeded' }
  const limitKb = limits.memoryLimitMb * 1024
  const rssKb = run.maxRssKb ?? 0
  if (rssKb > limitKb + limits.rssAllowanceKb) return { verdict: 'MLE', detail: 'memory limit exceeded' }
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
