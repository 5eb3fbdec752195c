import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { freePort } from '../../test/helpers/ports.js'
import { BIN } from '../lib/cluster.js'
import { childExecArgv, startRole, type RoleProcess } from '../lib/child.js'
import { processCpuMs } from '../lib/cpu.js'
import { round } from '../lib/stats.js'

export interface FleetFigures {
  workers: number
  simProcesses: number
  /** From spawning the simulators until the master's `stats` counts every node online. */
  connectAllMs: number | null
  /** From the restart after a kill -9 of the broker-master until every node is online again. */
  restartAllMs: number | null
  brokerRssMb: number
  /**
   * CPU the broker-master and the simulators spent on the cold storm: on a loaded machine the
   * wall-clock storm is mostly waiting for a core, and these say what it costs.
   */
  brokerCpuMsColdStorm: number
  simCpuMsColdStorm: number
  brokerCpuMsRestartStorm: number
  /** Noop jobs/s with `workers` nodes of 1 slot ÷ with 10 nodes of workers/10 slots, same run. */
  dispatchWideJobsPerSec: number | null
  dispatchNarrowJobsPerSec: number | null
  dispatchRatio: number | null
  /** Broker-master CPU per job, narrow ÷ wide: the ratio of what each costs, whatever the load. */
  dispatchWideBrokerCpuUsPerJob: number | null
  dispatchNarrowBrokerCpuUsPerJob: number | null
  dispatchCpuRatio: number | null
  /** The simulated workers' CPU per job: one socket each costs them a write per message. */
  dispatchWideSimCpuUsPerJob: number | null
  dispatchNarrowSimCpuUsPerJob: number | null
  loadAvg1m: number
}

export interface FleetSizes {
  workers: number
  /** Simulator processes sharing the fleet (1–2: each costs a core of its own). */
  simProcesses: number
  jobs: number
  stormTimeoutMs: number
}

/**
 * A fleet of simulated workers (bench/roles/fleet-sim.ts: plain mqtt.js, written from
 * docs/protocol.md) against a real `edgerun broker` process: the cold-start connect storm, the
 * storm after a kill -9 and restart of the broker-master, the broker's RSS with the fleet online,
 * and noop dispatch across the wide fleet against a narrow fleet of the same total slots.
 * Progress is read the way an operator would: the master's `stats` rpc over MQTT.
 */
