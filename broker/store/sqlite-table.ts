import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { ID_PATTERN, JOB_STATES, type JobState } from '../../src/protocol/index.js'
import { emptyCounts } from './job-store.js'
import type { BatchWriter, JobRow, JobTable, RowFilter, StoredRow } from './job-table.js'
import { BackgroundWriter } from './background-writer.js'
import { openConnection, rowWriter, type ConnectionOptions, type SqliteDatabase } from './sqlite-connection.js'
import { checkUnfinishedStates, migrate, SCHEMA_VERSION, UNFINISHED_SQL } from './sqlite-migrations.js'

/** The file the store keeps inside its data dir. */
export const JOBS_DB_FILE = 'jobs.db'

export interface SqliteTableOptions {
  /** Created (recursively) if missing; the database is `${dataDir}/jobs.db`. */
  dataDir: string
  /** Whose rows: a table reads and writes one namespace's only; several may share the file. */
  namespace: string
  logger?: Logger | undefined
  synchronous?: 'normal' | 'full' | undefined
  /** How long a write waits for a lock held by another connection before failing. Default 5000. */
  busyTimeoutMs?: number | undefined
}

/**
 * `columns` of one namespace's jobs (`@ns`), every state, newest seq first: the ranges of
 * `jobs_state`, one per state, merged. SQLite streams a UNION ALL whose arms are each in order
 * (MERGE in the query plan): no sort, and no index of its own to keep up at every write.
 */
export function everyStateNewestFirst(columns: string): string {
  return `${JOB_STATES.map((state) => `SELECT ${columns} FROM jobs WHERE ns = @ns AND state = '${state}'`).join(' UNION ALL ')} ORDER BY seq DESC`
}

/** The highest seq of one namespace (`@ns`): one seek per state in `jobs_state`. */
const MAX_SEQ_SQL = `SELECT MAX(seq) FROM (${JOB_STATES.map(
  (state) => `SELECT MAX(seq) AS seq FROM jobs WHERE ns = @ns AND state = '${state}'`,
).join(' UNION ALL ')})`

const ROW = 'id, seq, record AS json'

/**
 * The id of `namespace` in this database, added on first use. Ids are never deleted or
 * renumbered, so a table can keep its id for as long as it is open.
 */
