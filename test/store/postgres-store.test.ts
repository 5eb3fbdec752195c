import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { PostgresJobStore, type PostgresJobStoreOptions } from '../../broker/store/postgres-store.js'
import { PG_SCHEMA_VERSION } from '../../broker/store/postgres-schema.js'
import type { JobStore } from '../../broker/store/job-store.js'
import type { EdgerunError } from '../../src/errors/index.js'
import { usePostgres } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'
import { describeJobStore, makeJob, makeRichJob, type StoreHarness } from './job-store.conformance.js'

/**
 * The Postgres store against a real PostgreSQL of this file's own (test/helpers/postgres.ts):
 * the conformance suite every store passes, then what only a store on a server has to show.
 */
const NS = 'store-test'
const server = usePostgres()

function closeAll(stores: JobStore[]): Promise<void> {
  return Promise.all(stores.map((store) => store.close().catch(() => undefined))).then(() => undefined)
}

/** The store of NS on a database of its own, and the other namespaces a test opens on that database. */
async function postgresHarness(options: Partial<PostgresJobStoreOptions> = {}): Promise<StoreHarness> {
  const url = await server.createSchema()
  const opened: JobStore[] = []
  const open = async (namespace: string) => {
    const store = await PostgresJobStore.open({ url, namespace, ...options })
    opened.push(store)
    return store
  }
  return { store: await open(NS), openNamespace: open, dispose: () => closeAll(opened) }
}

describeJobStore('PostgresJobStore', () => postgresHarness())
describeJobStore('PostgresJobStore (borrow, as the master uses it)', () => postgresHarness({ borrow: true }), { borrows: true })

