/**
 * One long-lived `edgerun-sandbox --serve` process (helper-serve-source.ts): the worker writes a
 * request per run on its stdin and reads the reply on its stdout. The launcher runs them one at
 * a time, in order; a caller may queue the next before the last reply came, so the launcher
 * starts it without waiting for the worker. A launcher that was killed, or that died, is never
 * used again.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { EdgerunError } from '../../errors/index.js'

export interface LauncherReply {
  /** The one-shot launcher's report: its stats line, or its failure lines. */
  meta: string
  stdoutBytes: number
  /** Undefined when stdout was longer than the request's --stdout-max. */
  stdout?: Buffer
  stderr: Buffer
  /** The box could not be deleted: the caller removes it. */
  boxLeft: boolean
}

const HEADER = /^edgerun-run (\d+) (\d+) (\d+) ([01]) (\d+)$/

export class SandboxLauncher {
  private readonly child: ChildProcessWithoutNullStreams
  private chunks: Buffer[] = []
  private buffered = 0
  private queue: { resolve: (reply: LauncherReply) => void; reject: (error: Error) => void; onStart?: () => void }[] = []
  private exited: Error | undefined
  private diagnostics = ''
  private corked = false
  private readonly uncork = (): void => {
    this.corked = false
    this.child.stdin.uncork()
  }

  constructor(helper: string, startArgs: string[]) {
    this.child = spawn(helper, ['--serve', ...startArgs], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group: one kill reaches the launcher, and through its death every run.
      detached: true,
      env: { PATH: '/usr/bin:/bin' },
    })
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk))
    this.child.stderr.on('data', (chunk: Buffer) => {
      if (this.diagnostics.length < 4096) this.diagnostics += chunk.toString('utf8')
    })
    // A write to a launcher that just died fails with EPIPE; the exit reports it.
    this.child.stdin.on('error', () => undefined)
    this.child.once('error', (error) => this.onExit(`could not start the sandbox launcher: ${error.message}`))
    this.child.once('exit', (code, signal) => this.onExit(`the sandbox launcher ended (${signal ?? `exit code ${code}`})`))
    this.idle()
  }

  get alive(): boolean {
    return this.exited === undefined
  }

  /**
   * Sends one request: `args` are the launcher's options and program, `input` the program's
   * stdin. `onStart` is called when the launcher takes it up: now, or when the reply before it came.
   */
  run(args: string[], input?: Buffer, onStart?: () => void): Promise<LauncherReply> {
    if (this.exited) return Promise.reject(this.exited)
    const head = Buffer.from(`${args.join('\0')}\0\0`)
    const frame = Buffer.allocUnsafe(4)
    frame.writeUInt32LE(head.length + (input?.length ?? 0))
    this.busy()
    // The requests of one tick (a judge queues several at once) go in one write: a write per
    // request would be a syscall, and a wake-up of the launcher, each.
    if (!this.corked) {
      this.corked = true
      this.child.stdin.cork()
      process.nextTick(this.uncork)
    }
    if (input && input.length > 0) this.child.stdin.write(Buffer.concat([frame, head, input]))
    else this.child.stdin.write(Buffer.concat([frame, head]))
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, onStart })
      if (this.queue.length === 1) onStart?.()
    })
  }

  /** Ends the launcher and whatever it runs (a run's init dies with it, and its namespace then). */
  kill(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    this.onExit('the sandbox launcher was killed')
  }

  /** An idle launcher does not keep the worker's event loop alive; it exits when our end closes. */
  idle(): void {
    this.child.unref()
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void }).unref?.()
  }

  private busy(): void {
    this.child.ref()
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { ref?: () => void }).ref?.()
  }

  private onExit(why: string): void {
    if (this.exited) return
    const detail = this.diagnostics.trim()
    this.exited = new EdgerunError('SANDBOX_FAILED', detail ? `${why}: ${detail.slice(0, 500)}` : why)
    for (const waiting of this.queue.splice(0)) waiting.reject(this.exited)
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    // One chunk may end one reply and hold the next whole (queued runs end back to back).
    while (this.buffered >= 4) {
      const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
      this.chunks = [data]
      const length = data.readUInt32LE(0)
      if (this.buffered < 4 + length) return
      const frame = data.subarray(4, 4 + length)
      const rest = data.subarray(4 + length)
      this.chunks = rest.length > 0 ? [rest] : []
      this.buffered = rest.length
      const waiting = this.queue.shift()
      if (!waiting) continue
      try {
        waiting.resolve(parseReply(frame))
      } catch (error) {
        waiting.reject(error as Error)
        this.kill()
        return
      }
      this.queue[0]?.onStart?.()
    }
  }
}

export function parseReply(frame: Buffer): LauncherReply {
  const newline = frame.indexOf(10)
  const header = newline < 0 ? undefined : frame.subarray(0, newline).toString('latin1').match(HEADER)
  if (!header) throw new EdgerunError('SANDBOX_FAILED', 'the sandbox launcher sent a malformed reply')
  const [stdoutBytes, stdoutSent, stderrSent, boxLeft, metaLength] = header.slice(1).map(Number) as [number, number, number, number, number]
  let at = newline + 1
  const meta = frame.subarray(at, at + metaLength).toString('utf8')
  at += metaLength
  const stdout = stdoutBytes === stdoutSent ? frame.subarray(at, at + stdoutSent) : undefined
  at += stdoutSent
  const stderr = frame.subarray(at, at + stderrSent)
  return { meta, stdoutBytes, stdout, stderr, boxLeft: boxLeft === 1 }
}
