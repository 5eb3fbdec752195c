/**
 * Runs one program through the sandbox chain and reports what happened: exit status, CPU time,
 * peak RSS, and whether a limit stopped it. Verdicts are decided elsewhere.
 *
 * Who keeps the wall clock matters under load. The helper keeps it next to the program and says
 * whether it had to kill; the worker's own timer is then only a backstop for a stuck launcher.
 * A Node timer can fire late, after the program had already ended: a loop that was busy in an
 * I/O callback when both happened runs due timers before it polls for exited children. So a
 * timer kill is believed only when the launcher's report does not show the program ending on
 * its own.
 */
import { spawn } from 'node:child_process'
import { constants as osConstants } from 'node:os'
import { open, readFile, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { buildSandboxCommand, HELPER_ERROR_MARK, STATS_MARK, STATUS_MARK, TIME_MARK, type SandboxCommandSpec } from './command.js'
import type { SandboxCapabilities } from './probe.js'

export interface SandboxRunSpec extends SandboxCommandSpec {
  stdinPath: string
  /** Root-only directory for the stdout, stderr and meta files. */
  privDir: string
  wallMs: number
  env: Record<string, string>
  signal?: AbortSignal
  /** Read stdout back only when it is at most this long (longer means the output limit hit). */
  stdoutReadMax: number
  stderrReadMax: number
}

export interface SandboxRun {
  exitCode: number | null
  signal: string | null
  /**
   * user + system time, ms: with the helper, of every process of the run (leftovers included);
   * with GNU time, of the program and the children it waited for. Undefined when not measured.
   */
  cpuMs?: number
  /** Peak resident set size of the largest process, KB; undefined when not measured. */
  maxRssKb?: number
  /** From the program's start to its end (the helper's clock), or the whole launch otherwise. */
  wallMs: number
  /** wall: stopped on the wall-clock limit; cpu: the tree's CPU time passed the limit; abort: the caller's signal. */
  killedBy?: 'wall' | 'cpu' | 'abort'
  stdoutBytes: number
  /** Undefined when longer than stdoutReadMax. */
  stdout?: Buffer
  stderr: string
  /** Set when the sandbox itself failed: the run tells nothing about the program. */
  failure?: string
}

/** Number → name, the first name winning: SIGABRT rather than its alias SIGIOT. */
const signalNames = new Map<number, string>()
for (const [name, num] of Object.entries(osConstants.signals)) if (!signalNames.has(num)) signalNames.set(num, name)

function signalName(num: number): string {
  return signalNames.get(num) ?? `signal ${num}`
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

interface Meta {
  exitCode: number | null
  signal: string | null
  cpuMs?: number
  maxRssKb?: number
  /** Only the helper reports these two. */
  wallMs?: number
  killedBy?: 'wall' | 'cpu'
}

/** How a program that the worker's timer killed ends, as the launcher reports it. */
const WORKER_KILL_SIGNAL = 'SIGKILL'
/** The helper keeps the wall clock; the worker's timer waits this much longer before it steps in. */
export const HELPER_BACKSTOP_MS = 10_000

// Built once: a pooled judge parses a report per test.
const STATS_LINE = new RegExp(`^${STATS_MARK} (-?\\d+) (\\d+) (\\d+) (\\d+) (\\d+) (none|wall|cpu)$`)
const TIME_LINE = new RegExp(`^${TIME_MARK} ([\\d.]+) ([\\d.]+) ([\\d.]+) (\\d+) (\\d+)$`)
const STATUS_LINE = new RegExp(`^${STATUS_MARK} (\\d+)$`)

/**
 * Reads the launcher's report: the helper's stats line, GNU time's line (after its "terminated by
 * signal" line), or the shell's status. `failure` when the helper says the sandbox broke.
 */
export function parseMeta(text: string): Meta | { failure: string } | undefined {
  const lines = text.split('\n')
  const broken = lines.filter((line) => line.startsWith(HELPER_ERROR_MARK))
  if (broken.length > 0) return { failure: broken.join('; ') }
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    const stats = line.match(STATS_LINE)
    if (stats) {
      const signal = Number(stats[2])
      const meta: Meta = {
        exitCode: signal ? null : Number(stats[1]),
        signal: signal ? signalName(signal) : null,
        cpuMs: Math.round(Number(stats[3]) / 1000),
        maxRssKb: Number(stats[4]),
        wallMs: Math.round(Number(stats[5]) / 1000),
      }
      if (stats[6] !== 'none') meta.killedBy = stats[6] as 'wall' | 'cpu'
      return meta
    }
    const timed = line.match(TIME_LINE)
    if (timed) {
      const terminated = lines[i - 1]?.match(/^Command terminated by signal (\d+)$/)
      return {
        exitCode: terminated ? null : Number(timed[5]),
        signal: terminated ? signalName(Number(terminated[1])) : null,
        cpuMs: Math.round((Number(timed[2]) + Number(timed[3])) * 1000),
        maxRssKb: Number(timed[4]),
      }
    }
    const status = line.match(STATUS_LINE)
    if (status) {
      const code = Number(status[1])
      return code > 128 ? { exitCode: null, signal: signalName(code - 128) } : { exitCode: code, signal: null }
    }
  }
  return undefined
}

async function readHead(path: string, max: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(max)
    const { bytesRead } = await handle.read(buffer, 0, max, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Without a pid namespace, processes that left the process group (setsid) survive it. As long
 * as the job has a uid of its own, "kill everything of that uid" finds them. (The helper needs
 * this only when it was killed itself: it ends the leftovers of every run it supervised.)
 */
async function sweepUid(caps: SandboxCapabilities, uid: number): Promise<void> {
  const { helper, setpriv, sh } = caps.tools
  const killAll = [sh, '-c', 'kill -9 -1']
  const command = helper
    ? { file: helper, args: ['--uid', String(uid), '--gid', String(uid), '--', ...killAll] }
    : setpriv
      ? { file: setpriv, args: [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...killAll] }
      : undefined
  if (!command) return
  await new Promise<void>((resolve) => {
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] })
    ;(child.stdio[3] as NodeJS.ReadableStream | null)?.resume()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('error', () => resolve())
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export async function runSandboxed(caps: SandboxCapabilities, spec: SandboxRunSpec): Promise<SandboxRun> {
  const stdoutPath = join(spec.privDir, 'stdout')
  const stderrPath = join(spec.privDir, 'stderr')
  const metaPath = join(spec.privDir, 'meta')
  const { file, args, metaFd } = buildSandboxCommand(caps, spec)
  const opened = await Promise.allSettled([
    open(spec.stdinPath, 'r'),
    open(stdoutPath, 'w'),
    open(metaPath, 'w'),
    open(stderrPath, 'w'),
  ])
  const handles = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const openFailure = opened.find((result) => result.status === 'rejected')
  if (openFailure) {
    await Promise.all(handles.map((handle) => handle.close()))
    throw openFailure.reason
  }
  const [stdinH, stdoutH, metaH, stderrH] = handles as [FileHandle, FileHandle, FileHandle, FileHandle]
  let killedBy: 'wall' | 'abort' | undefined
  let spawnError: Error | undefined
  let chainStatus: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null }
  const started = performance.now()
  try {
    await new Promise<void>((resolve) => {
      const child = spawn(file, args, {
        stdio: metaFd === 3 ? [stdinH.fd, stdoutH.fd, stderrH.fd, metaH.fd] : [stdinH.fd, stdoutH.fd, metaH.fd, stderrH.fd],
        // Own process group, so one kill(-pgid) reaches the whole chain.
        detached: true,
        env: spec.env,
        cwd: spec.boxDir,
      })
      const kill = (reason: 'wall' | 'abort') => {
        killedBy ??= reason
        killGroup(child.pid)
      }
      const timer = setTimeout(() => kill('wall'), caps.launcher === 'helper' ? spec.wallMs + HELPER_BACKSTOP_MS : spec.wallMs)
      const onAbort = () => kill('abort')
      spec.signal?.addEventListener('abort', onAbort, { once: true })
      if (spec.signal?.aborted) onAbort()
      const finish = () => {
        clearTimeout(timer)
        spec.signal?.removeEventListener('abort', onAbort)
        // Without a pid namespace, whatever the program left in its process group goes too.
        // (With one, the kernel already did it, and a second kill could only ever hit a
        // recycled process-group id.)
        if (!caps.pidns) killGroup(child.pid)
        resolve()
      }
      child.once('error', (error) => {
        spawnError = error
        finish()
      })
      child.once('exit', (code, signal) => {
        chainStatus = { code, signal }
        finish()
      })
    })
  } finally {
    await Promise.all(handles.map((handle) => handle.close()))
  }
  const wallMs = performance.now() - started
  // The helper, a child subreaper, has already ended every leftover unless it was killed itself.
  const leftoversPossible = caps.launcher !== 'helper' || killedBy !== undefined
  if (!caps.pidns && caps.dropUser && spec.uid !== undefined && leftoversPossible) await sweepUid(caps, spec.uid)

  const [metaText, stdoutStat] = await Promise.all([readFile(metaPath, 'utf8'), stat(stdoutPath)])
  const stdout = stdoutStat.size <= spec.stdoutReadMax ? await readFile(stdoutPath) : undefined
  const stderr = await readHead(stderrPath, spec.stderrReadMax)
  const base = { wallMs, killedBy, stdoutBytes: stdoutStat.size, stdout, stderr }
  if (spawnError) {
    return { ...base, exitCode: null, signal: null, failure: `could not start the sandbox: ${spawnError.message}` }
  }
  const meta = parseMeta(metaText)
  if (meta && 'failure' in meta) return { ...base, exitCode: null, signal: null, failure: `sandbox failed: ${meta.failure}` }
  if (!meta) {
    if (killedBy) return { ...base, exitCode: null, signal: 'SIGKILL' }
    const how = chainStatus.signal ? `signal ${chainStatus.signal}` : `exit code ${chainStatus.code}`
    return { ...base, exitCode: null, signal: null, failure: `sandbox failed (${how}): ${metaText.trim().slice(0, 500) || 'no report'}` }
  }
  const { killedBy: launcherKill, wallMs: programWallMs, ...measured } = meta
  // A launcher report of a program that did not die of SIGKILL means the program ended before
  // the worker's timer did anything: the timer fired late, and the run stands as it ended.
  const workerKill = killedBy === 'wall' && meta.signal === WORKER_KILL_SIGNAL ? 'wall' : undefined
  const kill = killedBy === 'abort' ? 'abort' : (launcherKill ?? workerKill)
  return { ...base, ...measured, wallMs: programWallMs ?? wallMs, killedBy: kill }
}
