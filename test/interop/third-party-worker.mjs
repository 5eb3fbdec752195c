#!/usr/bin/env node
// A worker written from docs/protocol.md alone (§8, §9, §13), the way a third party would write
// one: plain mqtt.js, topics and JSON by hand, nothing from edgerun's own sources. It runs `noop`
// jobs and the commands given with --command NAME=PATH. test/interop/third-party-worker.test.ts
// runs it against a real broker-master. It prints one line per connection: `online {epoch}`.
//
//   node third-party-worker.mjs --url mqtt://127.0.0.1:1883 --ns edgerun --id w9 [--slots 2] [--command echo=/bin/echo]…
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'

const opts = { url: 'mqtt://127.0.0.1:1883', ns: 'edgerun', id: '', slots: '2', commands: {} }
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i].replace(/^--/, ''), process.argv[i + 1]]
  if (flag === 'command') opts.commands[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1)
  else opts[flag] = value
}
const { url, ns, id, commands } = opts
const slots = Number(opts.slots)
const T = {
  state: `${ns}/nodes/${id}/state`,
  assign: `${ns}/nodes/${id}/assign`,
  control: `${ns}/nodes/${id}/control`,
  events: `${ns}/nodes/${id}/events`,
  master: `${ns}/master/state`,
}

// §3: one instance per process, one epoch per connection attempt.
const instance = randomBytes(6).toString('base64url')
const instanceOf = (epoch) => epoch.slice(0, epoch.lastIndexOf('.'))
let counter = 0
let epoch = ''
let client
let claimed = false
let lifecycle = 'online'
let stopping = false
/** jobId → { attempt, epoch, stop, dropped } */
const running = new Map()
/** jobId → { attempt, payload }: results until the master's ack (§8 control). */
const outbox = new Map()
/** Master instances our births have served (§9). */
const served = new Set()

function nodeState(state, reason) {
  return JSON.stringify({
    v: 1,
    type: 'node',
    state,
    epoch,
    slots,
    labels: [],
    capabilities: { languages: [], commands: Object.keys(commands) },
    // §8: the will is fixed at CONNECT, so it lists nothing; a birth lists what this process holds.
    running: state === 'offline' ? [] : [...running].filter(([, r]) => !r.dropped).map(([jobId, r]) => ({ jobId, attempt: r.attempt })),
    version: 'third-party-0.1',
    ts: Date.now(),
    ...(reason ? { reason } : {}),
  })
}

const publish = (topic, message, retain = false) => {
  if (client?.connected) client.publish(topic, typeof message === 'string' ? message : JSON.stringify(message), { qos: 1, retain })
}
const event = (body) => publish(T.events, { v: 1, ...body })
const birth = () => publish(T.state, nodeState(lifecycle), true)
const resendOutbox = () => {
  for (const { payload } of outbox.values()) publish(T.events, payload)
}

function connect() {
  epoch = `${instance}.${++counter}`
  // §13: clean session, a client id unique to this process, the will for exactly this epoch.
  const c = mqtt.connect(url, {
    clientId: `${id}-${instance}`,
    clean: true,
    keepalive: 10,
    reconnectPeriod: 0,
    will: { topic: T.state, payload: nodeState('offline', 'connection lost'), qos: 1, retain: true },
  })
  client = c
  let claimCheck
  c.on('connect', async () => {
    try {
      await c.subscribeAsync([T.assign, T.control], { qos: 1 })
      let verdict
      if (!claimed) verdict = new Promise((resolve) => (claimCheck = resolve))
      await c.subscribeAsync([T.state, T.master], { qos: 1 })
      if (!claimed) {
        // §9: up to 150 ms from the SUBACK for the retained state of our id.
        const holder = await Promise.race([verdict, new Promise((resolve) => setTimeout(resolve, 150))])
        claimCheck = undefined
        if (holder && holder.state !== 'offline' && instanceOf(holder.epoch) !== instance) {
          console.log(`duplicate ${holder.epoch}`)
          c.end(false, () => process.exit(3))
          return
        }
        claimed = true
      }
      // §9: the outbox first, then the birth: once per connection.
      resendOutbox()
      birth()
      console.log(`online ${epoch}`)
    } catch (error) {
      console.error(`announce failed: ${error.message}`)
    }
  })
  c.on('message', (topic, payload, packet) => {
    let message
    try {
      message = JSON.parse(payload.toString())
    } catch {
      return
    }
    if (topic === T.state) {
      if (claimCheck) return claimCheck(message)
      // A replay on subscribe is what our birth is about to replace. A live `offline` of one of
      // our older connections (a late will) overwrote our birth: publish it again.
      if (!packet.retain && message.state === 'offline' && message.epoch !== epoch && instanceOf(message.epoch) === instance) birth()
    } else if (topic === T.master) {
      if (message.state !== 'online' || served.has(message.instance)) return
      served.add(message.instance)
      // The master retained at subscribe is served by this connection's own outbox and birth.
      if (packet.retain || !claimed) return
      resendOutbox()
      birth()
    } else if (topic === T.assign) onAssign(message)
    else if (topic === T.control) onControl(message)
  })
  c.on('close', () => {
    if (client !== c) return
    c.end(true)
    if (!stopping) setTimeout(connect, 100)
  })
  c.on('error', () => {})
}

