import { EdgerunError } from '../../src/errors/index.js'
import pg from 'pg'
import { JOB_STATES, type JobState } from '../../src/protocol/index.js'
import { emptyCounts } from './job-store.js'
import type { JobRow } from './job-table.js'
import { maskUrl } from '../../src/logging/mask-url.js'
import { migratePostgres, PG_FENCED_UPSERT_SQL, PG_UNFINISHED_SQL, PG_UPSERT_SQL, type PgFence } from './postgres-schema.js'

/** A row to write is the write-behind layer's row: the record's JSON and the columns copied from it. */
export type PgJobRow = JobRow

/** A row as read back: the record's JSON text and the columns a merge needs. */
export interface PgStoredRow {
  id: string
  seq: number
  state: JobState
  owner: string | null
  json: string
}

/**
 * One read: its SQL, its parameters and how its rows become the answer. The same reads run
 * asynchronously on the table's connection and synchronously through PostgresSyncReader.
 */
export interface PgRead<T> {
  sql: string
  params: unknown[]
  map(rows: Array<Record<string, unknown>>): T
}

/** A row's `seq`: bigint comes back as a string from pg; seqs stay below 2^53 (Number.isSafeInteger at save). */
function storedRow(row: Record<string, unknown>): PgStoredRow {
  return { id: row.id as string, seq: Number(row.seq), state: row.state as JobState, owner: (row.owner as string | null) ?? null, json: row.record as string }
}

const COLUMNS = 'id, seq, state, owner, record'

/** The reads of one namespace's jobs (docs/storage.md). Every statement names the namespace first. */
export class PgReads {
  constructor(private readonly ns: string) {}

  /** The stored records among `ids`. */
  getMany(ids: readonly string[]): PgRead<PgStoredRow[]> {
    return { sql: `SELECT ${COLUMNS} FROM edgerun_jobs WHERE ns = $1 AND id = ANY($2::text[])`, params: [this.ns, ids], map: (rows) => rows.map(storedRow) }
  }

  /** Newest first, at most `limit`; with `before`, the page after that row (a keyset scan). */
  list(filter: { state?: JobState | undefined; owner?: string | undefined }, limit: number, before?: { seq: number; id: string }): PgRead<PgStoredRow[]> {
    const where = ['ns = $1']
    const params: unknown[] = [this.ns]
    if (filter.state !== undefined) where.push(`state = $${params.push(filter.state)}`)
    if (filter.owner !== undefined) where.push(`owner = $${params.push(filter.owner)}`)
    if (before) where.push(`(seq, id) < ($${params.push(before.seq)}::bigint, $${params.push(before.id)}::text)`)
    const sql = `SELECT ${COLUMNS} FROM edgerun_jobs WHERE ${where.join(' AND ')} ORDER BY seq DESC, id DESC LIMIT $${params.push(limit)}`
    return { sql, params, map: (rows) => rows.map(storedRow) }
  }

  /** Unfinished jobs oldest first, from after (seq, id) on: a page of a scan that never holds them all. */
  unfinished(after: { seq: number; id: string } | undefined, limit: number | null): PgRead<PgStoredRow[]> {
    const params: unknown[] = [this.ns]
    const from = after ? ` AND (seq, id) > ($${params.push(after.seq)}::bigint, $${params.push(after.id)}::text)` : ''
    const sql = `SELECT ${COLUMNS} FROM edgerun_jobs WHERE ns = $1 AND state IN (${PG_UNFINISHED_SQL})${from}
      ORDER BY seq, id LIMIT $${params.push(limit)}`
    return { sql, params, map: (rows) => rows.map(storedRow) }
  }

  maxSeq(): PgRead<number> {
    return { sql: 'SELECT max(seq) AS max FROM edgerun_jobs WHERE ns = $1', params: [this.ns], map: (rows) => Number(rows[0]?.max ?? 0) }
  }

  /**
   * Counts per state and the stored states of `ids`, in one statement and so from one snapshot:
   * a batch that commits meanwhile is either in both or in neither.
   */
  counts(ids: readonly string[]): PgRead<{ counts: Record<JobState, number>; states: Map<string, JobState> }> {
    return {
      sql: `SELECT state, count(*)::integer AS n, NULL::text AS id FROM edgerun_jobs WHERE ns = $1 GROUP BY state
        UNION ALL SELECT state, 0, id FROM edgerun_jobs WHERE ns = $1 AND id = ANY($2::text[])`,
      params: [this.ns, ids],
      map: (rows) => {
        const counts = emptyCounts()
        const states = new Map<string, JobState>()
        for (const row of rows) {
          const state = row.state as JobState
          if (row.id !== null) states.set(row.id as string, state)
          else if ((JOB_STATES as readonly string[]).includes(state)) counts[state] = Number(row.n)
        }
        return { counts, states }
      },
    }
  }
}

