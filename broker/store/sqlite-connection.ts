import Database from 'better-sqlite3'
import type { JobRow } from './job-table.js'

/**
 * What both connections to jobs.db share, the store's own and its writer thread's: how a
 * connection is set up, and the one statement that writes rows. The writer thread
 * (sqlite-writer-thread.ts) imports this module too, so a batch is written by the same code
 * whichever side commits it.
 */

export type SqliteDatabase = Database.Database

export interface ConnectionOptions {
  synchronous: 'NORMAL' | 'FULL'
  busyTimeoutMs: number
}

/** Opens `path` with the store's pragmas; the journal mode it got is returned for a warning. */
export function openConnection(path: string, options: ConnectionOptions): { db: SqliteDatabase; journalMode: string } {
  const db = new Database(path)
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
    // Persistent in the file: a no-op for the second connection, which finds it set.
    const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }))
    db.pragma(`synchronous = ${options.synchronous}`)
    db.pragma('temp_store = MEMORY')
    db.pragma('cache_size = -16384') // 16 MiB
    // A checkpoint runs on whichever connection commits past ~1000 pages: both truncate the WAL
    // back to 64 MiB after it.
    db.pragma('journal_size_limit = 67108864')
    return { db, journalMode }
  } catch (error) {
    db.close()
    throw error
  }
}

/**
 * The upsert, the namespace's id first. seq, owner, priority and createdAt never change
 * (JobStore.save), so an update writes only what can.
 */
const UPSERT_SQL = `INSERT INTO jobs (ns, id, seq, state, owner, priority, created_at, updated_at, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (ns, id) DO UPDATE SET
    state = excluded.state, updated_at = excluded.updated_at, record = excluded.record`

/**
 * A function that upserts rows of namespace `ns` in one transaction (all or none). Counts are
 * recounted on demand (an index-only GROUP BY) rather than kept per write: a lookup of the old
 * state for every upsert cost more than the upsert itself.
 */
export function rowWriter(db: SqliteDatabase, ns: number): (rows: Iterable<JobRow>) => void {
  const upsert = db.prepare<[number, string, number, string, string | null, number, number, number, string]>(UPSERT_SQL)
  return db.transaction((rows: Iterable<JobRow>) => {
    for (const row of rows) {
      upsert.run(ns, row.id, row.seq, row.state, row.owner, row.priority, row.createdAt, row.updatedAt, row.json)
    }
  })
}
