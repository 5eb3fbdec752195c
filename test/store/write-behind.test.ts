import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { writerThreadUrl } from '../../broker/store/background-writer.js'
import type { BatchWriter, JobRow } from '../../broker/store/job-table.js'
import type { JobStore } from '../../broker/store/job-store.js'
import { MemoryJobTable } from '../../broker/store/memory-table.js'
import { SqliteJobStore } from '../../broker/store/sqlite-store.js'
import { SqliteJobTable } from '../../broker/store/sqlite-table.js'
import { TableJobStore } from '../../broker/store/table-store.js'
import { WriteBehindStore } from '../../broker/store/write-behind.js'
import { EdgerunError, ERROR_CODES } from '../../src/errors/index.js'
import { ensureStoreBuilt, ROOT } from './built.js'
import { describeJobStore, makeJob } from './job-store.conformance.js'

/**
 * The parts a store is made of, each under the conformance suite: the write-behind layer over a
 * table that is not SQLite (so it is store-agnostic), and a table used without it.
 */
const tempDirs: string[] = []

beforeAll(ensureStoreBuilt, 180_000)

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgerun-wb-'))
  tempDirs.push(dir)
  return dir
}

function closeAll(stores: JobStore[]): Promise<void> {
  return Promise.all(stores.map((store) => store.close().catch(() => undefined))).then(() => undefined)
}

/**
 * A memory table whose batch writer commits a few milliseconds later, in order, as a slow disk
 * or a network database would: the layer's in-flight overlay is then what reads see meanwhile.
 */
class LaggingMemoryTable extends MemoryJobTable {
  openWriter(): BatchWriter {
    let open = true
    const table = this
    return {
      get usable() {
        return open
      },
      write(rows: readonly JobRow[]): Promise<void> {
        return new Promise((resolve) =>
          setTimeout(() => {
            table.commit(rows)
            resolve()
          }, 2),
        )
      },
      async close() {
        open = false
      },
    }
  }
}

function memoryHarness(layered: (table: MemoryJobTable) => JobStore, Table: typeof MemoryJobTable = MemoryJobTable) {
  return async () => {
    const table = new Table()
    const store = layered(table)
    const opened: JobStore[] = [store]
    const openNamespace = async (namespace: string) => {
      const other = layered(new Table({ namespace, shareWith: table }))
      opened.push(other)
      return other
    }
    return { store, openNamespace, dispose: () => closeAll(opened) }
  }
}

describeJobStore('WriteBehindStore over a memory table', memoryHarness((table) => new WriteBehindStore(table)))

describeJobStore(
  'WriteBehindStore over a memory table, borrowing, with beforeCommit',
  memoryHarness((table) => new WriteBehindStore(table, { borrow: true, beforeCommit: () => {} })),
  { borrows: true },
)

describeJobStore(
  'WriteBehindStore over a memory table whose batch writer lags (every batch in flight first)',
  memoryHarness((table) => new WriteBehindStore(table, { borrow: true, offloadRows: 1 }), LaggingMemoryTable),
  { borrows: true },
)

describeJobStore('TableJobStore over the SQLite table (no write-behind)', async () => {
  const dataDir = await tempDir()
  const opened: JobStore[] = []
  const open = (namespace: string) => {
    const store = new TableJobStore(new SqliteJobTable({ dataDir, namespace }))
    opened.push(store)
    return store
  }
  return { store: open('store-test'), openNamespace: async (namespace) => open(namespace), dispose: () => closeAll(opened) }
})

