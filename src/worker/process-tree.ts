import { spawn, type ChildProcess } from 'node:child_process'

/**
 * Spawns a command in its own process group, so that a timeout or a cancel can kill everything
 * it started, not just the first process.
 */
export function spawnGroup(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess {
  return spawn(file, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: options.env, cwd: options.cwd, shell: false })
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}
