import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startBroker } from '../../broker/broker.js'
import { SqliteJobStore } from '../../broker/store/sqlite-store.js'
import { PostgresJobStore } from '../../broker/store/postgres-store.js'
import { admittedRecord } from '../../broker/store/job-record.js'
import { PROTOCOL_VERSION, encode, jobSpecSchema, topics, type NodeStateMessage } from '../../src/protocol/index.js'
import { report, roleConfig } from '../lib/child.js'
import { rawClient } from '../lib/raw-mqtt.js'

/**
 * Dispatch rate with `queued` jobs waiting: a fresh node with `batch` slots appears, and we time
 * how fast the master hands it `batch` assignments. Then the node finishes them and as many new
 * jobs are submitted, so every round takes the next jobs of a queue that stays `queued` deep:
 * at 1 M those come from deep in the store, not from the jobs the round before gave back.
 * Runs in its own process so its RSS is the master's alone.
 *
 * With `driven`, it prints `ready` once loaded and runs one round per `round` line on stdin,
 * printing `{"round":…}` after each, until `end`: the scenario interleaves the rounds of several
 * queue sizes, so a machine that slows down for a while slows them all. SCALE_WINDOWS=1 prints
 * each timed round's start and end on the CPU profile's clock (µs), for profile-window.js.
 */
