import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type { Logger } from '../../src/logging/logger.js'
import { EdgerunError } from '../../src/errors/index.js'
import { maskUrl } from '../../src/logging/mask-url.js'
import { errorMessage } from '../store/postgres-table.js'
import { migratePostgres } from '../store/postgres-schema.js'
import { ACQUIRE_SQL, LEASE_CHANNEL, RELEASE_SQL, RENEW_SQL } from './lease-sql.js'

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
}

export interface LeaseEvents {
  elected: [term: number]
  deposed: [term: number, reason: string]
}

/**
 * A master's side of the election (docs/protocol.md §7a, docs/storage.md "Lease"). A standby
 * tries to take the lease every `pollMs`, and at once when a NOTIFY says it was released; the
 * holder renews every `renewMs`. The holder steps down at once when a renewal finds the lease
 * gone, and by itself when no renewal succeeded for `ttlMs - margin` counted from when the last
 * good one was *sent* (monotonic clock): the database cannot have let the lease run out before
 * that, so two masters never both believe they hold it.
 */
export class PgLease extends EventEmitter<LeaseEvents> {
  private client: pg.Client | undefined
  private connecting: Promise<pg.Client> | undefined
  private term: number | undefined
  private timer: NodeJS.Timeout | undefined
  private deadlineTimer: NodeJS.Timeout | undefined
  private busy = false
  private again = false
  private stopped = false
  private lastError = ''
  private readonly marginMs: number

  constructor(private readonly options: LeaseOptions) {
    super()
    this.marginMs = Math.min(200, Math.floor(options.ttlMs / 4))
  }

  /** The term held now, or undefined while standing by. */
  get heldTerm(): number | undefined {
    return this.term
  }

  /** Connects (and migrates the schema) now: a server unreachable at start is one clear line. */
  async ready(): Promise<void> {
    try {
      await this.connection()
    } catch (error) {
      throw new EdgerunError('STORE_UNREACHABLE', `cannot connect to Postgres at ${maskUrl(this.options.url)}: ${errorMessage(error)}`, { cause: error })
    }
  }

  start(): void {
    void this.tick()
  }

  /** Gives the lease up without touching the database (the store refused a write: STALE_TERM). */
  stepDown(reason: string): void {
    this.depose(reason)
  }

  /** A clean stop: ends the lease in the database and wakes the standbys, so one takes over at once. */
  async release(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.deadlineTimer)
    const term = this.term
    this.term = undefined
    if (term !== undefined) {
      try {
        const client = await this.connection()
        await client.query(RELEASE_SQL, [this.options.namespace, this.options.holder, term])
      } catch (error) {
        // It runs out by itself within ttlMs.
        this.options.logger.warn({ err: error, term }, 'could not release the lease; it runs out by itself')
      }
    }
    await this.close()
  }

  async close(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.deadlineTimer)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private async tick(): Promise<void> {
    if (this.stopped) return
    if (this.busy) {
      this.again = true
      return
    }
    this.busy = true
    clearTimeout(this.timer)
    try {
      if (this.term === undefined) await this.tryAcquire()
      else await this.renew(this.term)
    } catch (error) {
      this.failed(error)
    } finally {
      this.busy = false
    }
    if (this.stopped) return
    const next = this.again ? 0 : this.term === undefined ? this.options.pollMs : this.options.renewMs
    this.again = false
    this.timer = setTimeout(() => void this.tick(), next)
  }

  private async tryAcquire(): Promise<void> {
    const { namespace, holder, ttlMs } = this.options
    const client = await this.connection()
    const sentAt = performance.now()
    const { rows } = await client.query<{ term: string }>(ACQUIRE_SQL, [namespace, holder, ttlMs])
    this.lastError = ''
    if (rows.length === 0 || this.stopped) return
    this.term = Number(rows[0]!.term)
    this.armDeadline(sentAt)
    this.options.logger.info({ term: this.term, holder }, 'won the lease')
    this.emit('elected', this.term)
  }

  private async renew(term: number): Promise<void> {
    const { namespace, holder, ttlMs } = this.options
    const client = await this.connection()
    const sentAt = performance.now()
    const { rows } = await client.query(RENEW_SQL, [namespace, holder, term, ttlMs])
    this.lastError = ''
    if (this.term !== term) return
    if (rows.length === 0) return this.depose('another master holds the lease')
    this.armDeadline(sentAt)
  }

  private armDeadline(sentAt: number): void {
    clearTimeout(this.deadlineTimer)
    const wait = sentAt + this.options.ttlMs - this.marginMs - performance.now()
    this.deadlineTimer = setTimeout(() => this.depose(`no renewal succeeded within ${this.options.ttlMs - this.marginMs} ms`), Math.max(0, wait))
  }

  private depose(reason: string): void {
    const term = this.term
    if (term === undefined) return
    this.term = undefined
    clearTimeout(this.deadlineTimer)
    this.options.logger.warn({ term, reason }, 'lost the lease')
    this.emit('deposed', term, reason)
  }

  /** Logged once per distinct failure, not at every poll of a Postgres outage. */
  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error)
    if (message === this.lastError) return
    this.lastError = message
    this.options.logger.warn({ err: error, url: maskUrl(this.options.url) }, 'lease query failed')
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client)
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 5000, query_timeout: this.options.ttlMs })
      client.on('error', () => {
        if (this.client === client) this.client = undefined
        client.end().catch(() => {})
      })
      client.on('notification', (note) => {
        // A released lease: a standby tries now rather than at its next poll.
        if (note.payload === this.options.namespace && this.term === undefined) void this.tick()
      })
      try {
        await client.connect()
        await migratePostgres(client)
        await client.query(`LISTEN ${LEASE_CHANNEL}`)
      } catch (error) {
        await client.end().catch(() => {})
        throw error
      } finally {
        this.connecting = undefined
      }
      this.client = client
      return client
    })()
    return this.connecting
  }
}
