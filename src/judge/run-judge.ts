/**
 * Judges one submission: build (compile or syntax check), then the tests in order, stopping at
 * the first that is not AC (the job's verdict is that one's, and the remaining tests would only
 * cost time). Every run gets a fresh box directory; the job directory goes when the job ends.
 */
import { writeFileSync } from 'node:fs'
import { chmod, chown, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JudgeJobSpec, JudgeOutput, JudgeTestResult } from '../protocol/index.js'
import type { Logger } from '../logging/logger.js'
import { buildKey, cachedBuild, keepBuild } from './build-cache.js'
import { check } from './checkers.js'
import { JobDir } from './job-dir.js'
import { detectToolchains, type Toolchain } from './languages.js'
import { sandboxCapabilities, type SandboxCapabilities } from './sandbox/probe.js'
import type { SandboxLauncher } from './sandbox/launcher.js'
import { acquireLauncher, release } from './sandbox/pool.js'
import { runSandboxed, type SandboxRun, type SandboxRunSpec } from './sandbox/run.js'
import { runServed } from './sandbox/served-run.js'
import { usableByOthers } from './sandbox/tools.js'
import { leaseUid } from './sandbox/uid-pool.js'
import { classifyRun } from './verdict.js'

export interface RunJudgeOptions {
  /** Aborting kills the running program's process tree; runJudge then rejects with signal.reason. */
  signal?: AbortSignal
  /** Called after each test, in order (the worker turns it into a `progress` event). */
  onTest?: (result: JudgeTestResult, index: number) => void
  logger?: Logger
  /** Where job directories are made; the default is the OS temp dir. */
  workDir?: string
  /** A specific sandbox configuration (tests use it to exercise each launcher); default: the probed one. */
  sandbox?: SandboxCapabilities
  /**
   * Run the tests through a pooled launcher where the sandbox allows it (default true); false
   * starts a launcher process per run, as on machines where pooling is not possible.
   */
  pool?: boolean
}

const KiB = 1024
const MiB = 1024 * KiB
const COMPILE_OUTPUT_MAX = 8 * KiB
const STDERR_READ_MAX = 16 * KiB
const OUTPUT_LIMIT_MAX = 64 * MiB
const COMPILE_CPU_MS = 10_000
/** Threads count too (V8 runs ~10): enough for any honest solution, few enough to stop a fork bomb. */
const PROCESS_LIMIT = 64
const SANDBOX_ENV_PATH = '/usr/local/bin:/usr/bin:/bin'

/** Generous enough for any honest answer, small enough that "print forever" is caught in milliseconds. */
export function outputLimitFor(expected: string): number {
  return Math.min(OUTPUT_LIMIT_MAX, 2 * Buffer.byteLength(expected) + MiB)
}

/**
 * The wall-clock limit of a run whose CPU limit is `cpuLimitMs`. It exists only to stop programs
 * that use no CPU (sleepers, a read that never returns), so it is generous: a run that needs all
 * of its CPU limit trips it only if it gets less than 1/13 of a core throughout (1 s limit; a
 * third of a core for long limits), one that needs little CPU practically never. Contention
 * alone must not turn a verdict into TLE.
 */
export function wallLimitFor(cpuLimitMs: number): number {
  return 3 * cpuLimitMs + 10_000
}

function environment(box: string): Record<string, string> {
  return { PATH: SANDBOX_ENV_PATH, HOME: box, TMPDIR: box, LANG: 'C.UTF-8' }
}

function truncate(text: string, max: number): string {
  return Buffer.byteLength(text) <= max ? text : `${Buffer.from(text).subarray(0, max).toString('utf8')}\n[… truncated]`
}

function setupFailure(reason: string): JudgeOutput {
  return { verdict: 'IE', tests: [], compile: { ok: false, output: `internal error: ${reason}` } }
}

interface Context {
  caps: SandboxCapabilities
  toolchain: Toolchain
  dir: JobDir
  signal?: AbortSignal
  /** The job's pooled launcher, if it has one. */
  launcher?: SandboxLauncher
  /** The wall clock of the test that ended last (ms): how deep the launcher's queue may go. */
  lastWallMs: number
}

/** Compile (c, cpp) or syntax-check (python3, js) in the sandbox: a compiler reading hostile source is not trusted either. */
async function build(ctx: Context, source: string): Promise<{ ok: boolean; output: string; internal?: boolean }> {
  const { toolchain, dir } = ctx
  const target = join(dir.prog, toolchain.producesBinary ? 'main' : toolchain.sourceName)
  const key = buildKey(toolchain, source)
  const cached = await cachedBuild(key, target)
  if (cached) {
    if (cached.ok && !toolchain.producesBinary) writeFileSync(target, source, { mode: 0o644 })
    return cached
  }
  const built = await buildInSandbox(ctx, source, target)
  if (!built.internal) await keepBuild(key, built, built.ok && toolchain.producesBinary ? target : undefined)
  return built
}