function namespaceId(db: SqliteDatabase, namespace: string): number {
  const find = db.prepare<[string], number>('SELECT id FROM namespaces WHERE name = ?').pluck()
  const found = find.get(namespace)
  if (found !== undefined) return found
  db.prepare('INSERT INTO namespaces (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(namespace)
  return find.get(namespace)!
}

function statements(db: SqliteDatabase) {
  return {
    get: db.prepare<[number, string], string>('SELECT record FROM jobs WHERE ns = ? AND id = ?').pluck(),
    getMany: db.prepare<[number, string], StoredRow>(`SELECT ${ROW} FROM jobs WHERE ns = ? AND id IN (SELECT value FROM json_each(?))`),
    stateOf: db.prepare<[number, string], string>('SELECT state FROM jobs WHERE ns = ? AND id = ?').pluck(),
    listAll: db.prepare<[{ ns: number }], StoredRow>(everyStateNewestFirst(ROW)),
    listByState: db.prepare<[number, string], StoredRow>(`SELECT ${ROW} FROM jobs WHERE ns = ? AND state = ? ORDER BY seq DESC`),
    listByOwner: db.prepare<[number, string], StoredRow>(`SELECT ${ROW} FROM jobs WHERE ns = ? AND owner = ? ORDER BY seq DESC`),
    listByStateOwner: db.prepare<[number, string, string], StoredRow>(
      `SELECT ${ROW} FROM jobs WHERE ns = ? AND state = ? AND owner = ? ORDER BY seq DESC`,
    ),
    unfinished: db.prepare<[number], StoredRow>(
      `SELECT ${ROW} FROM jobs INDEXED BY jobs_unfinished WHERE ns = ? AND state IN (${UNFINISHED_SQL}) ORDER BY seq ASC`,
    ),
    maxSeq: db.prepare<[{ ns: number }], number | null>(MAX_SEQ_SQL).pluck(),
    countByState: db.prepare<[number], { state: string; n: number }>('SELECT state, COUNT(*) AS n FROM jobs WHERE ns = ? GROUP BY state'),
  }
}

/**
 * One namespace's rows in jobs.db (docs/storage.md), through better-sqlite3 in WAL mode. Every
 * statement names the namespace's id (first `?`, or `@ns` where it recurs).
 */
export class SqliteJobTable implements JobTable {
  readonly kind = 'sqlite'
  /** Absolute path of the database file. */
  readonly path: string
  get location(): string {
    return this.path
  }
  readonly namespace: string
  /** The namespace's id in this database: the `ns` column of its rows. */
  private readonly ns: number
  private readonly db: SqliteDatabase
  private readonly stmt: ReturnType<typeof statements>
  private readonly write: (rows: Iterable<JobRow>) => void
  private readonly connection: ConnectionOptions
  private readonly logger: Logger | undefined

  /** Opens (creating if needed) `${dataDir}/jobs.db` and brings its schema up to date. */
  constructor(options: SqliteTableOptions) {
    checkUnfinishedStates()
    if (typeof options.namespace !== 'string' || !ID_PATTERN.test(options.namespace)) {
      throw new EdgerunError('BAD_FLAG', `sqlite job store: a namespace of 1-64 chars of [A-Za-z0-9._-] is needed, got ${JSON.stringify(options.namespace)}`, {
        details: { flag: 'namespace', value: String(options.namespace), allowed: '1-64 chars of [A-Za-z0-9._-]' },
      })
    }
    this.namespace = options.namespace
    const dataDir = resolve(options.dataDir)
    this.path = join(dataDir, JOBS_DB_FILE)
    this.logger = options.logger
    this.connection = {
      synchronous: options.synchronous === 'full' ? 'FULL' : 'NORMAL',
      busyTimeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)),
    }
    const cannotOpen = (error: unknown) =>
      new EdgerunError('STORE_UNAVAILABLE', `cannot open job store at ${this.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    let db: SqliteDatabase
    let journalMode: string
    try {
      mkdirSync(dataDir, { recursive: true })
      ;({ db, journalMode } = openConnection(this.path, this.connection))
    } catch (error) {
      throw cannotOpen(error)
    }
    try {
      if (journalMode.toLowerCase() !== 'wal') {
        this.logger?.warn({ path: this.path, journalMode }, 'job store: WAL is not available here; using %s', journalMode)
      }
      migrate(db, this.path, { namespace: this.namespace }, this.logger)
      this.ns = namespaceId(db, this.namespace)
      this.stmt = statements(db)
      this.write = rowWriter(db, this.ns)
    } catch (error) {
      db.close()
      throw cannotOpen(error)
    }
    this.db = db
    this.logger?.debug({ path: this.path, namespace: this.namespace, schemaVersion: SCHEMA_VERSION }, 'job store opened')
  }

  get(id: string): string | undefined {
    return this.stmt.get.get(this.ns, id)
  }

  getMany(ids: readonly string[]): Iterable<StoredRow> {
    return ids.length === 0 ? [] : this.stmt.getMany.iterate(this.ns, JSON.stringify(ids))
  }

  stateOf(id: string): JobState | undefined {
    return this.stmt.stateOf.get(this.ns, id) as JobState | undefined
  }

  list({ state, owner }: RowFilter): Iterable<StoredRow> {
    if (state !== undefined && owner !== undefined) return this.stmt.listByStateOwner.iterate(this.ns, state, owner)
    if (state !== undefined) return this.stmt.listByState.iterate(this.ns, state)
    if (owner !== undefined) return this.stmt.listByOwner.iterate(this.ns, owner)
    return this.stmt.listAll.iterate({ ns: this.ns })
  }

  unfinished(): Iterable<StoredRow> {
    return this.stmt.unfinished.iterate(this.ns)
  }

  maxSeq(): number {
    return this.stmt.maxSeq.get({ ns: this.ns }) ?? 0
  }

  counts(): Record<JobState, number> {
    const counts = emptyCounts()
    for (const { state, n } of this.stmt.countByState.all(this.ns)) {
      if (state in counts) counts[state as JobState] = n
      else this.logger?.warn({ state, n }, 'job store: rows with an unknown state are ignored by counts()')
    }
    return counts
  }

  snapshot<T>(read: () => T): T {
    return this.db.transaction(read)()
  }

  commit(rows: Iterable<JobRow>): void {
    this.write(rows)
  }

  /** A thread with its own connection to the same file, set up like this one. */
  openWriter(): BatchWriter {
    return new BackgroundWriter({ path: this.path, namespaceId: this.ns, ...this.connection })
  }

  close(): void {
    try {
      this.db.pragma('optimize')
    } catch {
      // Only a planner hint; never worth failing a close for.
    }
    this.db.close()
  }
}
