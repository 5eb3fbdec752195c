import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { EdgerunError } from '../../src/errors/index.js'
import type { BatchWriter, JobRow } from './job-table.js'
import { pack } from './row-packing.js'
import type { WriterReply, WriterRequest, WriterThreadData } from './sqlite-writer-thread.js'

/**
 * The thread's module, compiled. From dist/ it sits beside this file; from the TypeScript
 * sources (under vitest) the thread still runs the compiled one in dist/, since a worker
 * cannot load TypeScript: a test run needs `npm run build` first (`npm test` does it).
 */
export function writerThreadUrl(here: string = import.meta.url): URL {
  return here.endsWith('.ts')
    ? new URL('../../dist/broker/store/sqlite-writer-thread.js', here)
    : new URL('./sqlite-writer-thread.js', here)
}

/**
 * A thread inherits the process's flags, and `--input-type` (a master started with `node -e`)
 * makes Node refuse to load the thread's module from a file: that one stays behind.
 */
function threadExecArgv(): string[] {
  const out: string[] = []
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++ // and its value
    else if (!argv[i]!.startsWith('--input-type=')) out.push(argv[i]!)
  }
  return out
}

/**
 * Commits batches of rows on a thread of its own, with its own connection, in the order they
 * were given. The master's event loop then spends a large batch's commit (a fifth of its CPU at
 * load) serving clients instead, on a host with a core to spare.
 */
export class BackgroundWriter implements BatchWriter {
  private readonly worker: Worker
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  private closing: Promise<void> | undefined
  private failure: Error | undefined

  /** Throws when the thread's module is missing (a source tree never built): commit inline then. */
  constructor(data: WriterThreadData) {
    const url = writerThreadUrl()
    if (!existsSync(fileURLToPath(url))) {
      throw new EdgerunError('INTERNAL', `job store: the writer thread's module ${fileURLToPath(url)} is missing; run npm run build`)
    }
    this.worker = new Worker(url, { workerData: data, execArgv: threadExecArgv() })
    this.worker.unref()
    this.worker.on('message', (message: WriterReply) => {
      if (!('id' in message)) return
      const waiter = this.waiting.get(message.id)
      this.waiting.delete(message.id)
      if (this.waiting.size === 0) this.worker.unref()
      if (message.ok) waiter?.resolve()
      else waiter?.reject(new EdgerunError('STORE_WRITE_FAILED', message.message))
    })
    // A thread that dies takes its batches with it: they fail, and the store keeps them pending.
    this.worker.on('error', (error) => this.failAll(error))
    this.worker.on('exit', (code) => this.failAll(new EdgerunError('STORE_WRITE_FAILED', `job store writer thread exited with code ${code}`)))
  }

  write(rows: readonly JobRow[]): Promise<void> {
    if (this.failure || this.closing) return Promise.reject(this.failure ?? new EdgerunError('INTERNAL', 'job store writer is closed'))
    const id = this.nextId++
    const message: WriterRequest = { id, ...pack(rows) }
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.ref()
      this.worker.postMessage(message)
    })
  }

  get usable(): boolean {
    return !this.failure && !this.closing
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.failure) return resolve()
      this.worker.ref()
      this.worker.on('message', (message: WriterReply) => {
        if ('closed' in message) void this.worker.terminate().then(() => resolve())
      })
      this.worker.once('exit', () => resolve())
      const request: WriterRequest = { close: true }
      this.worker.postMessage(request)
    })
    return this.closing
  }

  private failAll(error: Error): void {
    this.failure ??= error
    for (const waiter of this.waiting.values()) waiter.reject(error)
    this.waiting.clear()
  }
}
