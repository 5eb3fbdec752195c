import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** A row to upsert: the record's JSON plus the columns copied from it. */
export interface WriterRow {
  id: string
  seq: number
  state: string
  owner: string | null
  priority: number
  createdAt: number
  updatedAt: number
  json: string
}

/** The upsert's eight parameters, in order: how a row that cannot be packed crosses. */
type RowParams = [id: string, seq: number, state: string, owner: string | null, priority: number, createdAt: number, updatedAt: number, json: string]

export interface WriterOptions {
  path: string
  /** Takes the namespace's id, then a row's eight values. */
  upsertSql: string
  /** The id of the store's namespace: the same for every row, so it never crosses per row. */
  namespaceId: number
  synchronous: 'NORMAL' | 'FULL'
  busyTimeoutMs: number
}

/**
 * Plain JS, run with `eval`, so the same code works from `dist/` and from the TypeScript sources
 * under vitest; better-sqlite3 is resolved by the main thread and handed over.
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.modulePath)
const db = new Database(workerData.path)
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
db.pragma('synchronous = ' + workerData.synchronous)
db.pragma('cache_size = -16384')
const upsert = db.prepare(workerData.upsertSql)
const ns = workerData.namespaceId
const write = db.transaction((rows) => { for (const r of rows) upsert.run(ns, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) })
const writePacked = db.transaction((packed) => {
  for (const line of packed.split('\u0002')) {
    const f = line.split('\u0001')
    upsert.run(ns, f[0], Number(f[1]), f[2], f[3] === '' ? null : f[3], Number(f[4]), Number(f[5]), Number(f[6]), f[7])
  }
})
parentPort.on('message', (message) => {
  if (message.close) { db.close(); parentPort.postMessage({ closed: true }); return }
  try {
    if (message.packed !== undefined) writePacked(message.packed)
    else write(message.rows)
    parentPort.postMessage({ id: message.id, ok: true })
  } catch (error) {
    parentPort.postMessage({ id: message.id, ok: false, message: error && error.message ? error.message : String(error) })
  }
})
`

const SEPARATORS = /[\u0001\u0002]/

/**
 * The rows as one string: a string crosses to the thread as one copy, where arrays of values
 * were cloned value by value (as costly as serializing the records). JSON never holds a raw
 * U+0001 or U+0002, and ids and states are checked for them; undefined if a row has one.
 */
export function pack(rows: readonly WriterRow[]): string | undefined {
  const lines: string[] = []
  for (const { id, seq, state, owner, priority, createdAt, updatedAt, json } of rows) {
    if (SEPARATORS.test(id) || SEPARATORS.test(state) || (owner !== null && (owner === '' || SEPARATORS.test(owner)))) return undefined
    lines.push(`${id}\u0001${seq}\u0001${state}\u0001${owner ?? ''}\u0001${priority}\u0001${createdAt}\u0001${updatedAt}\u0001${json}`)
  }
  return lines.join('\u0002')
}

/**
 * Commits batches of rows on a thread of its own, with its own connection, in the order they
 * were given. The master's event loop then spends a large batch's commit (a fifth of its CPU at
 * load) serving clients instead, on a host with a core to spare.
 */
export class BackgroundWriter {
  private readonly worker: Worker
  private nextId = 0
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  private closing: Promise<void> | undefined
  private failure: Error | undefined

  constructor(options: WriterOptions) {
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3')
    this.worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { ...options, modulePath } })
    this.worker.unref()
    this.worker.on('message', (message: { id?: number; ok?: boolean; message?: string; closed?: boolean }) => {
      if (message.id === undefined) return
      const waiter = this.waiting.get(message.id)
      this.waiting.delete(message.id)
      if (this.waiting.size === 0) this.worker.unref()
      if (message.ok) waiter?.resolve()
      else waiter?.reject(new Error(message.message ?? 'commit failed'))
    })
    // A thread that dies takes its batches with it: they fail, and the store keeps them pending.
    this.worker.on('error', (error) => this.failAll(error))
    this.worker.on('exit', (code) => this.failAll(new Error(`job store writer thread exited with code ${code}`)))
  }

  /** Resolves once the rows are committed; rejects if the transaction failed (nothing written). */
  write(rows: readonly WriterRow[]): Promise<void> {
    if (this.failure || this.closing) return Promise.reject(this.failure ?? new Error('job store writer is closed'))
    const id = this.nextId++
    const packed = pack(rows)
    const message = packed !== undefined ? { id, packed } : { id, rows: rows.map((r): RowParams => [r.id, r.seq, r.state, r.owner, r.priority, r.createdAt, r.updatedAt, r.json]) }
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.ref()
      this.worker.postMessage(message)
    })
  }

  get usable(): boolean {
    return !this.failure && !this.closing
  }

  /** After every batch given so far has settled. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.failure) return resolve()
      this.worker.ref()
      this.worker.on('message', (message: { closed?: boolean }) => {
        if (message.closed) void this.worker.terminate().then(() => resolve())
      })
      this.worker.once('exit', () => resolve())
      this.worker.postMessage({ close: true })
    })
    return this.closing
  }

  private failAll(error: Error): void {
    this.failure ??= error
    for (const waiter of this.waiting.values()) waiter.reject(error)
    this.waiting.clear()
  }
}
