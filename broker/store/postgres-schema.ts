import { EdgerunError } from '../../src/errors/index.js'
import type pg from 'pg'

/**
 * The Postgres store's schema (docs/storage.md, "Postgres"). One table holds every namespace's
 * jobs, keyed by (ns, id); `record` is the whole JobRecord as JSON text (the source of truth for
 * reads), and the other columns are copies of what is filtered or sorted on. Plain logged tables
 * only: a commit that returned is in the WAL on disk (fsync and synchronous_commit as Postgres
 * ships them).
 */

/** The states a restarted master must pick up again; the partial index bakes them in. */
export const PG_UNFINISHED_STATES = ['queued', 'assigned', 'running'] as const
const UNFINISHED_SQL = PG_UNFINISHED_STATES.map((s) => `'${s}'`).join(', ')

/**
 * Entry `i` takes the schema from version i to i + 1. Each runs in one transaction together with
 * the version bump, under an advisory lock, so masters that start together migrate once and a
 * failed migration leaves the previous version intact. Append only; never edit a released entry.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 0 → 1: the jobs table.
  `CREATE TABLE edgerun_jobs (
     ns         text    NOT NULL,
     id         text    NOT NULL,
     seq        bigint  NOT NULL,
     state      text    NOT NULL,
     owner      text,
     priority   integer NOT NULL,
     created_at bigint  NOT NULL,
     updated_at bigint  NOT NULL,
     record     text    NOT NULL,
     PRIMARY KEY (ns, id)
   );
   CREATE INDEX edgerun_jobs_seq ON edgerun_jobs (ns, seq);
   CREATE INDEX edgerun_jobs_state ON edgerun_jobs (ns, state, seq);
   CREATE INDEX edgerun_jobs_owner ON edgerun_jobs (ns, owner, seq);
   CREATE INDEX edgerun_jobs_unfinished ON edgerun_jobs (ns, seq, id) WHERE state IN (${UNFINISHED_SQL});`,
  // 1 → 2: the masters' lease, one row per namespace (broker/lease/, docs/storage.md "Lease").
  `CREATE TABLE edgerun_leases (
     ns         text        PRIMARY KEY,
     holder     text        NOT NULL,
     term       bigint      NOT NULL,
     expires_at timestamptz NOT NULL
   );`,
  // 2 → 3: final jobs by when they ended, for a new master to find the results its predecessor
  // committed in its last moments (PG_FINISHED_SINCE_SQL). Partial: a job enters it once, when it ends.
  `CREATE INDEX edgerun_jobs_finished ON edgerun_jobs (ns, updated_at) WHERE state NOT IN (${UNFINISHED_SQL});`,
]

/** Final jobs of a namespace that ended at or after $2 (ms), the newest $3 of them. */
export const PG_FINISHED_SINCE_SQL = `SELECT record FROM edgerun_jobs
  WHERE ns = $1 AND updated_at >= $2 AND state NOT IN (${UNFINISHED_SQL})
  ORDER BY updated_at DESC LIMIT $3`

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length

/** Any constant: the advisory lock that serializes migrations across processes. */
const MIGRATION_LOCK = 0x65646772 // "edgr"

/**
 * Brings the schema up to PG_SCHEMA_VERSION. Refuses a database whose schema is newer than this
 * code knows (a downgrade), rather than write rows an older reader would misread.
 */
export async function migratePostgres(client: pg.ClientBase): Promise<{ from: number; to: number }> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query('CREATE TABLE IF NOT EXISTS edgerun_schema (version integer NOT NULL)')
    const { rows } = await client.query<{ version: number }>('SELECT version FROM edgerun_schema')
    if (rows.length === 0) await client.query('INSERT INTO edgerun_schema (version) VALUES (0)')
    const from = rows[0]?.version ?? 0
    if (from > PG_SCHEMA_VERSION) {
      throw new EdgerunError('STORE_UNAVAILABLE', `the database's edgerun schema is version ${from}, newer than this edgerun knows (${PG_SCHEMA_VERSION}); upgrade edgerun`)
    }
    for (let version = from; version < PG_SCHEMA_VERSION; version++) await client.query(PG_MIGRATIONS[version]!)
    await client.query('UPDATE edgerun_schema SET version = $1', [PG_SCHEMA_VERSION])
    await client.query('COMMIT')
    return { from, to: PG_SCHEMA_VERSION }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}

/**
 * One round trip for a whole batch: the rows travel as one JSON array whose `record` fields are
 * the records' JSON itself (not re-escaped as strings), and `json` keeps its input text verbatim,
 * so `record::text` stores exactly what was serialized. seq, owner, priority and created_at never
 * change (JobStore.save), so a conflict updates only what can.
 */
export const PG_UPSERT_SQL = `INSERT INTO edgerun_jobs AS j (ns, id, seq, state, owner, priority, created_at, updated_at, record)
  SELECT $1, r.id, r.seq, r.state, r.owner, r.priority, r.created_at, r.updated_at, r.record::text
  FROM json_to_recordset($2::json) AS r(id text, seq bigint, state text, owner text, priority integer, created_at bigint, updated_at bigint, record json)
  ON CONFLICT (ns, id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, record = excluded.record`

export const PG_UNFINISHED_SQL = UNFINISHED_SQL

/**
 * PG_UPSERT_SQL for an elected master: the batch is written only if `$3` (holder) still holds the
 * lease at term `$4`, in the same statement, so the same transaction. FOR SHARE makes a takeover
 * (which updates the lease row) wait until this batch is committed, so the new master loads it.
 * Returns one row: `fenced` 0 means the term is stale and nothing was written.
 */
export const PG_FENCED_UPSERT_SQL = `WITH fence AS (SELECT term FROM edgerun_leases WHERE ns = $1 AND holder = $3 AND term = $4::bigint FOR SHARE),
  written AS (${PG_UPSERT_SQL.replace(/\s+ON CONFLICT/, ' WHERE EXISTS (SELECT 1 FROM fence) ON CONFLICT')} RETURNING 1)
  SELECT (SELECT count(*) FROM fence)::integer AS fenced, (SELECT count(*) FROM written)::integer AS written`

/** Who may write: an elected master's holder name and term (broker/lease/). */
export interface PgFence {
  holder: string
  term: number
}
