import type { CommandJobSpec } from '../../protocol/index.js'
import { killGroup, spawnGroup } from '../process-tree.js'
import { CappedBuffer } from './capture.js'
import type { RunContext, RunOutcome } from './runner.js'

export interface CommandRunnerOptions {
  /** Registered names → executables. A job can name nothing else. */
  commands: Record<string, string>
  outputLimitBytes: number
}

/**
 * Runs a registered command without a shell: args are passed as they are, stdin is fed, output
 * is captured up to a limit, and timeoutMs kills the whole process group.
 */
export function commandRunner(options: CommandRunnerOptions) {
  return (job: CommandJobSpec, { signal }: RunContext): Promise<RunOutcome> => {
    // Dropped while it waited for a slot: an already-aborted signal never fires 'abort'.
    if (signal.aborted) return Promise.resolve({ state: 'canceled', output: null, error: 'canceled before it started' })
    const file = options.commands[job.name]
    if (!file) return Promise.resolve({ state: 'failed', output: null, error: `command "${job.name}" is not registered on this worker` })
    const started = performance.now()
    const stdout = new CappedBuffer(options.outputLimitBytes)
    const stderr = new CappedBuffer(options.outputLimitBytes)
    return new Promise<RunOutcome>((resolve) => {
      let reason: 'timeout' | 'cancel' | undefined
      const child = spawnGroup(file, job.args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } })
      const timer = setTimeout(() => {
        reason = 'timeout'
        killGroup(child)
      }, job.timeoutMs)
      const onAbort = () => {
        reason ??= 'cancel'
        killGroup(child)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk))
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk))
      child.stdin!.on('error', () => {}) // the command may exit without reading its stdin
      child.stdin!.end(job.stdin ?? '')
      let spawnError: Error | undefined
      child.on('error', (error) => {
        spawnError = error
      })
      child.on('close', (code, sig) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        // Anything it left running in its group goes too.
        killGroup(child)
        const output = {
          exitCode: code,
          signal: sig,
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
          ...(stdout.truncated || stderr.truncated ? { truncated: true } : {}),
        }
        if (spawnError) return resolve({ state: 'failed', output, error: `cannot run "${job.name}": ${spawnError.message}` })
        if (reason === 'cancel') return resolve({ state: 'canceled', output, error: 'canceled' })
        if (reason === 'timeout') return resolve({ state: 'timed_out', output, error: `killed after timeoutMs ${job.timeoutMs}` })
        if (code === 0) return resolve({ state: 'succeeded', output })
        resolve({ state: 'failed', output, error: code === null ? `killed by ${sig}` : `exit code ${code}` })
      })
    })
  }
}
