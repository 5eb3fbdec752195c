/**
 * The built-in judge. See docs/judge.md for the sandbox, the limits and what each
 * verdict means.
 */
import type { JudgeLanguage } from '../protocol/index.js'
import { detectToolchains } from './languages.js'
import { sandboxCapabilities } from './sandbox/probe.js'

export { runJudge, outputLimitFor, wallLimitFor, type RunJudgeOptions } from './run-judge.js'
export { loadProblem, languageFromFile, type Problem } from './problem.js'
export { check, type CheckResult } from './checkers.js'

const LANGUAGE_ORDER: JudgeLanguage[] = ['python3', 'c', 'cpp', 'js']

/** The languages this machine can judge, for the worker's birth message. Probed once, then cached. */
export async function detectLanguages(): Promise<JudgeLanguage[]> {
  const toolchains = await detectToolchains()
  return LANGUAGE_ORDER.filter((language) => toolchains.has(language))
}

export interface SandboxInfo {
  /** Programs run in an empty network namespace (loopback down, no interfaces). */
  netns: boolean
  /** Programs run under a dedicated unprivileged uid (the worker runs as root). */
  dropUser: boolean
  /** A pid namespace: when a run ends every process it started is killed, setsid or not. */
  pidns: boolean
  /** A mount namespace in which the host is read-only, except the program's own box directory. */
  readOnlyFs: boolean
  /** CPU time and peak memory are measured (GNU time); otherwise times are wall-clock and memory 0. */
  measured: boolean
  /** root, userns (unprivileged user namespace) or none (rlimits only). */
  mode: 'root' | 'userns' | 'none'
  /** Why the judge cannot run at all, if so. */
  unusable?: string
}

/** What isolation this machine allows. Probes on first call (a few ms, synchronous), then cached. */
export function sandboxInfo(): SandboxInfo {
  const caps = sandboxCapabilities()
  return {
    netns: caps.netns,
    dropUser: caps.dropUser,
    pidns: caps.pidns,
    readOnlyFs: caps.mountns,
    measured: caps.cpuTime,
    mode: caps.mode,
    ...(caps.unusable ? { unusable: caps.unusable } : {}),
  }
}