describe('the write-behind layer over a lagging batch writer', () => {
  it('keeps batches in order, reads them while in flight, and flush() waits for every earlier one', async () => {
    const table = new LaggingMemoryTable()
    const store = new WriteBehindStore(table, { offloadRows: 1 })
    try {
      store.save(makeJob('a', 1))
      const first = store.flush()
      await new Promise((resolve) => setImmediate(resolve))
      store.save(makeJob('a', 1, { state: 'running' }))
      store.save(makeJob('b', 2))
      expect(store.stats.pending).toBe(3) // one in flight, two pending
      expect(store.counts()).toMatchObject({ queued: 1, running: 1 })
      await store.flush()
      await first
      expect(table.stateOf('a')).toBe('running')
      expect(store.stats).toMatchObject({ commits: 2, rowsWritten: 3, pending: 0 })
    } finally {
      await store.close()
    }
  })
})

describe('errors carry registry codes', () => {
  const codeOf = async (fn: () => unknown): Promise<string | undefined> => {
    try {
      await fn()
    } catch (error) {
      return (error as { code?: string }).code
    }
    return undefined
  }

  it('a closed store, an invalid record, a bad namespace, an unreadable database, a failed commit', async () => {
    const dataDir = await tempDir()
    const store = SqliteJobStore.open({ dataDir, namespace: 'codes', busyTimeoutMs: 0 })
    expect(await codeOf(() => store.save({ ...makeJob('bad', 1), seq: 1.5 }))).toBe('INTERNAL')
    expect(await codeOf(() => store.save({ ...makeJob('', 1) }))).toBe('INTERNAL')
    const blocker = new Database(store.path)
    blocker.exec('BEGIN EXCLUSIVE')
    store.save(makeJob('held', 1))
    expect(await codeOf(() => store.flush())).toBe('STORE_WRITE_FAILED')
    blocker.exec('ROLLBACK')
    blocker.close()
    await store.close()
    expect(await codeOf(() => store.get('held'))).toBe('INTERNAL')
    expect(await codeOf(() => store.flush())).toBe('INTERNAL')
    expect(await codeOf(() => SqliteJobStore.open({ dataDir, namespace: 'a/b' }))).toBe('BAD_FLAG')
    const notADatabase = await tempDir()
    await writeFile(join(notADatabase, 'jobs.db'), 'this is not a database, only text long enough to have a header')
    expect(await codeOf(() => SqliteJobStore.open({ dataDir: notADatabase, namespace: 'codes' }))).toBe('STORE_UNAVAILABLE')
    for (const code of ['INTERNAL', 'STORE_WRITE_FAILED', 'BAD_FLAG', 'STORE_UNAVAILABLE']) expect(code in ERROR_CODES).toBe(true)
  })

  it('no bare Error or TypeError is thrown under broker/store', () => {
    const dir = join(ROOT, 'broker/store')
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8')
      expect(source, file).not.toMatch(/new (Type)?Error\(/)
    }
  })
})

describe('layout', () => {
  it('the store imports nothing of the network layer, and no store file is over 400 lines', () => {
    const dir = join(ROOT, 'broker/store')
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8')
      expect(source, file).not.toMatch(/src\/net\/|flushCoalescedWrites/)
      expect(source.split('\n').length, file).toBeLessThanOrEqual(400)
    }
  })

  it('built, the store finds its writer thread beside it in dist/ and commits on it', async () => {
    const distIndex = join(ROOT, 'dist/broker/store/index.js')
    expect(existsSync(distIndex), 'run npm run build first').toBe(true)
    const fromDist = writerThreadUrl(pathToFileURL(join(ROOT, 'dist/broker/store/background-writer.js')).href)
    expect(fileURLToPath(fromDist)).toBe(join(ROOT, 'dist/broker/store/sqlite-writer-thread.js'))
    expect(existsSync(fromDist)).toBe(true)
    // A process that runs only the built package: a batch on the thread never calls beforeCommit.
    const dataDir = await tempDir()
    const script = `
const { SqliteJobStore } = await import(${JSON.stringify(pathToFileURL(distIndex).href)})
let inline = 0
const store = SqliteJobStore.open({ dataDir: ${JSON.stringify(dataDir)}, namespace: 'dist', offloadRows: 1, beforeCommit: () => inline++ })
store.save(${JSON.stringify(makeJob('d1', 1))})
await store.flush()
const stats = store.stats
await store.close()
process.stdout.write(JSON.stringify({ inline, commits: stats.commits }))
`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(JSON.parse(out)).toEqual({ inline: 0, commits: 1 })
    const db = new Database(join(dataDir, 'jobs.db'), { readonly: true })
    expect(db.prepare('SELECT id FROM jobs').pluck().all()).toEqual(['d1'])
    db.close()
  })
})