export async function measureFleet(sizes: FleetSizes, log: (line: string) => void = () => {}): Promise<FleetFigures> {
  const ns = `fleet-${randomBytes(3).toString('hex')}`
  const dataDir = mkdtempSync(join(tmpdir(), 'edgerun-fleet-'))
  const port = await freePort()
  const url = `mqtt://127.0.0.1:${port}`
  // Headroom over the fleet for the observer and the submitter (docs/security.md, "Connection limits").
  const maxConnections = Math.max(10_000, sizes.workers + 1_000)
  let broker = await startBrokerProcess(port, dataDir, ns, maxConnections, Math.max(10_000, sizes.workers))
  const sims: RoleProcess<unknown>[] = []
  let observer: MqttClient | undefined
  const figures: FleetFigures = {
    workers: sizes.workers,
    simProcesses: sizes.simProcesses,
    connectAllMs: null,
    restartAllMs: null,
    brokerRssMb: 0,
    brokerCpuMsColdStorm: 0,
    simCpuMsColdStorm: 0,
    brokerCpuMsRestartStorm: 0,
    dispatchWideJobsPerSec: null,
    dispatchNarrowJobsPerSec: null,
    dispatchRatio: null,
    dispatchWideBrokerCpuUsPerJob: null,
    dispatchNarrowBrokerCpuUsPerJob: null,
    dispatchCpuRatio: null,
    dispatchWideSimCpuUsPerJob: null,
    dispatchNarrowSimCpuUsPerJob: null,
    loadAvg1m: round(loadavg()[0]!, 1),
  }
  try {
    observer = await observe(url)
    const online = onlineCounter(observer, ns)
    const brokerCpu0 = processCpuMs(broker.pid)
    const started = performance.now()
    const per = Math.ceil(sizes.workers / sizes.simProcesses)
    for (let p = 0; p < sizes.simProcesses; p++) {
      const count = Math.min(per, sizes.workers - p * per)
      sims.push(startRole('fleet-sim', { url, ns, prefix: 'n', from: p * per, count, slots: 1 }))
    }
    await untilOnline(online, sizes.workers, sizes.stormTimeoutMs, log)
    figures.connectAllMs = round(performance.now() - started, 0)
    figures.brokerCpuMsColdStorm = round(processCpuMs(broker.pid) - brokerCpu0, 0)
    figures.simCpuMsColdStorm = round(sims.reduce((sum, sim) => sum + processCpuMs(sim.child.pid), 0), 0)
    figures.brokerRssMb = rssMb(broker)
    log(`  cold start: ${figures.connectAllMs} ms (CPU: broker ${figures.brokerCpuMsColdStorm} ms, simulators ${figures.simCpuMsColdStorm} ms), broker RSS ${figures.brokerRssMb} MB`)

    const simCpu = () => sims.reduce((sum, sim) => sum + processCpuMs(sim.child.pid), 0)
    let cpu0 = processCpuMs(broker.pid)
    let sim0 = simCpu()
    figures.dispatchWideJobsPerSec = await dispatch(url, ns, sizes.jobs)
    figures.dispatchWideBrokerCpuUsPerJob = round(((processCpuMs(broker.pid) - cpu0) * 1000) / sizes.jobs, 0)
    figures.dispatchWideSimCpuUsPerJob = round(((simCpu() - sim0) * 1000) / sizes.jobs, 0)
    log(`  dispatch, ${sizes.workers} nodes × 1 slot: ${figures.dispatchWideJobsPerSec} jobs/s, CPU/job: broker ${figures.dispatchWideBrokerCpuUsPerJob} µs, simulators ${figures.dispatchWideSimCpuUsPerJob} µs`)

    broker.kill('SIGKILL')
    await new Promise((resolve) => broker.once('exit', resolve))
    observer.end(true)
    const restarted = performance.now()
    broker = await startBrokerProcess(port, dataDir, ns, maxConnections, Math.max(10_000, sizes.workers))
    observer = await observe(url)
    await untilOnline(onlineCounter(observer, ns), sizes.workers, sizes.stormTimeoutMs, log)
    figures.restartAllMs = round(performance.now() - restarted, 0)
    figures.brokerCpuMsRestartStorm = round(processCpuMs(broker.pid), 0)
    log(`  after kill -9 and restart: ${figures.restartAllMs} ms (broker CPU from its start: ${figures.brokerCpuMsRestartStorm} ms)`)

    for (const sim of sims.splice(0)) sim.kill()
    const narrowNodes = 10
    const narrow = startRole('fleet-sim', { url, ns, prefix: 'wide', from: 0, count: narrowNodes, slots: Math.ceil(sizes.workers / narrowNodes) })
    sims.push(narrow)
    await untilOnline(onlineCounter(observer, ns), narrowNodes, sizes.stormTimeoutMs, log)
    cpu0 = processCpuMs(broker.pid)
    sim0 = simCpu()
    figures.dispatchNarrowJobsPerSec = await dispatch(url, ns, sizes.jobs)
    figures.dispatchNarrowBrokerCpuUsPerJob = round(((processCpuMs(broker.pid) - cpu0) * 1000) / sizes.jobs, 0)
    figures.dispatchNarrowSimCpuUsPerJob = round(((simCpu() - sim0) * 1000) / sizes.jobs, 0)
    figures.dispatchRatio = round(figures.dispatchWideJobsPerSec / figures.dispatchNarrowJobsPerSec, 2)
    figures.dispatchCpuRatio = round(figures.dispatchNarrowBrokerCpuUsPerJob / figures.dispatchWideBrokerCpuUsPerJob, 2)
    log(`  dispatch, ${narrowNodes} nodes × ${Math.ceil(sizes.workers / narrowNodes)} slots: ${figures.dispatchNarrowJobsPerSec} jobs/s, CPU/job: broker ${figures.dispatchNarrowBrokerCpuUsPerJob} µs, simulator ${figures.dispatchNarrowSimCpuUsPerJob} µs`)
    return figures
  } finally {
    for (const sim of sims) sim.kill()
    observer?.end(true)
    broker.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function startBrokerProcess(port: number, dataDir: string, ns: string, maxConnections: number, maxWorkers: number): Promise<ChildProcess> {
  const args = ['broker', '--port', String(port), '--data-dir', dataDir, '--namespace', ns, '--max-connections', String(maxConnections), '--max-workers', String(maxWorkers), '--log-level', 'silent']
  const child = spawn(process.execPath, [...childExecArgv(), BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (chunk) => (out += chunk))
  child.stderr!.on('data', (chunk) => (out += chunk))
  const deadline = Date.now() + 30_000
  while (!out.includes('listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`broker did not start: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return child
}

function observe(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: `fleet-observer-${randomBytes(3).toString('hex')}`, protocolVersion: 4, clean: true, reconnectPeriod: 0, log: () => {} })
}

/** Polls the master's `stats` (docs/protocol.md §6) and returns the latest `nodes.online`. */
function onlineCounter(client: MqttClient, ns: string): () => Promise<number> {
  const replyTo = `${ns}/reply/${client.options.clientId}`
  const waiting = new Map<string, (online: number) => void>()
  client.on('message', (topic, payload) => {
    if (topic !== replyTo) return
    const reply = JSON.parse(payload.toString()) as { correlationId: string; result?: { nodes: { online: number } } }
    waiting.get(reply.correlationId)?.(reply.result?.nodes.online ?? 0)
    waiting.delete(reply.correlationId)
  })
  const subscribed = client.subscribeAsync(replyTo, { qos: 1 })
  let seq = 0
  return async () => {
    await subscribed
    const id = `s-${seq++}`
    const answer = new Promise<number>((resolve) => waiting.set(id, resolve))
    client.publish(`${ns}/rpc`, JSON.stringify({ v: 1, type: 'rpc', id, method: 'stats', replyTo }), { qos: 1 })
    return Promise.race([answer, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5_000))])
  }
}

async function untilOnline(online: () => Promise<number>, count: number, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 0
  let lastLog = Date.now()
  for (;;) {
    const n = await online()
    if (n >= 0) last = n
    if (last === count) return
    if (Date.now() > deadline) throw new Error(`fleet bench: ${last} of ${count} nodes online after ${timeoutMs} ms`)
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now()
      log(`    … ${last} of ${count} online`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function dispatch(url: string, ns: string, jobs: number): Promise<number> {
  const submitter = startRole<{ jobsPerSec: number }>('plain-submitter', { url, ns, mode: 'throughput', total: jobs, inFlight: 1_000, noDelay: true })
  try {
    return round((await submitter.result).jobsPerSec, 0)
  } finally {
    submitter.kill()
  }
}

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return round(kb / 1024, 0)
}
