import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { isFinal, JOB_STATES, type JobState } from '../../src/protocol/index.js'
import type { SqliteDatabase } from './sqlite-connection.js'

/**
 * The schema of jobs.db and its history (docs/storage.md, "Schema"): every version's migration,
 * and the check that the code's states still match what the schema bakes in.
 */

/**
 * The states a restarted master must pick up again. They are spelled out (not derived) because
 * the partial index `jobs_unfinished` bakes them into the schema: if the protocol ever gains a
 * non-final state, `open()` refuses to run until a migration rebuilds that index.
 */
export const UNFINISHED_STATES = ['queued', 'assigned', 'running'] as const satisfies readonly JobState[]
export const UNFINISHED_SQL = UNFINISHED_STATES.map((s) => `'${s}'`).join(', ')

/** Refuses to run a build whose protocol gained or lost a non-final state without a migration. */
export function checkUnfinishedStates(): void {
  const unfinished = JOB_STATES.filter((s) => !isFinal(s))
  if (unfinished.length !== UNFINISHED_STATES.length || unfinished.some((s, i) => s !== UNFINISHED_STATES[i])) {
    throw new EdgerunError(
      'INTERNAL',
      `sqlite job store: the protocol's non-final states (${unfinished.join(', ')}) no longer match the schema's ` +
        `(${UNFINISHED_STATES.join(', ')}); add a migration`,
    )
  }
}

/** What a migration may need to know about the store that runs it. */
export interface MigrationContext {
  /** The namespace of the store that opens the database (docs/storage.md, "Namespaces"). */
  namespace: string
}

/** What a migration did that the opener's log should say. */
export interface MigrationOutcome {
  /** Jobs written before namespaces were kept, now given to `MigrationContext.namespace`. */
  adopted: number
}

export type Migration = (db: SqliteDatabase, context: MigrationContext) => MigrationOutcome | void

/**
 * Schema migrations: entry `i` takes the database from `user_version` i to i + 1. Each runs in
 * its own IMMEDIATE transaction together with the `user_version` bump, so a crash mid-migration
 * leaves the previous version intact. Append only; never edit a released entry.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 0 → 1: the jobs table. `record` is the whole JobRecord as JSON (the source of truth for
  // reads); the other columns are copies of what is filtered or sorted on.
  (db) => {
    db.exec(`
      CREATE TABLE jobs (
        id         TEXT PRIMARY KEY NOT NULL,
        seq        INTEGER NOT NULL,
        state      TEXT NOT NULL,
        owner      TEXT,
        priority   INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        record     TEXT NOT NULL
      );
      CREATE INDEX jobs_seq ON jobs (seq);
      CREATE INDEX jobs_state_seq ON jobs (state, seq);
      CREATE INDEX jobs_owner_seq ON jobs (owner, seq);
      CREATE INDEX jobs_unfinished ON jobs (seq) WHERE state IN (${UNFINISHED_SQL});
    `)
  },
  // 1 → 2: `seq` becomes the rowid. Every write touched six b-trees (the table, the id index and
  // four more); now four (table, id, state, owner) plus the small unfinished index. The state and
  // owner indexes end in the rowid, so they still list in seq order. Measured: 8.2 → 5.7 µs per
  // row in batches, 58 → 38 µs for a one-row commit (BENCHMARKS.md).
  (db) => {
    const shared = db.prepare<[], number>('SELECT seq FROM jobs GROUP BY seq HAVING COUNT(*) > 1 LIMIT 1').pluck().get()
    if (shared !== undefined) throw new EdgerunError('STORE_UNAVAILABLE', `two jobs share seq ${shared}; a master never writes that, so this database was edited by hand`)
    db.exec(`
      CREATE TABLE jobs_v2 (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        state      TEXT NOT NULL,
        owner      TEXT,
        priority   INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        record     TEXT NOT NULL
      );
      INSERT INTO jobs_v2 (seq, id, state, owner, priority, created_at, updated_at, record)
        SELECT seq, id, state, owner, priority, created_at, updated_at, record FROM jobs ORDER BY seq;
      DROP TABLE jobs;
      ALTER TABLE jobs_v2 RENAME TO jobs;
      CREATE INDEX jobs_state ON jobs (state);
      CREATE INDEX jobs_owner ON jobs (owner);
      CREATE INDEX jobs_unfinished ON jobs (seq) WHERE state IN (${UNFINISHED_SQL});
    `)
  },
  // 2 → 3: jobs are keyed by (namespace, id). A namespace is a small integer from `namespaces`,
  // so the indexes carry a byte or two for it, not its name. `seq` is numbered per namespace
  // and is no longer the rowid, so masters of two namespaces never collide on it, even at the
  // same time; the rowid is only where a row lives. The state and owner indexes end in `seq`, so
  // they list a namespace in seq order, and a list of every state merges the state index's
  // ranges: no index of its own, so a write touches as many b-trees as in version 2. Every job
  // written before belongs to the namespace of the store that runs this (the first to open the
  // file), which gets namespace id 1.
  (db, { namespace }) => {
    db.exec(`
      CREATE TABLE namespaces (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
      );
      CREATE TABLE jobs_v3 (
        ns         INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        id         TEXT NOT NULL,
        state      TEXT NOT NULL,
        owner      TEXT,
        priority   INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        record     TEXT NOT NULL
      );
    `)
    db.prepare('INSERT INTO namespaces (id, name) VALUES (1, ?)').run(namespace)
    // The old seq was the rowid: kept as both, so the rows stay where they were, in seq order.
    const { changes } = db
      .prepare(
        `INSERT INTO jobs_v3 (rowid, ns, seq, id, state, owner, priority, created_at, updated_at, record)
           SELECT seq, 1, seq, id, state, owner, priority, created_at, updated_at, record FROM jobs ORDER BY seq`,
      )
      .run()
    db.exec(`
      DROP TABLE jobs;
      ALTER TABLE jobs_v3 RENAME TO jobs;
      CREATE UNIQUE INDEX jobs_id ON jobs (ns, id);
      CREATE INDEX jobs_state ON jobs (ns, state, seq);
      CREATE INDEX jobs_owner ON jobs (ns, owner, seq);
      CREATE INDEX jobs_unfinished ON jobs (ns, seq) WHERE state IN (${UNFINISHED_SQL});
    `)
    return { adopted: changes }
  },
]

export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings the schema up to date; the opener's namespace adopts what older versions wrote. */
export function migrate(db: SqliteDatabase, path: string, context: MigrationContext, logger: Logger | undefined): void {
  const versionOf = (): number => Number(db.pragma('user_version', { simple: true }))
  const found = versionOf()
  if (found > SCHEMA_VERSION) {
    throw new EdgerunError('STORE_UNAVAILABLE', `its schema version ${found} is newer than this edgerun understands (${SCHEMA_VERSION})`)
  }
  for (let version = found; version < SCHEMA_VERSION; version++) {
    const outcome = db.transaction((): MigrationOutcome | void => {
      // Another process may have migrated meanwhile; IMMEDIATE makes the re-check reliable.
      if (versionOf() !== version) return
      const done = MIGRATIONS[version]!(db, context)
      db.pragma(`user_version = ${version + 1}`)
      return done
    }).immediate()
    logger?.info({ path, from: version, to: version + 1 }, 'job store: schema migrated')
    const adopted = outcome?.adopted ?? 0
    if (adopted > 0) {
      logger?.warn(
        { path, namespace: context.namespace, adopted },
        'job store: %d job(s) written before jobs were kept per namespace now belong to namespace %s, the first to open this store',
        adopted,
        context.namespace,
      )
    }
  }
}
