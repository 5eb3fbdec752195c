import { EdgerunError } from '../../src/errors/index.js'
import { createRequire } from 'node:module'
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads'
import { maskUrl } from '../../src/logging/mask-url.js'
import type { PgRead } from './postgres-table.js'

/**
 * Plain JS, run with `eval` (as the SQLite writer thread): one connection of its own, opened
 * again after it drops, answering one query at a time. After each answer it bumps the shared
 * counter and wakes the main thread, which is blocked in Atomics.wait.
 */
const READER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const pg = require(workerData.modulePath)
const signal = new Int32Array(workerData.signal)
const port = workerData.port
let client
let ready
function connect() {
  const c = new pg.Client({ connectionString: workerData.url, connectionTimeoutMillis: workerData.connectTimeoutMs })
  c.on('error', () => { if (client === c) client = undefined })
  c.on('end', () => { if (client === c) client = undefined })
  client = c
  // A commit through this connection (a table's commit() at close) is on disk when it returns.
  ready = c.connect().then(() => c.query('SET synchronous_commit TO on')).catch((error) => { if (client === c) client = undefined; throw error })
  return c
}
// Says once, on the parent channel, whether the first connection opened: open() waits for that
// asynchronously, so starting the thread never eats into a read's timeout.
connect()
ready.then(() => parentPort.postMessage({ ready: true }), (error) => parentPort.postMessage({ ready: false, error: (error && error.message) || String(error) }))
port.on('message', async (m) => {
  if (m.close) { try { if (client) await client.end() } catch {} port.close(); return }
  let reply
  try {
    const c = client ?? connect()
    await ready
    const result = await c.query(m.sql, m.params)
    reply = { id: m.id, rows: result.rows }
  } catch (error) {
    reply = { id: m.id, error: (error && error.message) || (error && error.code) || String(error) }
  }
  port.postMessage(reply)
  Atomics.add(signal, 0, 1)
  Atomics.notify(signal, 0)
})
`

export interface SyncReaderOptions {
  url: string
  /** How long one read may block the event loop before it throws. Default 5000. */
  timeoutMs?: number
  connectTimeoutMs?: number
}

/**
 * Synchronous reads on Postgres, for the JobStore's synchronous read methods (docs/storage.md,
 * "Postgres: reads"). A query runs on a worker thread with its own connection while the calling
 * thread blocks in Atomics.wait: like a SQLite read, the event loop waits for the answer (here a
 * round trip, about 0.1-0.3 ms on loopback), bounded by `timeoutMs`.
 */
export class PostgresSyncReader {
  private readonly worker: Worker
  private readonly port: MessagePort
  private readonly signal: Int32Array
  private readonly timeoutMs: number
  private nextId = 0
  private failure: Error | undefined
  private closed = false

  /**
   * Starts the thread and resolves once its connection is open; rejects with the connect error,
   * or when neither came within `startTimeoutMs` (default 30 s: a thread's start on a loaded
   * host can take seconds).
   */
  static async open(options: SyncReaderOptions & { startTimeoutMs?: number }): Promise<PostgresSyncReader> {
    const reader = new PostgresSyncReader(options)
    try {
      await reader.started(options.startTimeoutMs ?? 30_000)
      return reader
    } catch (error) {
      await reader.close()
      throw error
    }
  }

  private started(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EdgerunError('STORE_UNREACHABLE', `the job store's reader thread did not connect within ${timeoutMs} ms`)), timeoutMs)
      this.worker.once('message', (message: { ready?: boolean; error?: string }) => {
        clearTimeout(timer)
        if (message.ready) resolve()
        else reject(new EdgerunError('STORE_UNREACHABLE', message.error ?? 'connect failed'))
      })
      this.worker.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
  }

  private constructor(private readonly options: SyncReaderOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000
    this.signal = new Int32Array(new SharedArrayBuffer(4))
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    const modulePath = createRequire(import.meta.url).resolve('pg')
    this.worker = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { modulePath, url: options.url, connectTimeoutMs: options.connectTimeoutMs ?? 5000, signal: this.signal.buffer, port: port2 },
      transferList: [port2],
    })
    this.worker.unref()
    this.port.unref()
    this.worker.on('error', (error) => (this.failure ??= error))
    this.worker.on('exit', (code) => (this.failure ??= new EdgerunError('INTERNAL', `job store reader thread exited with code ${code}`)))
  }

  read<T>(read: PgRead<T>): T {
    return read.map(this.query(read.sql, read.params))
  }

  /** Blocks until the worker answers or `timeoutMs` passes; throws on either kind of failure. */
  query(sql: string, params: unknown[]): Array<Record<string, unknown>> {
    if (this.closed) throw new EdgerunError('INTERNAL', 'job store is closed')
    if (this.failure) throw this.failure
    const id = ++this.nextId
    this.port.postMessage({ id, sql, params })
    const deadline = Date.now() + this.timeoutMs
    for (;;) {
      // The counter is read before the port, so an answer posted in between still wakes the wait.
      const seen = Atomics.load(this.signal, 0)
      const received = receiveMessageOnPort(this.port) as { message: { id: number; rows?: Array<Record<string, unknown>>; error?: string } } | undefined
      if (received) {
        const reply = received.message
        if (reply.id !== id) continue // the late answer of a read that timed out
        if (reply.error !== undefined) throw new EdgerunError('STORE_UNREACHABLE', `job store read failed on ${maskUrl(this.options.url)}: ${reply.error}`)
        return reply.rows ?? []
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new EdgerunError('STORE_UNREACHABLE', `job store read timed out after ${this.timeoutMs} ms on ${maskUrl(this.options.url)}`)
      Atomics.wait(this.signal, 0, seen, left)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.port.postMessage({ close: true })
    const timer = setTimeout(() => void this.worker.terminate(), 2000)
    await exited
    clearTimeout(timer)
  }
}
