import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import pg from 'pg'
import type { Logger } from '../../src/logging/logger.js'
import { EdgerunError } from '../../src/errors/index.js'
import { maskUrl } from '../../src/logging/mask-url.js'
import { errorMessage } from '../store/postgres-table.js'
import { migratePostgres } from '../store/postgres-schema.js'
import { ACQUIRE_SQL, LEASE_CHANNEL, RELEASE_SQL, RENEW_SQL } from './lease-sql.js'
import { LEASE_THREAD_SOURCE } from './lease-thread-source.js'

export interface LeaseOptions {
  url: string
  namespace: string
  /** This master's name in the lease row: its instance. */
  holder: string
  /** How long a lease lasts past its last renewal, by the database's clock. */
  ttlMs: number
  /** How often the holder renews. */
  renewMs: number
  /** How often a standby tries to take the lease (and at once when it is released). */
  pollMs: number
  logger: Logger
  /** How long connecting may take. Default 5000. */
  connectTimeoutMs?: number
}

export interface LeaseEvents {
  elected: [term: number]
  deposed: [term: number, reason: string]
}

type FromThread =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'elected'; term: number }
  | { type: 'deposed'; term: number; reason: string }
  | { type: 'reachable'; ok: boolean }
  | { type: 'log'; level: 'warn' | 'info'; msg: string; fields?: Record<string, unknown> }
  | { type: 'closed' }

/**
 * A master's side of the election (docs/protocol.md §7a, docs/storage.md "Lease"). The lease is
 * taken, renewed and watched on a thread of its own with its own connection
 * (lease-thread-source.ts): a busy event loop here cannot make a healthy master miss its
 * renewals. The holder steps down when a renewal finds the lease gone, and by itself when no
 * renewal succeeded for `ttlMs - margin` counted from when the last good one was *sent*
 * (monotonic clock): the database cannot have let the lease run out before that.
 *
 * `holds(term)` reads the thread's verdict synchronously (shared memory, no message): the master
 * asks it before everything it sends, so a master whose loop wakes after its lease ran out (a
 * paused process, a long block) sends nothing, even before the thread's `deposed` reaches it.
 * After a deposition the lease does not contend again until `contend()`.
 */
export class PgLease extends EventEmitter<LeaseEvents> {
  private worker: Worker | undefined
  /** [0] held until (process.hrtime ns), [1] term held (0: none); written by the thread only. */
  private readonly shared = new BigInt64Array(new SharedArrayBuffer(16))
  private readyWait: Promise<void> | undefined
  private closed: Promise<void> | undefined
  /** Reachable time banked before `reachableSince`, and since when Postgres answers (undefined: it does not). */
  private reachableBanked = 0
  private reachableSince: number | undefined = performance.now()

  constructor(private readonly options: LeaseOptions) {
    super()
  }

  /** The term held now, or undefined while standing by (or once the lease ran out). */
  get heldTerm(): number | undefined {
    const term = Number(Atomics.load(this.shared, 1))
    return term > 0 && this.holds(term) ? term : undefined
  }

  /** Whether this master surely holds the lease at `term` at this instant. */
  holds(term: number): boolean {
    return Atomics.load(this.shared, 1) === BigInt(term) && Atomics.load(this.shared, 0) > process.hrtime.bigint()
  }

  /**
   * A clock (ms) that runs only while Postgres answers the lease's queries. No master can be
   * active without Postgres, so a standby ages what it holds for the next master on this clock:
   * during an outage nothing it holds grows old.
   */
  reachableClock(): number {
    return this.reachableBanked + (this.reachableSince === undefined ? 0 : performance.now() - this.reachableSince)
  }

  /** Migrates the schema and connects the thread now: a server unreachable at start is one clear line. */
  ready(): Promise<void> {
    this.readyWait ??= this.open().catch((error: unknown) => {
      throw new EdgerunError('STORE_UNREACHABLE', `cannot connect to Postgres at ${maskUrl(this.options.url)}: ${errorMessage(error)}`, { cause: error })
    })
    return this.readyWait
  }

