import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createJobStore, defaultDataDir, masterJobStore, MemoryJobStore, SCHEMA_VERSION, SqliteJobStore, type SqliteJobStoreOptions } from '../../broker/store/index.js'
import { MIGRATIONS } from '../../broker/store/sqlite-migrations.js'
import { everyStateNewestFirst } from '../../broker/store/sqlite-table.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import type { JobStore } from '../../broker/store/job-store.js'
import type { Logger } from '../../src/logging/logger.js'
import { Master } from '../../broker/master/master.js'
import { RecordingTransport } from '../helpers/recording-transport.js'
import { ensureStoreBuilt, ROOT } from './built.js'
import { describeJobStore, makeJob, makeRichJob, type StoreHarness } from './job-store.conformance.js'

const distModule = join(ROOT, 'dist/broker/store/sqlite-store.js')

beforeAll(ensureStoreBuilt, 180_000)

/** The namespace of the stores below that do not test namespaces. */
const NS = 'store-test'
const tempDirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgerun-store-'))
  tempDirs.push(dir)
  return dir
}

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/** Closes every store it was given; a test may already have closed one (or made a close fail). */
function closeAll(stores: JobStore[]): Promise<void> {
  return Promise.all(stores.map((store) => store.close().catch(() => undefined))).then(() => undefined)
}

/** A SQLite harness: the store of NS, and the others a test opens on the same file. */
async function sqliteHarness(options: Omit<SqliteJobStoreOptions, 'dataDir' | 'namespace'> = {}): Promise<StoreHarness> {
  const dataDir = await tempDir()
  const opened: JobStore[] = []
  const open = (namespace: string) => {
    const store = SqliteJobStore.open({ dataDir, namespace, ...options })
    opened.push(store)
    return store
  }
  return { store: open(NS), openNamespace: async (namespace) => open(namespace), dispose: () => closeAll(opened) }
}

describeJobStore('MemoryJobStore', async () => {
  // Without a namespace, as a master's private store; the tests' other namespaces share its memory.
  const store = new MemoryJobStore()
  const opened: JobStore[] = [store]
  const openNamespace = async (namespace: string) => {
    const other = new MemoryJobStore({ namespace, shareWith: store })
    opened.push(other)
    return other
  }
  return { store, openNamespace, dispose: () => closeAll(opened) }
})

describeJobStore('SqliteJobStore', () => sqliteHarness())

describeJobStore(
  'SqliteJobStore (borrow and beforeCommit, as the master uses it)',
  () => sqliteHarness({ borrow: true, beforeCommit: () => {} }),
  { borrows: true },
)

describeJobStore(
  'SqliteJobStore (borrow, every batch committed on the writer thread)',
  () => sqliteHarness({ borrow: true, offloadRows: 1 }),
  { borrows: true },
)

function ids(jobs: JobRecord[]): string[] {
  return jobs.map((job) => job.id)
}

/** A pino logger whose lines land in an array. */
function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { logger, lines }
}

