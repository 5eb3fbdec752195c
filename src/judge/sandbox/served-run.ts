/**
 * Runs one program through a pooled launcher (launcher.ts) instead of a process of its own:
 * the same options and the same report as runSandboxed, minus every file the worker used to
 * open, read and delete per test. The launcher keeps the wall clock next to the program; the
 * worker's timer is only a backstop for a stuck launcher, and a launcher it had to kill (or that
 * an abort killed) is never reused.
 */
import { performance } from 'node:perf_hooks'
import { helperRunArgs, type SandboxCommandSpec } from './command.js'
import type { SandboxLauncher } from './launcher.js'
import type { SandboxCapabilities } from './probe.js'
import { HELPER_BACKSTOP_MS, parseMeta, type SandboxRun } from './run.js'

export interface ServedRunSpec extends SandboxCommandSpec {
  /** The program's stdin: these bytes, or the file at stdinPath. */
  input?: Buffer
  stdinPath?: string
  /** new: the launcher makes boxDir before the run and deletes it after; existing: the caller's. */
  box: 'new' | 'existing'
  /** A directory the launcher mounts a tmpfs on (once per job) for the boxes in it. */
  boxesTmpfs?: string
  /** The reply goes at once, not held for a few more (the worker needs it to pace the next requests). */
  replyNow?: boolean
  wallMs: number
  env: Record<string, string>
  signal?: AbortSignal
  stdoutReadMax: number
  stderrReadMax: number
}

export interface ServedRun extends SandboxRun {
  /** The launcher could not delete the box: the caller must. */
  boxLeft: boolean
}

export async function runServed(launcher: SandboxLauncher, caps: SandboxCapabilities, spec: ServedRunSpec): Promise<ServedRun> {
  const args: string[] = []
  for (const [name, value] of Object.entries(spec.env)) args.push('--env', `${name}=${value}`)
  if (spec.stdinPath !== undefined) args.push('--stdin', spec.stdinPath)
  if (spec.box === 'new') args.push('--box', 'new')
  if (spec.boxesTmpfs !== undefined) args.push('--tmpfs', spec.boxesTmpfs)
  if (spec.replyNow) args.push('--reply-now')
  args.push('--stdout-max', String(spec.stdoutReadMax), '--stderr-max', String(spec.stderrReadMax))
  args.push(...helperRunArgs(caps, spec))
  let killedBy: 'wall' | 'abort' | undefined
  const kill = (reason: 'wall' | 'abort') => {
    killedBy ??= reason
    launcher.kill()
  }
  // From when the launcher takes the run up, not from when it was queued behind another.
  let timer: NodeJS.Timeout | undefined
  const onStart = () => {
    timer = setTimeout(() => kill('wall'), spec.wallMs + HELPER_BACKSTOP_MS)
  }
  const onAbort = () => kill('abort')
  spec.signal?.addEventListener('abort', onAbort, { once: true })
  const started = performance.now()
  try {
    if (spec.signal?.aborted) onAbort()
    const reply = await launcher.run(args, spec.stdinPath === undefined ? (spec.input ?? Buffer.alloc(0)) : undefined, onStart)
    const base = { wallMs: performance.now() - started, stdoutBytes: reply.stdoutBytes, stdout: reply.stdout, stderr: reply.stderr.toString('utf8'), boxLeft: reply.boxLeft }
    const meta = parseMeta(reply.meta)
    if (meta && 'failure' in meta) return { ...base, exitCode: null, signal: null, failure: `sandbox failed: ${meta.failure}` }
    if (!meta) return { ...base, exitCode: null, signal: null, failure: `sandbox failed: ${reply.meta.trim().slice(0, 500) || 'no report'}` }
    const { killedBy: launcherKill, wallMs, ...measured } = meta
    return { ...base, ...measured, wallMs: wallMs ?? base.wallMs, killedBy: launcherKill }
  } catch (error) {
    const base = { wallMs: performance.now() - started, stdoutBytes: 0, stderr: '', boxLeft: true }
    if (killedBy) return { ...base, exitCode: null, signal: 'SIGKILL', killedBy }
    return { ...base, exitCode: null, signal: null, failure: `sandbox failed: ${(error as Error).message}` }
  } finally {
    clearTimeout(timer)
    spec.signal?.removeEventListener('abort', onAbort)
  }
}