async function buildInSandbox(ctx: Context, source: string, target: string): Promise<{ ok: boolean; output: string; internal?: boolean }> {
  const { caps, toolchain, dir } = ctx
  const box = await dir.box()
  await writeFile(join(box, toolchain.sourceName), source, { mode: 0o644 })
  const spec = {
    argv: toolchain.buildArgv(toolchain.sourceName),
    jobDir: dir.root,
    boxDir: box,
    uid: dir.uid,
    stdinPath: '/dev/null',
    privDir: dir.priv,
    wallMs: wallLimitFor(COMPILE_CPU_MS),
    env: environment(box),
    signal: ctx.signal,
    stdoutReadMax: COMPILE_OUTPUT_MAX,
    stderrReadMax: COMPILE_OUTPUT_MAX + 1,
    limits: {
      cpuSeconds: COMPILE_CPU_MS / 1000,
      // gcc runs cc1, as and ld one after another: the limit is on all of them together.
      treeCpuMs: COMPILE_CPU_MS,
      // RLIMIT_DATA rather than AS: node --check reserves address space like any V8.
      dataBytes: 2048 * MiB,
      stackBytes: 64 * MiB,
      processes: PROCESS_LIMIT,
      fileSizeBytes: 256 * MiB,
      openFiles: 256,
    },
  }
  const run = ctx.launcher ? await runServed(ctx.launcher, caps, { ...spec, box: 'existing' }) : await runSandboxed(caps, spec)
  if (run.killedBy === 'abort') return { ok: false, output: 'aborted', internal: true }
  if (run.failure) return { ok: false, output: run.failure, internal: true }
  const messages = truncate([run.stdout?.toString('utf8') ?? '', run.stderr].filter(Boolean).join('\n'), COMPILE_OUTPUT_MAX)
  if (run.killedBy === 'wall' || run.killedBy === 'cpu' || run.signal === 'SIGXCPU') {
    return { ok: false, output: `${messages}\ncompilation exceeded its time limit`.trim() }
  }
  if (run.exitCode !== 0 || run.signal !== null) {
    const how = run.signal !== null ? `compiler killed by ${run.signal}` : ''
    return { ok: false, output: [messages, how].filter(Boolean).join('\n') || `exit code ${run.exitCode}` }
  }
  if (toolchain.producesBinary) {
    // Moved out of the box and handed to root: later tests run under the same uid and must
    // not be able to rewrite the program between runs.
    await rename(join(box, 'main'), target)
    await chown(target, 0, 0).catch(() => undefined)
    await chmod(target, 0o755)
  } else {
    await writeFile(target, source, { mode: 0o644 })
  }
  await rm(box, { recursive: true, force: true })
  return { ok: true, output: messages }
}

async function runTest(ctx: Context, job: JudgeJobSpec, index: number): Promise<JudgeTestResult> {
  const { caps, toolchain, dir } = ctx
  const test = job.tests[index]!
  const name = test.name ?? String(index + 1)
  const memory = toolchain.memory(job.memoryLimitMb)
  const outputLimitBytes = outputLimitFor(test.expected)
  const stdinPath = join(dir.priv, 'stdin')
  const box = ctx.launcher ? dir.nextBox() : await dir.box()
  const spec: SandboxRunSpec = {
    argv: toolchain.runArgv(dir.prog, job.memoryLimitMb),
    jobDir: dir.root,
    boxDir: box,
    uid: dir.uid,
    stdinPath,
    privDir: dir.priv,
    wallMs: wallLimitFor(job.timeLimitMs),
    env: environment(box),
    signal: ctx.signal,
    stdoutReadMax: outputLimitBytes,
    stderrReadMax: STDERR_READ_MAX,
    limits: {
      // Per process, whole seconds: the backstop. The limit proper is on the whole tree, in ms.
      cpuSeconds: Math.ceil(job.timeLimitMs / 1000),
      treeCpuMs: job.timeLimitMs,
      addressSpaceBytes: memory.addressSpaceBytes,
      dataBytes: memory.dataBytes,
      stackBytes: memory.stackBytes,
      processes: PROCESS_LIMIT,
      fileSizeBytes: outputLimitBytes,
      openFiles: 256,
    },
  }
  let boxLeft = true
  try {
    let run: SandboxRun
    if (ctx.launcher) {
      // Until a test of this job has ended, its pace is unknown and the queue stays shallow: those
      // replies come at once, so that the queue deepens before the launcher runs out of requests.
      const replyNow = ctx.lastWallMs === Infinity
      const served = await runServed(ctx.launcher, caps, { ...spec, stdinPath: undefined, input: Buffer.from(test.input), box: 'new', boxesTmpfs: dir.boxes, replyNow })
      boxLeft = served.boxLeft
      run = served
      ctx.lastWallMs = served.wallMs
    } else {
      await writeFile(stdinPath, test.input)
      run = await runSandboxed(caps, spec)
    }
    if (run.killedBy === 'abort') ctx.signal?.throwIfAborted()
    const outcome = classifyRun(run, {
      timeLimitMs: job.timeLimitMs,
      memoryLimitMb: job.memoryLimitMb,
      rssAllowanceKb: memory.rssAllowanceKb,
      outputLimitBytes,
    })
    const timeMs = run.killedBy === 'wall' || run.cpuMs === undefined ? Math.round(run.wallMs) : run.cpuMs
    const result: JudgeTestResult = { name, verdict: outcome.verdict, timeMs, memoryKb: run.maxRssKb ?? 0 }
    if (outcome.verdict === 'AC') {
      const checked = check(job.checker, run.stdout ?? Buffer.alloc(0), test.expected)
      if (!checked.ok) {
        result.verdict = 'WA'
        if (checked.detail) result.detail = checked.detail
      }
    } else if (outcome.detail) {
      result.detail = outcome.detail
    }
    return result
  } finally {
    if (boxLeft) await rm(box, { recursive: true, force: true })
  }
}