describe('SqliteJobStore (sqlite only)', () => {
  let dataDir: string

  beforeEach(async () => {
    dataDir = await tempDir()
  })

  it('creates a nested data dir and a WAL-mode jobs.db at the current schema version', async () => {
    const nested = join(dataDir, 'a', 'b', 'c')
    const store = SqliteJobStore.open({ namespace: NS, dataDir: nested })
    expect(store.path).toBe(join(nested, 'jobs.db'))
    store.save(makeJob('j1', 1))
    await store.close()
    const db = new Database(join(nested, 'jobs.db'), { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'").pluck().all()
      // As many b-trees per write as schema 2 had: the table and these four.
      expect([...indexes].sort()).toEqual(['jobs_id', 'jobs_owner', 'jobs_state', 'jobs_unfinished'])
      // Jobs are keyed by (namespace, id); the lists of a namespace come in seq order.
      const columns = (name: string) => (db.pragma(`index_info(${name})`) as Array<{ name: string }>).map((c) => c.name)
      const unique = (name: string) => (db.pragma('index_list(jobs)') as Array<{ name: string; unique: number }>).find((i) => i.name === name)?.unique
      expect([columns('jobs_id'), unique('jobs_id')]).toEqual([['ns', 'id'], 1])
      expect(columns('jobs_state')).toEqual(['ns', 'state', 'seq'])
      expect(columns('jobs_owner')).toEqual(['ns', 'owner', 'seq'])
      // A list of every state merges the state index's ranges instead of sorting.
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${everyStateNewestFirst('id, seq, record')}`).all({ ns: 1 }) as Array<{ detail: string }>
      expect(plan.some((step) => step.detail.includes('MERGE'))).toBe(true)
      expect(plan.some((step) => step.detail.includes('TEMP B-TREE'))).toBe(false)
      expect(db.prepare('SELECT name FROM namespaces').pluck().all()).toEqual([NS])
    } finally {
      db.close()
    }
  })

  it('calls beforeCommit before each inline commit, never for the writer thread or at close', async () => {
    const calls: number[] = []
    const inline = SqliteJobStore.open({ namespace: NS, dataDir, beforeCommit: () => calls.push(inline.stats.commits) })
    inline.save(makeJob('b1', 1))
    await inline.flush()
    inline.save(makeJob('b2', 2))
    await inline.flush()
    // Each call came before the commit it announced.
    expect(calls).toEqual([0, 1])
    inline.save(makeJob('b3', 3))
    await inline.close()
    expect(calls).toEqual([0, 1])
    const offloaded = SqliteJobStore.open({ namespace: NS, dataDir: await tempDir(), offloadRows: 1, beforeCommit: () => calls.push(-1) })
    offloaded.save(makeJob('b4', 4))
    await offloaded.flush()
    await offloaded.close()
    expect(calls).toEqual([0, 1])
  })

  it('a beforeCommit that throws is logged, and the commit goes ahead', async () => {
    const { logger, lines } = captureLogger()
    const store = SqliteJobStore.open({ namespace: NS, dataDir, logger, beforeCommit: () => { throw new Error('socket gone') } })
    store.save(makeJob('t1', 1))
    await store.flush()
    expect(store.stats).toMatchObject({ commits: 1, failedCommits: 0 })
    expect(lines.some((line) => String(line.msg).includes('beforeCommit failed'))).toBe(true)
    await store.close()
  })

  it('keeps everything across close and reopen', async () => {
    const jobs: JobRecord[] = [
      makeRichJob('r1', 1),
      makeJob('q2', 2),
      makeJob('a3', 3, { state: 'assigned', owner: 'bob' }),
      makeJob('f4', 4, { state: 'failed', error: 'out of attempts' }),
    ]
    const first = SqliteJobStore.open({ namespace: NS, dataDir })
    for (const job of jobs) first.save(job)
    await first.flush()
    await first.close()

    const second = SqliteJobStore.open({ namespace: NS, dataDir })
    try {
      for (const job of jobs) expect(second.get(job.id)).toEqual(job)
      expect(second.maxSeq()).toBe(4)
      expect(second.loadUnfinished().map((job) => job.id)).toEqual(['q2', 'a3'])
      expect(second.list({ limit: 10 }).map((job) => job.id)).toEqual(['f4', 'a3', 'q2', 'r1'])
      expect(second.counts()).toMatchObject({ queued: 1, assigned: 1, succeeded: 1, failed: 1, running: 0 })
    } finally {
      await second.close()
    }
  })

  it('close() commits what is still pending', async () => {
    const first = SqliteJobStore.open({ namespace: NS, dataDir })
    first.save(makeJob('unflushed', 1))
    await first.close()
    const second = SqliteJobStore.open({ namespace: NS, dataDir })
    expect(second.get('unflushed')?.id).toBe('unflushed')
    await second.close()
  })

  it('flush() resolves only once the rows are visible to another connection', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir })
    const other = new Database(store.path, { readonly: true })
    try {
      const count = other.prepare('SELECT COUNT(*) FROM jobs').pluck()
      store.save(makeJob('v1', 1))
      store.save(makeJob('v2', 2))
      expect(count.get()).toBe(0) // batched: nothing written yet
      await store.flush()
      expect(count.get()).toBe(2)
    } finally {
      other.close()
      await store.close()
    }
  })

  it('writes one transaction per tick, however many saves', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir })
    try {
      const before = store.stats.commits
      for (let i = 1; i <= 10_000; i++) store.save(makeJob(`b${i}`, i))
      expect(store.stats.pending).toBe(10_000)
      await Promise.all([store.flush(), store.flush()])
      expect(store.stats.commits - before).toBe(1)
      expect(store.stats.lastBatchSize).toBe(10_000)
      expect(store.stats.pending).toBe(0)
    } finally {
      await store.close()
    }
  })

  it('refuses reads and flushes after close, and close after close stays quiet', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir })
    await store.close()
    expect(() => store.get('x')).toThrow('job store is closed')
    expect(() => store.list({ limit: 1 })).toThrow('job store is closed')
    expect(() => store.counts()).toThrow('job store is closed')
    await expect(store.flush()).rejects.toThrow('job store is closed')
    await expect(store.close()).resolves.toBeUndefined()
  })

  it('a failed commit rejects flush, is logged, keeps the writes readable, and is retried', async () => {
    const { logger, lines } = captureLogger()
    const store = SqliteJobStore.open({ namespace: NS, dataDir, logger, busyTimeoutMs: 0 })
    const blocker = new Database(store.path)
    try {
      blocker.exec('BEGIN EXCLUSIVE') // another writer holds the lock: our commit gets SQLITE_BUSY
      store.save(makeJob('held', 1, { state: 'running' }))
      await expect(store.flush()).rejects.toThrow(/commit of 1 job\(s\) failed/)
      expect(lines.some((line) => line.level === 50 && String(line.msg).includes('commit failed'))).toBe(true)
      expect(store.stats.failedCommits).toBe(1)
      expect(store.get('held')?.state).toBe('running')
      expect(store.counts().running).toBe(1)

      blocker.exec('COMMIT')
      await store.flush()
      expect(blocker.prepare('SELECT state FROM jobs WHERE id = ?').pluck().get('held')).toBe('running')
      expect(store.counts().running).toBe(1)
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK')
      blocker.close()
      await store.close()
    }
  })

  it('a large batch commits on the writer thread: durable when flush() resolves, in order, readable meanwhile', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir, offloadRows: 100 })
    const other = new Database(store.path, { readonly: true })
    try {
      const count = other.prepare('SELECT COUNT(*) FROM jobs').pluck()
      for (let i = 1; i <= 500; i++) store.save(makeJob(`t${i}`, i))
      const first = store.flush()
      // The next batch rewrites some of the same jobs while the first may still be in flight.
      await new Promise((resolve) => setImmediate(resolve))
      for (let i = 1; i <= 200; i++) store.save(makeJob(`t${i}`, i, { state: 'succeeded' }))
      expect(store.get('t1')?.state).toBe('succeeded')
      expect(store.list({ state: 'queued', limit: 1000 })).toHaveLength(300)
      expect(store.counts()).toMatchObject({ queued: 300, succeeded: 200 })
      await Promise.all([first, store.flush()])
      expect(count.get()).toBe(500)
      expect(other.prepare("SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'").pluck().get()).toBe(200)
      expect(store.stats).toMatchObject({ commits: 2, rowsWritten: 700, pending: 0 })
    } finally {
      other.close()
      await store.close()
    }
  })

  it('the writer thread takes rows whose text could not be packed into one string, too', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir, offloadRows: 1 })
    try {
      const odd = makeJob('odd', 1, { owner: 'a\u0001b' })
      const plain = makeJob('plain', 2, { owner: null })
      store.save(odd)
      await store.flush()
      store.save(plain)
      await store.flush()
      const db = new Database(store.path, { readonly: true })
      const owners = db.prepare('SELECT owner FROM jobs ORDER BY seq').pluck().all()
      db.close()
      expect(owners).toEqual(['a\u0001b', null])
      expect(store.get('odd')).toEqual(odd)
      expect(store.list({ owner: 'a\u0001b', limit: 5 }).map((job) => job.id)).toEqual(['odd'])
    } finally {
      await store.close()
    }
  })

  it('a failed commit on the writer thread rejects flush, keeps the rows readable, and is retried', async () => {
    const { logger, lines } = captureLogger()
    const store = SqliteJobStore.open({ namespace: NS, dataDir, logger, busyTimeoutMs: 0, offloadRows: 1 })
    const blocker = new Database(store.path)
    try {
      blocker.exec('BEGIN EXCLUSIVE')
      store.save(makeJob('held', 1, { state: 'running' }))
      await expect(store.flush()).rejects.toThrow(/commit of 1 job\(s\) failed/)
      expect(lines.some((line) => line.level === 50 && String(line.msg).includes('commit failed'))).toBe(true)
      expect(store.stats.failedCommits).toBe(1)
      expect(store.get('held')?.state).toBe('running')
      blocker.exec('COMMIT')
      await store.flush()
      expect(blocker.prepare('SELECT state FROM jobs WHERE id = ?').pluck().get('held')).toBe('running')
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK')
      blocker.close()
      await store.close()
    }
  })

  it('rejects an invalid record at save(), so it cannot poison a batch', async () => {
    const store = SqliteJobStore.open({ namespace: NS, dataDir })
    try {
      const internal = expect.objectContaining({ code: 'INTERNAL' })
      expect(() => store.save({ ...makeJob('bad', 1), seq: Number.NaN })).toThrow(internal)
      expect(() => store.save({ ...makeJob('bad', 1), createdAt: undefined as unknown as number })).toThrow(internal)
      expect(() => store.save({ ...makeJob('bad', 1), state: 'lost' as never })).toThrow(internal)
      store.save(makeJob('good', 2))
      await store.flush()
      expect(store.get('bad')).toBeUndefined()
      expect(store.stats.failedCommits).toBe(0)
    } finally {
      await store.close()
    }
  })

  /**
   * A jobs.db as edgerun wrote it at schema `version` (built with the released steps up to it),
   * holding `jobs`. Versions 1 and 2 share the column names, in another order.
   */
  function writeAtVersion(dataDir: string, version: 1 | 2, jobs: JobRecord[]): void {
    const db = new Database(join(dataDir, 'jobs.db'))
    for (const step of MIGRATIONS.slice(0, version)) step(db, { namespace: 'unused' })
    db.pragma(`user_version = ${version}`)
    const insert = db.prepare('INSERT INTO jobs (id, seq, state, owner, priority, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    for (const job of jobs) insert.run(job.id, job.seq, job.state, job.owner, job.priority, job.createdAt, job.updatedAt, JSON.stringify(job))
    db.close()
  }

  it('migrates a version-1 database (seq becomes the rowid) with every job intact', async () => {
    const jobs = [
      makeRichJob('r1', 1),
      makeJob('q2', 2, { owner: 'bob' }),
      makeJob('a3', 3, { state: 'assigned', owner: 'bob' }),
      makeJob('f9', 9, { state: 'failed' }),
    ]
    writeAtVersion(dataDir, 1, jobs)
    const store = SqliteJobStore.open({ namespace: NS, dataDir })
    try {
      for (const job of jobs) expect(store.get(job.id)).toEqual(job)
      expect(store.list({ limit: 10 }).map((job) => job.id)).toEqual(['f9', 'a3', 'q2', 'r1'])
      expect(store.list({ owner: 'bob', limit: 10 }).map((job) => job.id)).toEqual(['a3', 'q2'])
      expect(store.loadUnfinished().map((job) => job.id)).toEqual(['q2', 'a3'])
      expect(store.maxSeq()).toBe(9)
      expect(store.counts()).toMatchObject({ queued: 1, assigned: 1, succeeded: 1, failed: 1 })
      // And it goes on working: an update, then a new job.
      store.save(makeJob('q2', 2, { owner: 'bob', state: 'succeeded' }))
      store.save(makeJob('n10', 10))
      await store.flush()
      expect(store.loadUnfinished().map((job) => job.id)).toEqual(['a3', 'n10'])
    } finally {
      await store.close()
    }
    const db = new Database(join(dataDir, 'jobs.db'), { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    db.close()
  })

  it('a version-2 database: the first namespace to open it adopts its jobs and says so; the next sees none', async () => {
    const jobs = [
      makeRichJob('same-id', 1),
      makeJob('q2', 2, { owner: 'bob' }),
      makeJob('a3', 3, { state: 'assigned', owner: 'bob' }),
      makeJob('f9', 9, { state: 'failed' }),
    ]
    writeAtVersion(dataDir, 2, jobs)
    const first = captureLogger()
    const alpha = SqliteJobStore.open({ dataDir, namespace: 'alpha', logger: first.logger })
    try {
      const adoption = first.lines.filter((line) => line.adopted !== undefined)
      expect(adoption).toHaveLength(1)
      expect(adoption[0]).toMatchObject({ level: 40, namespace: 'alpha', adopted: 4 })
      expect(String(adoption[0]!.msg)).toMatch(/4 job\(s\) .* namespace alpha/)
      for (const job of jobs) expect(alpha.get(job.id)).toEqual(job)
      expect(ids(alpha.list({ limit: 10 }))).toEqual(['f9', 'a3', 'q2', 'same-id'])
      expect(ids(alpha.list({ owner: 'bob', limit: 10 }))).toEqual(['a3', 'q2'])
      expect(ids(alpha.loadUnfinished())).toEqual(['q2', 'a3'])
      expect(alpha.maxSeq()).toBe(9)
      expect(alpha.counts()).toMatchObject({ queued: 1, assigned: 1, succeeded: 1, failed: 1 })
    } finally {
      await alpha.close()
    }

    const second = captureLogger()
    const beta = SqliteJobStore.open({ dataDir, namespace: 'beta', logger: second.logger })
    try {
      expect(second.lines.filter((line) => line.adopted !== undefined || String(line.msg).includes('migrated'))).toEqual([])
      expect(beta.get('same-id')).toBeUndefined()
      expect(beta.getMany(jobs.map((job) => job.id)).size).toBe(0)
      expect(beta.list({ limit: 10 })).toEqual([])
      expect(beta.loadUnfinished()).toEqual([])
      expect(beta.maxSeq()).toBe(0)
      expect(Object.values(beta.counts()).every((n) => n === 0)).toBe(true)
      // beta's own job of that id is a job of its own, numbered from its own seq.
      const own = makeJob('same-id', 1, { owner: 'beta-client', state: 'running' })
      beta.save(own)
      await beta.flush()
      expect(beta.get('same-id')).toEqual(own)
    } finally {
      await beta.close()
    }

    const again = captureLogger()
    const alphaAgain = SqliteJobStore.open({ dataDir, namespace: 'alpha', logger: again.logger })
    try {
      expect(again.lines.filter((line) => line.adopted !== undefined)).toEqual([])
      expect(alphaAgain.get('same-id')).toEqual(jobs[0])
      expect(ids(alphaAgain.list({ limit: 10 }))).toEqual(['f9', 'a3', 'q2', 'same-id'])
    } finally {
      await alphaAgain.close()
    }
    const db = new Database(join(dataDir, 'jobs.db'), { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(db.prepare('SELECT id, name FROM namespaces ORDER BY id').all()).toEqual([{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }])
    db.close()
  })

  it('a version-2 database without jobs is migrated without an adoption line', async () => {
    writeAtVersion(dataDir, 2, [])
    const { logger, lines } = captureLogger()
    const store = SqliteJobStore.open({ dataDir, namespace: 'alpha', logger })
    await store.close()
    expect(lines.filter((line) => String(line.msg).includes('migrated')).map((line) => [line.from, line.to])).toEqual([[2, 3]])
    expect(lines.filter((line) => line.adopted !== undefined)).toEqual([])
  })

  it('refuses a namespace that could not be one', () => {
    for (const namespace of ['', 'a/b', '+', 'x'.repeat(65), undefined]) {
      expect(() => SqliteJobStore.open({ dataDir, namespace: namespace as string })).toThrow(/namespace/)
    }
  })

  it('refuses to migrate a version-1 database in which two jobs share a seq, and leaves it as it was', async () => {
    writeAtVersion(dataDir, 1, [makeJob('x1', 5), makeJob('x2', 5)])
    expect(() => SqliteJobStore.open({ namespace: NS, dataDir })).toThrow(/two jobs share seq 5/)
    const db = new Database(join(dataDir, 'jobs.db'), { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(1)
    expect(db.prepare('SELECT COUNT(*) FROM jobs').pluck().get()).toBe(2)
    db.close()
  })

  it('refuses a database written by a newer schema', async () => {
    const first = SqliteJobStore.open({ namespace: NS, dataDir })
    await first.close()
    const db = new Database(join(dataDir, 'jobs.db'))
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    expect(() => SqliteJobStore.open({ namespace: NS, dataDir })).toThrow(/schema version .* newer/)
  })

  it('counts rebuilt on open agree with the table', async () => {
    const first = SqliteJobStore.open({ namespace: NS, dataDir })
    for (let i = 1; i <= 50; i++) first.save(makeJob(`c${i}`, i, { state: i % 3 === 0 ? 'canceled' : 'queued' }))
    await first.flush()
    for (let i = 1; i <= 50; i += 2) first.save(makeJob(`c${i}`, i, { state: 'succeeded' }))
    await first.close()
    const second = SqliteJobStore.open({ namespace: NS, dataDir })
    const expected = second.counts()
    await second.close()
    const db = new Database(join(dataDir, 'jobs.db'), { readonly: true })
    const rows = db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: string; n: number }>
    db.close()
    for (const { state, n } of rows) expect(expected[state as keyof typeof expected]).toBe(n)
    expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBe(50)
  })

  describe('a flushed write survives SIGKILL', () => {
    it('reopens with every record flushed before the kill, and an intact database', async () => {
      const records = Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? makeJob(`k${i}`, i + 1, { state: 'running' }) : makeRichJob(`k${i}`, i + 1),
      )
      const recordsFile = join(dataDir, 'records.json')
      await writeFile(recordsFile, JSON.stringify(records))
      const script = join(dataDir, 'child.mjs')
      await writeFile(
        script,
        `
import { readFileSync } from 'node:fs'
const [moduleUrl, dataDir, recordsFile] = process.argv.slice(2)
const { SqliteJobStore } = await import(moduleUrl)
const store = SqliteJobStore.open({ namespace: '${NS}', dataDir })
for (const record of JSON.parse(readFileSync(recordsFile, 'utf8'))) store.save(record)
await store.flush()
process.stdout.write('flushed\\n')
// Keep writing until killed, so the kill lands in the middle of activity.
let n = 0
const more = () => {
  for (let i = 0; i < 50; i++, n++) {
    store.save({ ...JSON.parse(readFileSync(recordsFile, 'utf8'))[0], id: 'extra-' + n, seq: 100000 + n })
  }
  setImmediate(more)
}
more()
`,
      )
      const storeDir = join(dataDir, 'store')
      const child = spawn(process.execPath, [script, pathToFileURL(distModule).href, storeDir, recordsFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never flushed; stderr: ${stderr}`)), 20_000)
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          if (out.includes('flushed\n')) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`child exited early (${code}); stderr: ${stderr}`))
        })
      })
      // Let some of the extra writes happen, then kill without warning.
      await new Promise((resolve) => setTimeout(resolve, 50))
      child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
      // The WAL is still there: the data is recovered from it, not from a clean shutdown.
      expect((await readdir(storeDir)).sort()).toEqual(expect.arrayContaining(['jobs.db', 'jobs.db-wal']))

      const store = SqliteJobStore.open({ namespace: NS, dataDir: storeDir })
      try {
        for (const record of records) expect(store.get(record.id)).toEqual(record)
        expect(store.loadUnfinished().map((job) => job.id).slice(0, 3)).toEqual(['k0', 'k2', 'k4'])
      } finally {
        await store.close()
      }
      const db = new Database(join(storeDir, 'jobs.db'), { readonly: true })
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      } finally {
        db.close()
      }
    }, 60_000)
  })
})