/** The batch as one JSON array whose `record` fields are the records' own JSON (see PG_UPSERT_SQL). */
export function batchJson(rows: readonly PgJobRow[]): string {
  let out = '['
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    if (i > 0) out += ','
    out +=
      `{"id":${JSON.stringify(r.id)},"seq":${r.seq},"state":${JSON.stringify(r.state)},"owner":${r.owner === null ? 'null' : JSON.stringify(r.owner)},` +
      `"priority":${r.priority},"created_at":${r.createdAt},"updated_at":${r.updatedAt},"record":${r.json}}`
  }
  return `${out}]`
}

export interface PostgresTableOptions {
  url: string
  namespace: string
  /** How long connecting may take before open() fails. Default 5000. */
  connectTimeoutMs?: number
  /** An elected master's lease: every batch checks it in its own transaction (STALE_TERM if lost). */
  fence?: PgFence | undefined
}

/**
 * The Postgres half of the job store: one namespace's rows in `edgerun_jobs`, with async
 * methods only and nothing in memory. It writes on one connection, so batches commit in the
 * order they were given; a lost connection is opened again at the next call.
 */
export class PostgresJobTable {
  readonly reads: PgReads
  private client: pg.Client | undefined
  private connecting: Promise<pg.Client> | undefined
  private closed = false

  private constructor(private readonly options: PostgresTableOptions) {
    this.reads = new PgReads(options.namespace)
  }

  /** Connects and brings the schema up to date; rejects (with the URL masked) if it cannot. */
  static async open(options: PostgresTableOptions): Promise<PostgresJobTable> {
    const table = new PostgresJobTable(options)
    const client = await table.connection()
    await migratePostgres(client)
    return table
  }

  get url(): string {
    return this.options.url
  }

  /** One statement, so one transaction and one round trip; resolves once it is committed. */
  async upsert(rows: readonly PgJobRow[]): Promise<void> {
    if (rows.length === 0) return
    const { fence } = this.options
    if (!fence) {
      await this.query(PG_UPSERT_SQL, [this.options.namespace, batchJson(rows)])
      return
    }
    const result = await this.query(PG_FENCED_UPSERT_SQL, [this.options.namespace, batchJson(rows), fence.holder, fence.term])
    checkFence(result.rows[0], fence)
  }

  async read<T>(read: PgRead<T>): Promise<T> {
    const result = await this.query(read.sql, read.params)
    return read.map(result.rows as Array<Record<string, unknown>>)
  }

  async close(): Promise<void> {
    this.closed = true
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private async query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    const client = await this.connection()
    return client.query(sql, params)
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new EdgerunError('INTERNAL', 'job store is closed'))
    if (this.client) return Promise.resolve(this.client)
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000 })
      // A dropped connection (a Postgres restart) is replaced at the next query.
      client.on('error', () => {
        if (this.client === client) this.client = undefined
      })
      try {
        await client.connect()
        // A commit that returned is on disk, whatever the server's or the role's default says.
        await client.query('SET synchronous_commit TO on')
      } catch (error) {
        await client.end().catch(() => {})
        throw new EdgerunError('STORE_UNREACHABLE', `cannot connect to Postgres at ${maskUrl(this.options.url)}: ${errorMessage(error)}`, { cause: error })
      } finally {
        this.connecting = undefined
      }
      client.once('end', () => {
        if (this.client === client) this.client = undefined
      })
      this.client = client
      return client
    })()
    return this.connecting
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(errorMessage).join('; ')
  const message = error instanceof Error ? error.message : String(error)
  return message || (error as { code?: string })?.code || 'unknown error'
}

/** A fenced batch's answer: nothing was written when the lease is no longer `fence`'s. */
export function checkFence(row: Record<string, unknown> | undefined, fence: PgFence): void {
  if (Number(row?.fenced ?? 0) === 1) return
  throw new EdgerunError('STALE_TERM', `job store write refused: ${fence.holder} no longer holds the lease at term ${fence.term}`, { details: { term: fence.term } })
}