describe('PostgresJobStore on a real server', () => {
  it('finishedSince: this namespace\'s final jobs that ended at or after a time, newest first, at most the limit', async () => {
    const url = await server.createSchema()
    const store = await PostgresJobStore.open({ url, namespace: NS })
    const other = await PostgresJobStore.open({ url, namespace: 'other-ns' })
    try {
      const at = 1_800_000_000_000
      store.save(makeJob('old', 1, { state: 'succeeded', finalState: 'succeeded', updatedAt: at - 1 }))
      store.save(makeJob('a', 2, { state: 'succeeded', finalState: 'succeeded', updatedAt: at }))
      store.save(makeJob('b', 3, { state: 'failed', finalState: 'failed', updatedAt: at + 5 }))
      store.save(makeJob('c', 4, { state: 'canceled', finalState: 'canceled', updatedAt: at + 9 }))
      store.save(makeJob('live', 5, { state: 'running', updatedAt: at + 20 }))
      other.save(makeJob('elsewhere', 1, { state: 'succeeded', finalState: 'succeeded', updatedAt: at + 30 }))
      await Promise.all([store.flush(), other.flush()])
      expect(store.finishedSince(at, 10).map((job) => job.id)).toEqual(['c', 'b', 'a'])
      expect(store.finishedSince(at, 2).map((job) => job.id)).toEqual(['c', 'b'])
      expect(store.finishedSince(at + 10, 10)).toEqual([])
      expect(store.finishedSince(at, 10)[0]).toEqual(store.get('c'))
    } finally {
      await closeAll([store, other])
    }
  })

  it('a flush that resolved is in the table: another process (connection) reads it, and a reopened store too', async () => {
    const url = await server.createSchema()
    const store = await PostgresJobStore.open({ url, namespace: NS })
    const rich = makeRichJob('durable', 7)
    store.save(rich)
    await store.flush()
    const client = new pg.Client(url)
    await client.connect()
    try {
      const { rows } = await client.query('SELECT ns, id, seq, state, owner, record FROM edgerun_jobs')
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ ns: NS, id: 'durable', seq: '7', state: 'succeeded', owner: null })
      expect(JSON.parse(rows[0].record)).toEqual(rich)
      // Durability is Postgres's default, and the table is logged.
      expect((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on')
      expect((await client.query("SELECT relpersistence FROM pg_class WHERE relname = 'edgerun_jobs'")).rows[0].relpersistence).toBe('p')
      expect((await client.query('SELECT version FROM edgerun_schema')).rows).toEqual([{ version: PG_SCHEMA_VERSION }])
    } finally {
      await client.end()
    }
    await store.close()
    const again = await PostgresJobStore.open({ url, namespace: NS })
    expect(again.get('durable')).toEqual(rich)
    expect(again.maxSeq()).toBe(7)
    await again.close()
  })

  it("batches a turn's saves into one commit", async () => {
    const url = await server.createSchema()
    const store = await PostgresJobStore.open({ url, namespace: NS })
    for (let i = 1; i <= 500; i++) store.save(makeJob(`b${i}`, i))
    await store.flush()
    expect(store.stats).toMatchObject({ commits: 1, rowsWritten: 500, lastBatchSize: 500, pending: 0 })
    await store.close()
  })

  it('masters starting together on a new database migrate it once', async () => {
    const url = await server.createSchema()
    const stores = await Promise.all(['a', 'b', 'c', 'd'].map((namespace) => PostgresJobStore.open({ url, namespace })))
    stores.forEach((store, i) => store.save(makeJob('same', i + 1)))
    await Promise.all(stores.map((store) => store.flush()))
    expect(stores.map((store) => store.get('same')!.seq)).toEqual([1, 2, 3, 4])
    await closeAll(stores)
  })

  it('refuses a schema newer than it knows, untouched (STORE_UNAVAILABLE)', async () => {
    const url = await server.createSchema()
    const store = await PostgresJobStore.open({ url, namespace: NS })
    store.save(makeJob('kept', 1))
    await store.close()
    const client = new pg.Client(url)
    await client.connect()
    try {
      await client.query('UPDATE edgerun_schema SET version = 99')
      const error = await PostgresJobStore.open({ url, namespace: NS }).then(() => undefined, (e: unknown) => e as EdgerunError)
      expect(error?.code).toBe('STORE_UNAVAILABLE')
      expect(error?.message).toMatch(/schema is version 99, newer than this edgerun knows/)
      expect((await client.query('SELECT id FROM edgerun_jobs')).rows).toEqual([{ id: 'kept' }])
    } finally {
      await client.end()
    }
  })

  it('an unreachable server fails open with one line naming the URL, password masked', async () => {
    const url = `postgres://edgerun:s3cret@127.0.0.1:${server.port + 1}/nowhere`
    const error = await PostgresJobStore.open({ url, namespace: NS, connectTimeoutMs: 2000 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.message).toMatch(/^cannot connect to Postgres at postgres:\/\/edgerun:\*\*\*@127\.0\.0\.1:\d+\/nowhere: /)
    expect((error as EdgerunError | undefined)?.code).toBe('STORE_UNREACHABLE')
    expect(error?.message).not.toContain('s3cret')
    expect(error?.message.split('\n')).toHaveLength(1)
  })
})

/** Stops the file's server: last, so the conformance suites above keep theirs. */
describe('PostgresJobStore through a Postgres outage', () => {
  it('keeps unconfirmed writes readable, fails the flush, and commits them at the next flush once the server is back', async () => {
    const url = await server.createSchema()
    const store = await PostgresJobStore.open({ url, namespace: NS, readTimeoutMs: 2000, connectTimeoutMs: 1000 })
    store.save(makeJob('before', 1))
    await store.flush()
    await server.stop('immediate')
    try {
      store.save(makeJob('during', 2, { state: 'running' }))
      await expect(store.flush()).rejects.toThrow(/commit of 1 job\(s\) failed/)
      // Unconfirmed: served from memory. Committed: the server is needed, and its absence is an error.
      expect(store.get('during')?.state).toBe('running')
      expect(() => store.get('before')).toThrow(/job store read/)
    } finally {
      await server.start()
    }
    // The next flush retries (the master retries its flushes with a backoff), on a new connection.
    await waitFor(async () => (await store.flush(), true), { timeoutMs: 20_000, intervalMs: 100, what: 'the retried commit' })
    expect(store.stats.pending).toBe(0)
    expect(store.get('before')?.state).toBe('queued')
    const client = new pg.Client(url)
    await client.connect()
    try {
      const { rows } = await client.query('SELECT id, state FROM edgerun_jobs ORDER BY seq')
      expect(rows).toEqual([
        { id: 'before', state: 'queued' },
        { id: 'during', state: 'running' },
      ])
    } finally {
      await client.end()
    }
    await store.close()
  }, 60_000)
})