const config = roleConfig<{ queued: number; batch: number; rounds: number; reuseDir?: string; driven?: boolean; master?: Record<string, number>; postgresUrl?: string }>()
const ns = 'scale'
// reuseDir: seed once, then profile the master alone on later runs (`node --cpu-prof`).
const dataDir = config.reuseDir ?? mkdtempSync(join(tmpdir(), 'edgerun-scale-'))
const seeded = config.reuseDir !== undefined && existsSync(join(dataDir, 'jobs.db'))
const gc = (globalThis as { gc?: () => void }).gc
const submitter = 'scale-submitter'
/** Before each round: a burst meets a master at rest, as when a node joins a quiet cluster. */
const REST_MS = 50
// New jobs need ids no earlier run left in a reused store.
const run = Date.now().toString(36)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
try {
  const seedStart = performance.now()
  // Seeding is not what is measured: commit inline, so no writer thread's memory stays behind.
  // With postgresUrl, the same jobs go to Postgres (bench/scenarios/postgres.ts).
  const store = config.postgresUrl
    ? await PostgresJobStore.open({ url: config.postgresUrl, namespace: ns })
    : SqliteJobStore.open({ dataDir, namespace: ns, offloadRows: Number.POSITIVE_INFINITY })
  const now = Date.now()
  // The spec's defaults come from the protocol's schema, like a submit's.
  const spec = jobSpecSchema.parse({ id: 'q-0', kind: 'noop', progress: false })
  for (let i = 0; i < (seeded ? 0 : config.queued); i++) {
    const job = admittedRecord({ ...spec, id: `q-${i}` }, { replyTo: topics.reply(ns, submitter), owner: submitter, seq: i + 1, now })
    store.save(job)
    if (i % 20_000 === 19_999) await store.flush()
  }
  await store.close()
  const seedMs = performance.now() - seedStart
  const loadStart = performance.now()
  const where = config.postgresUrl ? ({ store: 'postgres', postgresUrl: config.postgresUrl } as const) : ({ store: 'sqlite', dataDir } as const)
  const broker = await startBroker({ port: 0, ...where, master: { namespace: ns, ackTimeoutMs: 600_000, ...config.master } })
  const loadMs = performance.now() - loadStart
  gc?.()
  const rssMb = process.memoryUsage().rss / 2 ** 20
  const { master } = broker
  const queuedAtStart = master.queued
  const submits = await rawClient(broker.url, submitter)
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
  const waitFor = async (what: string, done: () => boolean, detail: () => string): Promise<void> => {
    const deadline = Date.now() + 60_000
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`scale: timed out waiting for ${what} (${detail()})`)
      await sleep(5)
    }
  }

  const runRound = async (round: number): Promise<{ perSec: number; commitShare: number }> => {
    await sleep(REST_MS)
    const node = `scale-${round}`
    const epoch = `scale${round}.1`
    const client = await rawClient(broker.url, `scale-node-${round}`)
    const assigns: Array<{ jobId: string; attempt: number }> = []
    let resolveDone!: () => void
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    client.on('message', (_topic, payload) => {
      // No validation: the client's cost is not what is measured, and the master's own tests check assigns.
      const assign = JSON.parse(payload.toString()) as { job: { id: string }; attempt: number }
      if (assigns.length < config.batch) assigns.push({ jobId: assign.job.id, attempt: assign.attempt })
      if (assigns.length === config.batch) resolveDone()
    })
    await client.subscribeAsync(topics.nodeAssign(ns, node), { qos: 0 })
    const started = performance.now()
    const hr0 = process.hrtime.bigint() / 1000n
    const birth: NodeStateMessage = { v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch, slots: config.batch, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: 'bench', ts: Date.now() }
    client.publish(topics.nodeState(ns, node), encode(birth), { qos: 1 })
    const commit0 = commitMs
    await done
    const roundMs = performance.now() - started
    if (process.env.SCALE_WINDOWS) process.stderr.write(`WINDOW ${hr0} ${process.hrtime.bigint() / 1000n}\n`)
    const figures = { perSec: (config.batch / roundMs) * 1000, commitShare: (commitMs - commit0) / roundMs }
    // Not timed: the node drains (so the slots its results free take nothing new) and finishes
    // its jobs, and as many new ones are queued behind the rest, so the next round again takes
    // jobs it has never seen, from a queue as deep as before.
    await client.publishAsync(topics.nodeState(ns, node), encode({ ...birth, state: 'draining', running: assigns, ts: Date.now() }), { qos: 1 })
    await Promise.all(
      assigns.map(({ jobId, attempt }) =>
        client.publishAsync(topics.nodeEvents(ns, node), encode({ v: PROTOCOL_VERSION, type: 'result', jobId, attempt, epoch, state: 'succeeded', output: null }), { qos: 1 }),
      ),
    )
    const unfinished = () => assigns.filter(({ jobId }) => master.inFlight(jobId)).length
    await waitFor('the results', () => unfinished() === 0, () => `${unfinished()} unfinished`)
    await client.publishAsync(topics.nodeState(ns, node), encode({ ...birth, state: 'offline', ts: Date.now() }), { qos: 1 })
    await client.endAsync()
    await Promise.all(
      assigns.map((_, i) =>
        submits.publishAsync(topics.submit(ns), encode({ ...spec, id: `${run}-${round}-${i}`, v: PROTOCOL_VERSION, type: 'submit', replyTo: topics.reply(ns, submitter) }), { qos: 1 }),
      ),
    )
    await waitFor('the new jobs', () => master.queued === queuedAtStart, () => `queue ${master.queued} of ${queuedAtStart}`)
    await broker.store.flush()
    return figures
  }

  const rounds: Array<{ perSec: number; commitShare: number }> = []
  if (config.driven) {
    process.stdout.write('ready\n')
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'end') break
      const figures = await runRound(rounds.length)
      rounds.push(figures)
      process.stdout.write(`${JSON.stringify({ round: figures })}\n`)
    }
  } else {
    for (let round = 0; round < config.rounds; round++) rounds.push(await runRound(round))
  }
  const counters = broker.master.counters()
  await submits.endAsync()
  await broker.close()
  // The first three rounds warm the JIT; the median of the rest is the figure.
  const rates = rounds.map((r) => r.perSec)
  const measured = rates.slice(Math.min(3, rates.length - 1)).sort((a, b) => a - b)
  report({
    queued: config.queued,
    seedMs,
    loadMs,
    rssMb,
    dispatchPerSec: measured[Math.floor(measured.length / 2)],
    rounds: rates.map(Math.round),
    commitShare: rounds.map((r) => Math.round(r.commitShare * 100) / 100),
    unparked: counters.unparked ?? 0,
    readAhead: counters.read_ahead ?? 0,
  })
} finally {
  if (!config.reuseDir) rmSync(dataDir, { recursive: true, force: true })
}
process.exit(0)
