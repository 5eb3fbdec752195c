import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { HOLDER_SQL } from '../../broker/lease/lease-sql.js'
import { PgLease, type LeaseOptions } from '../../broker/lease/pg-lease.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import { PostgresJobStore } from '../../broker/store/postgres-store.js'
import { silentLogger } from '../../src/logging/logger.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { usePostgres } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'

/** The lease and the fence on a real PostgreSQL (docs/storage.md, "Lease"). */
const server = usePostgres()

const timing = { ttlMs: 600, renewMs: 100, pollMs: 50 }

function lease(url: string, namespace: string, holder: string, times: Pick<LeaseOptions, 'ttlMs' | 'renewMs' | 'pollMs'> = timing): PgLease & { events: string[] } {
  const options: LeaseOptions = { url, namespace, holder, ...times, logger: silentLogger() }
  const l = Object.assign(new PgLease(options), { events: [] as string[] })
  l.on('elected', (term) => l.events.push(`elected ${term}`))
  l.on('deposed', (term, reason) => l.events.push(`deposed ${term}: ${reason}`))
  return l
}

function job(id: string, seq: number): JobRecord {
  const now = Date.now()
  return {
    id,
    seq,
    spec: { kind: 'noop', id, priority: 0, timeoutMs: 60_000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: false },
    state: 'queued',
    attempt: 0,
    charged: 0,
    node: null,
    epoch: null,
    owner: null,
    replyTo: 'x/reply/c',
    priority: 0,
    history: [],
    createdAt: now,
    updatedAt: now,
  }
}

