/**
 * The lease's own thread (docs/storage.md, "Lease"), plain JS run with `eval` as the store's
 * reader thread is: its own event loop and its own Postgres connection, so that a master whose
 * event loop is busy (a big batch, a synchronous read, a starved CPU) keeps renewing and is not
 * deposed while healthy.
 *
 * It owns the lease's state and publishes it to the main thread through shared memory, read
 * synchronously before anything the master sends: `shared[0]` is the monotonic time
 * (process.hrtime, nanoseconds, the same clock in every thread) until which the lease is
 * certainly held, `shared[1]` the term held (0: none). On deposition both are zeroed before the
 * main thread is told, so the main thread can never act on a lease the thread gave up.
 *
 * Messages from the main thread: `contend` (stand by for the lease; after a deposition the
 * thread waits for the next `contend`, so a master that is still stepping down never wins
 * again), `stepDown` (give up this term: a refused write, a lapse seen first by the main
 * thread), `release` (a clean stop) and `close`. To it: `ready`/`failed` once, `elected`,
 * `deposed`, `reachable` (Postgres answered again, or stopped answering), `log` and
 * `closed`.
 */
export const LEASE_THREAD_SOURCE = String.raw`
const { workerData, parentPort } = require('node:worker_threads')
const pg = require(workerData.modulePath)
const { url, namespace, holder, ttlMs, renewMs, pollMs, connectTimeoutMs, sql, channel } = workerData
const shared = new BigInt64Array(workerData.shared)
// A renewal sent at t makes the server extend the lease to (its now >= t) + ttl: held surely until t + window.
const marginMs = Math.min(200, Math.floor(ttlMs / 4))
const windowNs = BigInt(ttlMs - marginMs) * 1000000n
let client, connecting, term, validUntil = 0n, timer, deadlineTimer, busy = false, again = false
let contending = false, stopped = false, lastError = ''

const now = () => process.hrtime.bigint()
const post = (message) => parentPort.postMessage(message)
const log = (level, msg, fields) => post({ type: 'log', level, msg, fields })

function publish(held, until) {
  if (held === undefined) { Atomics.store(shared, 1, 0n); Atomics.store(shared, 0, 0n); return }
  Atomics.store(shared, 0, until)
  Atomics.store(shared, 1, BigInt(held))
}

function drop(c) {
  if (client === c) client = undefined
  c.end().catch(() => {})
}

function connection() {
  if (client) return Promise.resolve(client)
  connecting ??= (async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, query_timeout: ttlMs })
    c.on('error', () => drop(c))
    c.on('end', () => { if (client === c) client = undefined })
    // A released lease: a standby tries now rather than at its next poll.
    c.on('notification', (note) => { if (note.payload === namespace && term === undefined && contending) void tick() })
    try {
      await c.connect()
      await c.query('LISTEN ' + channel)
    } catch (error) {
      c.end().catch(() => {})
      throw error
    } finally {
      connecting = undefined
    }
    client = c
    return c
  })()
  return connecting
}

async function tick() {
  if (stopped) return
  if (busy) { again = true; return }
  busy = true
  clearTimeout(timer)
  let c
  try {
    if (term !== undefined) { c = await connection(); await renew(c, term) }
    else if (contending) { c = await connection(); await acquire(c) }
    if (c) reachable(true)
  } catch (error) {
    failed(error)
    reachable(false)
    // A timed-out query leaves the connection in doubt: the next tick opens another.
    if (c) drop(c)
  } finally {
    busy = false
  }
  if (stopped) return
  const next = again ? 0 : term === undefined ? pollMs : renewMs
  again = false
  timer = setTimeout(tick, next)
}

async function acquire(c) {
  const sentAt = now()
  const { rows } = await c.query(sql.acquire, [namespace, holder, ttlMs])
  lastError = ''
  if (rows.length === 0) return
  const won = Number(rows[0].term)
  if (stopped || !contending) {
    // Told to stop contending while the query ran: give it straight back.
    await c.query(sql.release, [namespace, holder, won]).catch(() => {})
    return
  }
  term = won
  validUntil = sentAt + windowNs
  publish(term, validUntil)
  armDeadline()
  post({ type: 'elected', term })
}

async function renew(c, held) {
  const sentAt = now()
  const { rows } = await c.query(sql.renew, [namespace, holder, held, ttlMs])
  lastError = ''
  if (term !== held) return
  if (rows.length === 0) return depose('another master holds the lease')
  // Sent after the lease could already have run out: the lease was not held throughout.
  if (sentAt >= validUntil) return depose('no renewal succeeded within ' + (ttlMs - marginMs) + ' ms')
  validUntil = sentAt + windowNs
  publish(term, validUntil)
  armDeadline()
}

function armDeadline() {
  clearTimeout(deadlineTimer)
  const waitMs = Number(validUntil - now()) / 1e6
  deadlineTimer = setTimeout(() => {
    if (term === undefined) return
    if (now() >= validUntil) depose('no renewal succeeded within ' + (ttlMs - marginMs) + ' ms')
    else armDeadline()
  }, Math.max(0, Math.ceil(waitMs)))
}

/** Gives the term up: zeroed for the main thread first, released in the database (best effort, so a standby need not wait for the expiry), then told. */
function depose(reason) {
  const held = term
  if (held === undefined) return
  term = undefined
  contending = false
  publish(undefined)
  clearTimeout(deadlineTimer)
  if (client) client.query(sql.release, [namespace, holder, held]).catch(() => {})
  post({ type: 'deposed', term: held, reason })
}

/** Told on each change: while Postgres is unreachable no master can be active (standbys hold their submits). */
let wasReachable = true
function reachable(ok) {
  if (ok === wasReachable) return
  wasReachable = ok
  post({ type: 'reachable', ok })
}

/** Logged once per distinct failure, not at every poll of a Postgres outage. */
function failed(error) {
  const message = (error && error.message) || String(error)
  if (message === lastError) return
  lastError = message
  log('warn', 'lease query failed', { error: message })
}

async function finish(release) {
  stopped = true
  clearTimeout(timer)
  clearTimeout(deadlineTimer)
  const held = term
  term = undefined
  publish(undefined)
  if (release && held !== undefined) {
    try {
      const c = await connection()
      await c.query(sql.release, [namespace, holder, held])
    } catch (error) {
      log('warn', 'could not release the lease; it runs out by itself', { error: (error && error.message) || String(error), term: held })
    }
  }
  if (client) await client.end().catch(() => {})
  post({ type: 'closed' })
  parentPort.close()
}

parentPort.on('message', (m) => {
  if (m.type === 'contend') { if (!stopped) { contending = true; if (term === undefined) void tick() } }
  else if (m.type === 'stepDown') { if (term !== undefined && term === m.term) depose(m.reason) }
  else if (m.type === 'release') void finish(true)
  else if (m.type === 'close') void finish(false)
})

connection().then(() => post({ type: 'ready' }), (error) => post({ type: 'failed', error: (error && error.message) || String(error) }))
`