describe('createJobStore, masterJobStore and defaultDataDir', () => {
  it('creates either store', async () => {
    const memory = createJobStore({ kind: 'memory' })
    expect(memory.kind).toBe('memory')
    await memory.close()
    const sqlite = createJobStore({ kind: 'sqlite', namespace: NS, dataDir: await tempDir() })
    expect(sqlite.kind).toBe('sqlite')
    await sqlite.close()
  })

  it('masterJobStore: memory, or SQLite in the data dir that borrows records', async () => {
    const memory = masterJobStore({ namespace: NS, memory: true })
    expect(memory.kind).toBe('memory')
    await memory.close()
    const dataDir = await tempDir()
    const sqlite = masterJobStore({ namespace: NS, memory: false, dataDir })
    expect((sqlite as SqliteJobStore).path).toBe(join(dataDir, 'jobs.db'))
    // Borrowed: a change made after save() and before the commit is what gets written.
    const job = makeJob('m1', 1)
    sqlite.save(job)
    job.state = 'assigned'
    await sqlite.flush()
    expect(sqlite.get('m1')?.state).toBe('assigned')
    await sqlite.close()
  })

  it('masterJobStore binds the store to the namespace, and a master refuses a store of another', async () => {
    const dataDir = await tempDir()
    for (const memory of [true, false]) {
      const store = masterJobStore({ namespace: 'alpha', memory, dataDir })
      expect(store.namespace).toBe('alpha')
      expect(() => new Master({ namespace: 'beta' }, { transport: new RecordingTransport(), store })).toThrow(/namespace alpha/)
      expect(() => new Master({ namespace: 'alpha' }, { transport: new RecordingTransport(), store })).not.toThrow()
      await store.close()
    }
  })

  it('prefers EDGERUN_DATA_DIR, then an absolute XDG_DATA_HOME, then ~/.local/share', () => {
    expect(defaultDataDir({ EDGERUN_DATA_DIR: '/srv/edgerun', XDG_DATA_HOME: '/x' })).toBe('/srv/edgerun')
    expect(defaultDataDir({ XDG_DATA_HOME: '/x/data' })).toBe('/x/data/edgerun')
    expect(defaultDataDir({ XDG_DATA_HOME: 'relative/ignored' })).toMatch(/\.local\/share\/edgerun$/)
    expect(defaultDataDir({})).toMatch(/\.local\/share\/edgerun$/)
  })
})