describe('the masters\' lease', () => {
  it('one holder at a time; a clean release hands the lease over at once, with a higher term', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    // A lease of a minute and a standby that polls every 50 s: only the release's NOTIFY can
    // hand it over within the wait below.
    const slow = { ttlMs: 60_000, renewMs: 1_000, pollMs: 50_000 }
    const a = lease(url, ns, 'a', slow)
    const b = lease(url, ns, 'b', slow)
    a.start()
    await waitFor(() => a.heldTerm, { what: 'a elected' })
    // Connected, so listening for the NOTIFY, before it starts contending.
    await b.ready()
    b.start()
    await a.release()
    await waitFor(() => b.heldTerm, { what: 'b elected on the NOTIFY', timeoutMs: 10_000 })
    expect(a.events).toEqual(['elected 1'])
    expect(b.heldTerm).toBe(2)
    await b.release()
  })

  it('a holder that stops renewing (a paused or killed master) is replaced once the lease runs out, and steps down by itself', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    const a = lease(url, ns, 'a')
    a.start()
    await waitFor(() => a.heldTerm, { what: 'a elected' })
    // a's connection dies (as with kill -9): no more renewals reach the database.
    await a.close()
    const b = lease(url, ns, 'b')
    b.start()
    await waitFor(() => b.heldTerm, { what: 'b elected after expiry', timeoutMs: 5_000 })
    expect(b.heldTerm).toBe(2)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    const { rows } = await client.query(HOLDER_SQL, [ns])
    expect(rows[0]).toMatchObject({ holder: 'b', term: '2', live: true })
    await client.end()
    await b.release()
  })

  it('the local deadline deposes a holder whose renewals fail, before the database could give the lease away', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    const a = lease(url, ns, 'a')
    a.start()
    await waitFor(() => a.heldTerm, { what: 'a elected' })
    // Another session takes the row lock: a's renewals hang.
    const blocker = new pg.Client({ connectionString: url })
    await blocker.connect()
    await blocker.query('BEGIN')
    await blocker.query('SELECT * FROM edgerun_leases WHERE ns = $1 FOR UPDATE', [ns])
    await waitFor(() => a.events.some((e) => e.startsWith('deposed 1: no renewal')), { what: 'a deposed by its deadline', timeoutMs: 3_000 })
    await blocker.query('ROLLBACK')
    await blocker.end()
    await a.close()
  })

  it('a holder whose event loop is blocked for twice the ttl keeps its lease: the renewals run on their own thread', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    // Room for the threads themselves to be scheduled late on a loaded machine.
    const roomy = { ttlMs: 1_500, renewMs: 150, pollMs: 100 }
    const a = lease(url, ns, 'a', roomy)
    a.start()
    const term = await waitFor(() => a.heldTerm, { what: 'a elected' })
    const b = lease(url, ns, 'b', roomy)
    await b.ready()
    b.start()
    // As a big batch or a synchronous read would, on a loaded machine.
    blockEventLoop(roomy.ttlMs * 2)
    expect(a.holds(term)).toBe(true)
    expect(b.heldTerm).toBeUndefined()
    // Whatever the threads said meanwhile is delivered now: neither deposed nor elected.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(a.events).toEqual([`elected ${term}`])
    expect(b.events).toEqual([])
    await Promise.all([a.release(), b.close()])
  })

  it('a holder whose renewals stall while its event loop is blocked sees the lapse at once when the loop wakes, before any message', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    const a = lease(url, ns, 'a')
    a.start()
    const term = await waitFor(() => a.heldTerm, { what: 'a elected' })
    const blocker = new pg.Client({ connectionString: url })
    await blocker.connect()
    await blocker.query('BEGIN')
    await blocker.query('SELECT * FROM edgerun_leases WHERE ns = $1 FOR UPDATE', [ns])
    blockEventLoop(timing.ttlMs * 2)
    // Read synchronously, before the thread's `deposed` message could be handled.
    expect(a.holds(term)).toBe(false)
    expect(a.events).toEqual([`elected ${term}`])
    await waitFor(() => a.events.length > 1, { what: 'the deposed event' })
    await blocker.query('ROLLBACK')
    await blocker.end()
    await a.close()
  })

  it('after a deposition it contends again only when told to', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('lease')
    const a = lease(url, ns, 'a')
    a.start()
    const term = await waitFor(() => a.heldTerm, { what: 'a elected' })
    a.stepDown('told to', term)
    await waitFor(() => a.events.length === 2, { what: 'a deposed' })
    expect(a.events[1]).toBe(`deposed ${term}: told to`)
    // Released at the deposition: free for anyone, but a waits for contend().
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs * 4))
    expect(a.heldTerm).toBeUndefined()
    a.contend()
    await waitFor(() => a.heldTerm, { what: 'a elected again' })
    expect(a.heldTerm).toBe(term + 1)
    await a.release()
  })
})

/** Holds this thread's event loop, as a long synchronous piece of work does. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy
  }
}

describe('the fence', () => {
  it('a store opened under a stale term cannot write, and the current one can', async () => {
    const url = await server.createSchema()
    const ns = uniqueNamespace('fence')
    const a = lease(url, ns, 'a')
    a.start()
    const termA = await waitFor(() => a.heldTerm, { what: 'a elected' })
    const stale = await PostgresJobStore.open({ url, namespace: ns, fence: { holder: 'a', term: termA } })
    stale.save(job('before', 1))
    await stale.flush()
    // b takes over (a released), then a's store writes again under its old term.
    await a.release()
    const b = lease(url, ns, 'b')
    b.start()
    const termB = await waitFor(() => b.heldTerm, { what: 'b elected' })
    stale.save(job('after', 2))
    await expect(stale.flush()).rejects.toMatchObject({ code: 'STALE_TERM' })
    const current = await PostgresJobStore.open({ url, namespace: ns, fence: { holder: 'b', term: termB } })
    expect(current.get('before')?.id).toBe('before')
    expect(current.get('after')).toBeUndefined()
    current.save(job('by-b', 3))
    await current.flush()
    expect(current.get('by-b')?.id).toBe('by-b')
    await Promise.all([current.close(), stale.close().catch(() => {}), b.release()])
  })
})