/**
 * Tests a pooled launcher holds queued beyond the running one: enough that it never waits for
 * the worker (whose turn, on a busy machine, can come late), few enough that a job ending early
 * wastes little. Short tests get more: the launcher sends their replies a few at a time
 * (helper-serve-source.ts), and the worker refills the queue only when they come.
 */
const QUEUE_AHEAD = 3
const QUEUE_AHEAD_SHORT = 12
/** A test this short (wall clock, ms) lets the next ones queue QUEUE_AHEAD_SHORT deep. */
const SHORT_TEST_MS = 5

/** How long the tests queued past the job's end (their verdicts are not wanted) may still run. */
const ABANDON_GRACE_MS = 100

/**
 * The tests queued behind the one that ended the job: waited for briefly (most end in a few ms),
 * else their launcher is killed, so a slow program never holds the job up. A killed launcher is
 * not reused.
 */
async function abandon(queued: Promise<unknown>[], launcher: SandboxLauncher | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, ABANDON_GRACE_MS)))
  const done = Promise.allSettled(queued).then(() => true)
  if (!(await Promise.race([done, grace.then(() => false)]))) launcher?.kill()
  clearTimeout(timer)
  await done
}

export async function runJudge(job: JudgeJobSpec, opts: RunJudgeOptions = {}): Promise<JudgeOutput> {
  const { signal, logger } = opts
  signal?.throwIfAborted()
  const caps = opts.sandbox ?? sandboxCapabilities()
  if (caps.unusable) return setupFailure(caps.unusable)
  const toolchain = (await detectToolchains()).get(job.language)
  if (!toolchain) return setupFailure(`language ${job.language} is not available on this worker`)

  const base = opts.workDir ?? tmpdir()
  const lease = caps.dropUser ? leaseUid() : undefined
  let dir: JobDir | undefined
  let launcher: SandboxLauncher | undefined
  const queued: Promise<JudgeTestResult>[] = []
  try {
    dir = await JobDir.create(base, lease?.uid)
    if (caps.dropUser && !usableByOthers(dir.root, 'exec')) {
      return setupFailure(`the sandbox uid cannot reach ${dir.root}: choose a workDir whose parents are searchable by others`)
    }
    if (opts.pool !== false) launcher = await acquireLauncher(caps, logger)
    const ctx: Context = { caps, toolchain, dir, signal, launcher, lastWallMs: Infinity }
    const compiled = await build(ctx, job.source)
    signal?.throwIfAborted()
    if (compiled.internal) {
      logger?.error({ language: job.language, reason: compiled.output }, 'judge build step failed inside the sandbox')
      return setupFailure(compiled.output)
    }
    if (!compiled.ok) return { verdict: 'CE', tests: [], compile: { ok: false, output: compiled.output } }

    const tests: JudgeTestResult[] = []
    let verdict: JudgeOutput['verdict'] = 'AC'
    for (let index = 0; index < job.tests.length; index++) {
      signal?.throwIfAborted()
      const current = queued.shift() ?? runTest(ctx, job, index)
      // A pooled launcher takes the next test the moment this one ends, while this one's output
      // is checked here: the worker's round trip leaves the critical path.
      const depth = ctx.lastWallMs < SHORT_TEST_MS ? QUEUE_AHEAD_SHORT : QUEUE_AHEAD
      for (let ahead = index + 1 + queued.length; launcher && queued.length < depth && ahead < job.tests.length; ahead++) {
        const next = runTest(ctx, job, ahead)
        next.catch(() => undefined)
        queued.push(next)
      }
      const result = await current
      tests.push(result)
      logger?.debug({ test: result.name, verdict: result.verdict, timeMs: result.timeMs, memoryKb: result.memoryKb }, 'judged test')
      if (result.verdict === 'IE') logger?.error({ test: result.name, detail: result.detail }, 'judge sandbox failure')
      try {
        opts.onTest?.(result, index)
      } catch (error) {
        logger?.warn({ err: error }, 'onTest callback threw')
      }
      if (result.verdict !== 'AC') {
        verdict = result.verdict
        break
      }
    }
    return { verdict, tests, compile: { ok: true, output: compiled.output } }
  } finally {
    if (queued.length > 0) await abandon(queued, launcher)
    if (launcher) release(caps, launcher)
    await dir?.remove()
    lease?.release()
  }
}
