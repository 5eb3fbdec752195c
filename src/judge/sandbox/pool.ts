/**
 * The pooled launchers: one `edgerun-sandbox --serve` per running job, kept for the next job
 * when it ends, so that a worker with N slots keeps about N of them. Only the strongest
 * configuration is served (the compiled helper with pid and mount namespaces): there each run
 * gets namespaces of its own inside the launcher, and nothing it starts can outlive it. Weaker
 * configurations keep a process per run (run.ts).
 *
 * Before the first use in a process, one launcher runs the probe's self-test (`echo ok`, as the
 * sandbox uid, in a box it makes and deletes); if that fails the judge falls back to a process
 * per run and says why once.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../../logging/logger.js'
import { serveStartArgs } from './command.js'
import { SandboxLauncher } from './launcher.js'
import type { SandboxCapabilities } from './probe.js'
import { runServed } from './served-run.js'
import { probeUid } from './uid-pool.js'

/** Idle launchers kept per configuration: more than the slots of any sensible worker. */
const MAX_IDLE = 16

interface Pool {
  usable?: Promise<boolean>
  idle: SandboxLauncher[]
}

const pools = new WeakMap<SandboxCapabilities, Pool>()

export function servable(caps: SandboxCapabilities): boolean {
  return caps.launcher === 'helper' && caps.tools.helper !== undefined && caps.pidns && caps.mountns && !caps.unusable
}

function poolOf(caps: SandboxCapabilities): Pool {
  let pool = pools.get(caps)
  if (!pool) {
    pool = { idle: [] }
    pools.set(caps, pool)
  }
  return pool
}

async function selfTest(caps: SandboxCapabilities, logger?: Logger): Promise<boolean> {
  const launcher = new SandboxLauncher(caps.tools.helper!, serveStartArgs(caps))
  const jobDir = await mkdtemp(join(tmpdir(), 'edgerun-judge-probe-'))
  try {
    await chmod(jobDir, 0o711)
    const run = await runServed(launcher, caps, {
      argv: [caps.tools.sh, '-c', 'echo ok'],
      jobDir,
      boxDir: join(jobDir, 'box'),
      box: 'new',
      uid: caps.dropUser ? probeUid() : undefined,
      wallMs: 10_000,
      env: { PATH: '/usr/bin:/bin' },
      stdoutReadMax: 64,
      stderrReadMax: 4096,
      limits: { cpuSeconds: 5, addressSpaceBytes: 256 << 20, stackBytes: 8 << 20, processes: 16, fileSizeBytes: 1 << 20, openFiles: 64 },
    })
    const ok = run.exitCode === 0 && run.stdout?.toString() === 'ok\n'
    if (!ok) logger?.warn({ run: { ...run, stdout: run.stdout?.toString() } }, 'pooled sandbox launcher failed its self-test: one process per test instead')
    if (ok) release(caps, launcher)
    else launcher.kill()
    return ok
  } catch (error) {
    logger?.warn({ err: error }, 'pooled sandbox launcher failed its self-test: one process per test instead')
    launcher.kill()
    return false
  } finally {
    await rm(jobDir, { recursive: true, force: true })
  }
}

/** A launcher for one job, or undefined when this configuration runs a process per test. */
export async function acquireLauncher(caps: SandboxCapabilities, logger?: Logger): Promise<SandboxLauncher | undefined> {
  if (!servable(caps)) return undefined
  const pool = poolOf(caps)
  pool.usable ??= selfTest(caps, logger)
  if (!(await pool.usable)) return undefined
  for (let launcher = pool.idle.pop(); launcher; launcher = pool.idle.pop()) if (launcher.alive) return launcher
  return new SandboxLauncher(caps.tools.helper!, serveStartArgs(caps))
}

/** Back to the pool after a job, unless it died or was killed on the way. */
export function release(caps: SandboxCapabilities, launcher: SandboxLauncher): void {
  const pool = poolOf(caps)
  if (!launcher.alive || pool.idle.length >= MAX_IDLE) {
    launcher.kill()
    return
  }
  launcher.idle()
  pool.idle.push(launcher)
}

/** Ends every idle launcher of this configuration (tests; a worker's launchers end with it). */
export function closeLaunchers(caps: SandboxCapabilities): void {
  const pool = pools.get(caps)
  for (const launcher of pool?.idle.splice(0) ?? []) launcher.kill()
}
