import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker } from '../../broker/broker.js'
import { SqliteJobStore } from '../../broker/store/sqlite-store.js'
import { admittedRecord } from '../../broker/store/job-record.js'
import { PROTOCOL_VERSION, encode, jobSpecSchema, topics } from '../../src/protocol/index.js'
import { report, roleConfig } from '../lib/child.js'
import { rawClient } from '../lib/raw-mqtt.js'

/**
 * Dispatch rate with `queued` jobs waiting: a fresh node with `batch` slots appears, and we time
 * how fast the master hands it `batch` assignments. Runs in its own process so its RSS is the
 * master's alone.
 */
const config = roleConfig<{ queued: number; batch: number; rounds: number; reuseDir?: string }>()
const ns = 'scale'
// reuseDir: seed once, then profile the master alone on later runs (`node --cpu-prof`).
const dataDir = config.reuseDir ?? mkdtempSync(join(tmpdir(), 'edgerun-scale-'))
const seeded = config.reuseDir !== undefined && existsSync(join(dataDir, 'jobs.db'))
const gc = (globalThis as { gc?: () => void }).gc
try {
  const seedStart = performance.now()
  // Seeding is not what is measured: commit inline, so no writer thread's memory stays behind.
  const store = SqliteJobStore.open({ dataDir, offloadRows: Number.POSITIVE_INFINITY })
  const now = Date.now()
  // The spec's defaults come from the protocol's schema, like a submit's.
  const spec = jobSpecSchema.parse({ id: 'q-0', kind: 'noop', maxAttempts: 100, progress: false })
  for (let i = 0; i < (seeded ? 0 : config.queued); i++) {
    const job = admittedRecord({ ...spec, id: `q-${i}` }, { replyTo: `${ns}/reply/seed`, owner: 'seed', seq: i + 1, now })
    store.save(job)
    if (i % 20_000 === 19_999) await store.flush()
  }
  await store.close()
  const seedMs = performance.now() - seedStart
  const loadStart = performance.now()
  const broker = await startBroker({ port: 0, store: 'sqlite', dataDir, master: { namespace: ns, ackTimeoutMs: 600_000 } })
  const loadMs = performance.now() - loadStart
  gc?.()
  const rssMb = process.memoryUsage().rss / 2 ** 20
  const rates: number[] = []
  const commitShare: number[] = []
  // Where a round's time goes: the store's commits of the rows it assigned are inside it.
  let commitMs = 0
  const live = broker.store as unknown as { commit: () => unknown }
  const commit = live.commit.bind(live)
  live.commit = () => {
    const t = performance.now()
    const r = commit()
    commitMs += performance.now() - t
    return r
  }
  for (let round = 0; round < config.rounds; round++) {
    const node = `scale-${round}`
    const client = await rawClient(broker.url, `scale-node-${round}`)
    let assigned = 0
    let resolveDone!: () => void
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    client.on('message', () => {
      if (++assigned === config.batch) resolveDone()
    })
    await client.subscribeAsync(topics.nodeAssign(ns, node), { qos: 0 })
    const started = performance.now()
    const birth = { v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch: `scale${round}.1`, slots: config.batch, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: 'bench', ts: Date.now() }
    client.publish(topics.nodeState(ns, node), encode(birth), { qos: 1 })
    const commit0 = commitMs
    await done
    const roundMs = performance.now() - started
    rates.push((config.batch / roundMs) * 1000)
    commitShare.push((commitMs - commit0) / roundMs)
    // Its will-less exit: tell the master it is gone so the jobs go back to the queue.
    await client.publishAsync(topics.nodeState(ns, node), encode({ ...birth, state: 'offline', ts: Date.now() }), { qos: 1 })
    await client.endAsync()
    const deadline = Date.now() + 30_000
    while (broker.master.ctx.queue.size < config.queued && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await broker.close()
  // The first three rounds warm the JIT; the median of the rest is the figure.
  const measured = rates.slice(Math.min(3, rates.length - 1)).sort((a, b) => a - b)
  report({ queued: config.queued, seedMs, loadMs, rssMb, dispatchPerSec: measured[Math.floor(measured.length / 2)], rounds: rates.map(Math.round), commitShare: commitShare.map((x) => Math.round(x * 100) / 100) })
} finally {
  if (!config.reuseDir) rmSync(dataDir, { recursive: true, force: true })
}
process.exit(0)