describe('the write-behind layer when its batch writer is missing or its outcome unknown', () => {
  /** A real SQLite table whose writer thread cannot start, as in a source tree never built. */
  class ThreadlessSqliteTable extends SqliteJobTable {
    override openWriter(): BatchWriter {
      throw new EdgerunError('INTERNAL', 'no writer thread here')
    }
  }

  it('a large batch committed inline still waits the extra turn, so beforeCommit sends what was published with it', async () => {
    const table = new ThreadlessSqliteTable({ dataDir: await tempDir(), namespace: 'threadless' })
    const seen: boolean[] = []
    let delivered = false
    const store = new WriteBehindStore(table, { offloadRows: 2, beforeCommit: () => seen.push(delivered) })
    try {
      store.save(makeJob('a', 1))
      store.save(makeJob('b', 2))
      // What the master published in the saves' turn: Aedes hands it to the sockets a setImmediate later.
      setImmediate(() => {
        delivered = true
      })
      await store.flush()
      expect(table.stateOf('b')).toBe('queued')
      expect(seen).toEqual([true])
    } finally {
      await store.close()
    }
  })

  it('counts() after a batch the writer committed but reported failed (a reply lost) are the table\'s', async () => {
    /** Commits each batch, then reports the second one failed, as a thread dying after COMMIT would. */
    class AckLosingTable extends MemoryJobTable {
      writes = 0
      openWriter(): BatchWriter {
        const table = this
        return {
          usable: true,
          async write(rows: readonly JobRow[]): Promise<void> {
            table.commit(rows)
            if (++table.writes === 2) throw new EdgerunError('STORE_WRITE_FAILED', 'reply lost after commit')
          },
          async close() {},
        }
      }
    }
    const table = new AckLosingTable()
    const store = new WriteBehindStore(table, { offloadRows: 1 })
    try {
      store.save(makeJob('a', 1))
      await store.flush()
      expect(store.counts().queued).toBe(1)
      store.save(makeJob('b', 2))
      await expect(store.flush()).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' })
      expect(table.counts().queued).toBe(2)
      expect(store.counts().queued).toBe(2)
      await store.flush() // the retry
      expect(store.counts().queued).toBe(2)
    } finally {
      await store.close()
    }
  })
})

describe('borrowed records checked at their commit', () => {
  it('one bad record is refused alone: the others of its batch are kept, read and committed, and the commit does not throw', async () => {
    const table = new SqliteJobTable({ dataDir: await tempDir(), namespace: 'borrowed' })
    const store = new WriteBehindStore(table, { borrow: true })
    try {
      store.save(makeJob('a', 1))
      store.save({ ...makeJob('bad', 2), seq: 2.5 }) // a caller's bug, found only when serialized
      store.save(makeJob('c', 3))
      expect(() => store.list({ limit: 10 })).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
      expect(store.list({ limit: 10 }).map((job) => job.id)).toEqual(['c', 'a'])
      expect(store.get('c')?.id).toBe('c')
      store.save({ ...makeJob('bad2', 4), priority: Number.NaN })
      store.save(makeJob('d', 5))
      await store.flush()
      expect([table.get('a'), table.get('c'), table.get('d')].every((json) => json !== undefined)).toBe(true)
      expect(table.get('bad') ?? table.get('bad2')).toBeUndefined()
    } finally {
      await store.close()
    }
  })
})
