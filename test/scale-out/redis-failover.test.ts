import type { ChildProcess } from 'node:child_process'
import mqtt from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PlainLedger } from '../chaos/plain-ledger.js'
import { requireBinary } from '../helpers/binaries.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { MasterGroup } from '../helpers/masters.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { startPostgres, type PostgresServer } from '../helpers/postgres.js'
import { spawnClusteredBroker, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { startRedis } from '../helpers/redis.js'
import { waitFor, withTimeout } from '../helpers/wait.js'

/**
 * The third topology of docs/deploy.md: Aedes brokers clustered over Redis, each with its elected
 * master (`edgerun broker --redis … --store postgres://…`), on one Postgres (docs/protocol.md
 * §7a). A whole machine is lost under load: the broker whose master is active and the worker
 * connected to it are killed -9 together. A plain mqtt.js submitter on the surviving broker must
 * see every job end with exactly one result; submits sent while no master was active included.
 */
let postgres: PostgresServer
let redis: ChildProcess | undefined
let redisUrl: string
beforeAll(async () => {
  postgres = await startPostgres()
  const port = await freePort()
  redis = await startRedis(requireBinary('redis-server'), port)
  redisUrl = `redis://127.0.0.1:${port}`
}, 60_000)
afterAll(async () => {
  redis?.kill('SIGKILL')
  await postgres?.dispose()
})

async function broker(ns: string, storeUrl: string): Promise<{ process: CliProcess; url: string }> {
  const port = await freePort()
  const child = await spawnClusteredBroker(port, redisUrl, ns, ['--store', storeUrl, '--no-http', '--log-level', 'info', '--ack-timeout', '2000', '--reconcile-timeout', '3000'])
  return { process: child, url: `mqtt://127.0.0.1:${port}` }
}

describe('failover on two Aedes brokers clustered over Redis', () => {
  const processes: CliProcess[] = []
  const groups: MasterGroup[] = []
  let submitter: PlainSubmitter | undefined
  afterEach(async () => {
    await submitter?.close()
    for (const group of groups.splice(0)) await group.close()
    for (const p of processes.splice(0)) p.kill('SIGKILL')
  })

  it('kill -9 of the machine whose broker holds the active master (the broker and its worker): 0 lost, 0 duplicated from a client on the other broker', async () => {
    const ns = uniqueNamespace('rfo')
    const storeUrl = await postgres.createSchema('rfo')
    // Machine A's broker starts first and its master wins; machine B's stands by.
    const a = await broker(ns, storeUrl)
    processes.push(a.process)
    await waitFor(() => a.process.output().includes('(active, term 1)'), { timeoutMs: 20_000, what: `broker A's master active: ${a.process.output()}` })
    const b = await broker(ns, storeUrl)
    processes.push(b.process)
    // A watcher of master state on broker B, which outlives machine A.
    const onB = await MasterGroup.start(b.url, ns, storeUrl, 0)
    groups.push(onB)
    const first = await onB.waitActive()
    expect(first.pid, 'the master in broker A is the active one').toBe(a.process.child.pid)
    await waitFor(() => onB.own.size === 2, { what: "both masters' own states" })
    const workerA = await spawnWorker(a.url, ns, 'wa', ['--slots', '4'])
    processes.push(workerA)
    for (const id of ['wb1', 'wb2']) processes.push(await spawnWorker(b.url, ns, id, ['--slots', '4']))
    submitter = await PlainSubmitter.connect(b.url, ns, 'sub')
    const ledger = new PlainLedger()
    // Worker A's retained birth, as a client of broker B sees it.
    const births = await mqtt.connectAsync(b.url, { clientId: `births-${ns}` })
    let birthA: string | undefined
    births.on('message', (_topic, payload) => (birthA = (JSON.parse(payload.toString() || '{}') as { state?: string }).state))
    await births.subscribeAsync(`${ns}/nodes/wa/state`, { qos: 1 })

    const jobs = 800
    const windowMs = 8_000
    const start = Date.now()
    let failingOver = false
    let killedAt = 0
    for (let i = 0; i < jobs; i++) {
      if (i === Math.floor(jobs * 0.4)) {
        // The machine is lost: nothing on it says goodbye.
        killedAt = Date.now()
        failingOver = true
        for (const p of [a.process, workerA]) p.kill('SIGKILL')
        void onB.waitActive(first.term, 20_000).then(() => (failingOver = false), () => {})
      }
      ledger.submit(submitter, { id: `r${i}`, kind: 'noop', sleepMs: 5 + (i % 16), maxAttempts: 10 }, failingOver)
      const due = start + ((i + 1) / jobs) * windowMs
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
    }
    await withTimeout(Promise.all([a.process.exited, workerA.exited]), 10_000, 'machine A gone')
    // Broker B publishes the will of worker A, whose broker never could, once A's heartbeat stops
    // (seconds, not the minutes of Aedes's default): the new master stops assigning to it.
    await waitFor(() => birthA === 'offline', { timeoutMs: 30_000, what: `worker A offline on broker B (last seen: ${birthA})` })
    await births.endAsync(true)
    const second = await onB.waitActive(first.term, 20_000)
    expect(second.pid, 'the master in broker B took over').toBe(b.process.child.pid)
    expect(second.at).toBeGreaterThan(killedAt)
    await waitFor(() => ledger.pending === 0, { timeoutMs: 60_000, intervalMs: 100, what: `every job answered; ${ledger.pending} still owed; ${b.process.output().slice(-5000)}` })
    const report = ledger.report()
    console.log(`redis failover: takeover ${second.at - killedAt} ms after the kill;`, JSON.stringify(report))
    expect(report.submittedDuringFailover).toBeGreaterThan(0)
    expect(report.answeredDuringFailover).toBe(report.submittedDuringFailover)
    expect(report.problems, b.process.output().slice(-5000)).toEqual([])
    expect(report.lost).toBe(0)
    expect(report.duplicated).toBe(0)
    // A job the cluster gave up on (MAX_LOST, say) did not survive the loss of the machine either.
    const failed = Array.from({ length: jobs }, (_, i) => submitter!.resultOf(`r${i}`)).filter((result) => result && result.state !== 'succeeded')
    expect(report.states, `failed: ${JSON.stringify(failed.slice(0, 5))}\n${b.process.output().slice(-5000)}`).toEqual({ succeeded: jobs })
    // The submitter never lost its connection, so it never resubmitted.
    expect(submitter.connects).toBe(1)
  }, 150_000)
})