function onAssign({ job, attempt, epoch: given }) {
  if (!job || instanceOf(given) !== instance) return // meant for another process under this id
  const reject = (code, message) => event({ type: 'rejected', jobId: job.id, attempt, epoch: given, code, message })
  const current = running.get(job.id)
  if (current && current.attempt === attempt) return event({ type: 'accepted', jobId: job.id, attempt, epoch: current.epoch })
  const done = outbox.get(job.id)
  if (done) return publish(T.events, done.payload)
  if (lifecycle === 'draining') return reject('DRAINING', 'draining')
  if (job.kind === 'judge' || (job.kind === 'command' && !(job.name in commands))) return reject('UNSUPPORTED', `cannot run ${job.kind} ${job.name ?? job.language}`)
  if (current) drop(job.id)
  if (running.size >= slots) return reject('BUSY', `all ${slots} slots are taken`)
  const entry = { attempt, epoch: given, dropped: false, stop: () => {} }
  running.set(job.id, entry)
  event({ type: 'accepted', jobId: job.id, attempt, epoch: given })
  const run = job.kind === 'noop' ? runNoop(job, entry) : runCommand(job, entry)
  run.then((outcome) => {
    if (running.get(job.id) === entry) running.delete(job.id)
    if (entry.dropped) return // canceled: never reported
    const payload = JSON.stringify({ v: 1, type: 'result', jobId: job.id, attempt, epoch: given, ...outcome })
    outbox.set(job.id, { attempt, payload })
    publish(T.events, payload)
  })
}

function runNoop(job, entry) {
  const sleepMs = job.sleepMs ?? 0
  // §8: a noop that would sleep past timeoutMs stops at timeoutMs, timed_out, with no output.
  const late = sleepMs > job.timeoutMs
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, late ? job.timeoutMs : sleepMs)
    entry.stop = () => {
      clearTimeout(timer)
      resolve()
    }
  }).then(() =>
    late
      ? { state: 'timed_out', output: null, error: `noop sleep of ${sleepMs} ms exceeds timeoutMs ${job.timeoutMs}` }
      : { state: 'succeeded', output: { ok: true } },
  )
}

function runCommand(job, entry) {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(commands[job.name], job.args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.stdin.on('error', () => {})
    child.stdin.end(job.stdin ?? '')
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, job.timeoutMs)
    entry.stop = () => child.kill('SIGKILL')
    child.on('spawn', () => event({ type: 'progress', jobId: job.id, attempt: entry.attempt, epoch: entry.epoch, state: 'started', detail: { pid: child.pid } }))
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      const output = { exitCode, signal, stdout, stderr, durationMs: Math.round(performance.now() - started) }
      if (timedOut) resolve({ state: 'timed_out', output, error: `killed after timeoutMs ${job.timeoutMs}` })
      else if (exitCode === 0) resolve({ state: 'succeeded', output })
      else resolve({ state: 'failed', output, error: exitCode === null ? `killed by ${signal}` : `exit code ${exitCode}` })
    })
  })
}

/** §8 cancel: stop the attempt and never report it. A result already made stays in the outbox. */
function drop(jobId, attempt) {
  const entry = running.get(jobId)
  if (!entry || (attempt !== undefined && entry.attempt !== attempt)) return
  entry.dropped = true
  running.delete(jobId)
  entry.stop()
}

function onControl({ op, jobId, attempt, jobs }) {
  if (op === 'cancel' && jobId) drop(jobId, attempt)
  else if (op === 'ack') {
    for (const acked of jobId ? [{ jobId, attempt }, ...(jobs ?? [])] : jobs ?? []) {
      const held = outbox.get(acked.jobId)
      if (held && (acked.attempt === undefined || held.attempt === acked.attempt)) outbox.delete(acked.jobId)
    }
  } else if (op === 'drain') {
    lifecycle = 'draining'
    birth()
  } else if (op === 'rebirth') {
    resendOutbox()
    birth()
  }
}

// §9 graceful stop: draining, let what runs finish (briefly here), hand back the rest, wait for
// acks, `offline` with reason shutdown, DISCONNECT.
process.on('SIGTERM', async () => {
  lifecycle = 'draining'
  birth()
  const until = Date.now() + 2000
  while (running.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
  for (const [jobId, entry] of [...running]) {
    drop(jobId)
    event({ type: 'rejected', jobId, attempt: entry.attempt, epoch: entry.epoch, code: 'DRAINING', message: 'shutting down' })
  }
  while (outbox.size > 0 && Date.now() < until + 2000) await new Promise((resolve) => setTimeout(resolve, 20))
  stopping = true
  if (client?.connected) await client.publishAsync(T.state, nodeState('offline', 'shutdown'), { qos: 1, retain: true })
  await client?.endAsync()
  process.exit(0)
})

connect()