  /** Starts contending (after ready(), which it calls if need be). */
  start(): void {
    this.ready().then(
      () => this.contend(),
      (error: unknown) => this.options.logger.error({ err: error }, 'lease thread could not start'),
    )
  }

  /** Stands by for the lease again: after start, and after each deposition once the master is down. */
  contend(): void {
    this.worker?.postMessage({ type: 'contend' })
  }

  /** Gives the lease up (a write refused with STALE_TERM, a lapse seen here first); `deposed` follows. */
  stepDown(reason: string, term = Number(Atomics.load(this.shared, 1))): void {
    if (term > 0) this.worker?.postMessage({ type: 'stepDown', term, reason })
  }

  /** A clean stop: ends the lease in the database and wakes the standbys, so one takes over at once. */
  release(): Promise<void> {
    return this.finish('release')
  }

  close(): Promise<void> {
    return this.finish('close')
  }

  private finish(how: 'release' | 'close'): Promise<void> {
    this.closed ??= (async () => {
      await this.readyWait?.catch(() => {})
      const worker = this.worker
      if (!worker) return
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.postMessage({ type: how })
      // A release that hangs (the server gone) is not waited for: the lease runs out by itself.
      const timer = setTimeout(() => void worker.terminate(), this.options.ttlMs + 2_000)
      await exited
      clearTimeout(timer)
    })()
    return this.closed
  }

  private async open(): Promise<void> {
    const { url, connectTimeoutMs = 5000 } = this.options
    // The schema is migrated here, once, with the store's own migration code.
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs })
    try {
      await client.connect()
      await migratePostgres(client)
    } finally {
      await client.end().catch(() => {})
    }
    const { namespace, holder, ttlMs, renewMs, pollMs } = this.options
    const worker = new Worker(LEASE_THREAD_SOURCE, {
      eval: true,
      workerData: {
        modulePath: createRequire(import.meta.url).resolve('pg'),
        shared: this.shared.buffer,
        ...{ url, namespace, holder, ttlMs, renewMs, pollMs, connectTimeoutMs },
        sql: { acquire: ACQUIRE_SQL, renew: RENEW_SQL, release: RELEASE_SQL },
        channel: LEASE_CHANNEL,
      },
    })
    this.worker = worker
    worker.on('error', (error) => this.options.logger.error({ err: error }, 'lease thread failed'))
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.type === 'ready') resolve()
        else if (message.type === 'failed') reject(new EdgerunError('STORE_UNREACHABLE', message.error))
        else this.fromThread(message)
      })
      worker.once('exit', (code) => reject(new EdgerunError('INTERNAL', `lease thread exited with code ${code}`)))
    }).catch(async (error: unknown) => {
      await worker.terminate()
      this.worker = undefined
      throw error
    })
    // The process may exit with the thread still running (its timers are its own).
    worker.unref()
  }

  private fromThread(message: FromThread): void {
    const { logger, holder } = this.options
    switch (message.type) {
      case 'elected':
        logger.info({ term: message.term, holder }, 'won the lease')
        this.emit('elected', message.term)
        return
      case 'deposed':
        logger.warn({ term: message.term, reason: message.reason }, 'lost the lease')
        this.emit('deposed', message.term, message.reason)
        return
      case 'reachable':
        if (message.ok && this.reachableSince === undefined) this.reachableSince = performance.now()
        else if (!message.ok && this.reachableSince !== undefined) {
          this.reachableBanked += performance.now() - this.reachableSince
          this.reachableSince = undefined
        }
        if (!message.ok) logger.warn({ url: maskUrl(this.options.url) }, 'Postgres unreachable: no master can be active; holding submits for the next one')
        return
      case 'log':
        logger[message.level]({ ...message.fields, url: maskUrl(this.options.url) }, message.msg)
        return
    }
  }
}
