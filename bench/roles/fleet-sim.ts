import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { Backoff } from '../../src/net/backoff.js'
import { report, roleConfig } from '../lib/child.js'

/**
 * Simulated workers written from docs/protocol.md alone, the way a third party would: plain
 * mqtt.js, topics and JSON by hand, nothing of edgerun's client or worker code. Only the backoff
 * is the reference worker's own (src/net/backoff.ts: 100 ms doubling to 5 s, full jitter), so a
 * fleet that loses its broker comes back the way a fleet of real workers would.
 *
 * Each simulated node: a clean session with a will (its `offline`, retained), a subscription to its
 * assign and control topics, then a retained birth. Noop assignments are accepted and answered at
 * once. The claim check of §9 (waiting for the retained state of its own id) is left out: ids here
 * are unique by construction, and it would only add a retained replay per connection.
 *
 * Prints `ready` once every node has had its first CONNACK, and on SIGUSR2 a `{"result":…}` line
 * with its counts.
 */
interface Config {
  url: string
  ns: string
  /** Node ids are `{prefix}{from}` … `{prefix}{from + count - 1}`. */
  prefix: string
  from: number
  count: number
  slots: number
  /** Connect this many per event-loop turn at the start (the cold start of a real fleet is not one instant either). */
  burst?: number
}

const config = roleConfig<Config>()
const instance = randomBytes(6).toString('base64url')
let connects = 0
let refusedOrLost = 0
let results = 0
let firstConnected = 0
const everConnected = new Set<number>()

class SimNode {
  private counter = 0
  private epoch = ''
  private client: MqttClient | undefined
  private readonly backoff = new Backoff(100, 5_000)
  private readonly topics: { state: string; assign: string; control: string; events: string }

  constructor(
    private readonly index: number,
    private readonly id: string,
  ) {
    const base = `${config.ns}/nodes/${id}`
    this.topics = { state: `${base}/state`, assign: `${base}/assign`, control: `${base}/control`, events: `${base}/events` }
  }

  private state(state: 'online' | 'offline', reason?: string): string {
    return JSON.stringify({
      v: 1,
      type: 'node',
      state,
      epoch: this.epoch,
      slots: config.slots,
      labels: ['sim'],
      capabilities: { languages: [], commands: [] },
      running: [],
      version: 'fleet-sim-0.1',
      ts: Date.now(),
      ...(reason ? { reason } : {}),
    })
  }

  connect(): void {
    this.epoch = `${instance}-${this.index}.${++this.counter}`
    const c = mqtt.connect(config.url, {
      clientId: `${this.id}-${instance}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      resubscribe: false,
      log: () => {},
      will: { topic: this.topics.state, payload: Buffer.from(this.state('offline', 'connection lost')), qos: 1, retain: true },
    })
    this.client = c
    let up = false
    c.on('connect', () => {
      up = true
      connects++
      if (!everConnected.has(this.index)) {
        everConnected.add(this.index)
        if (everConnected.size === config.count) firstConnected = performance.now()
        if (everConnected.size === config.count) process.stdout.write('ready\n')
      }
      this.backoff.reset()
      c.subscribe([this.topics.assign, this.topics.control], { qos: 1 }, (error) => {
        if (error) return
        c.publish(this.topics.state, this.state('online'), { qos: 1, retain: true })
      })
    })
    c.on('message', (topic, payload) => {
      if (topic !== this.topics.assign) return
      let message: { job?: { id: string }; attempt?: number; epoch?: string }
      try {
        message = JSON.parse(payload.toString())
      } catch {
        return
      }
      if (!message.job) return
      const base = { v: 1, jobId: message.job.id, attempt: message.attempt, epoch: message.epoch }
      // Both events in one write: a fleet of 1-slot nodes otherwise pays a syscall per message,
      // on the same two cores as the broker it is measuring.
      const stream = c.stream as { cork?: () => void; uncork?: () => void }
      stream.cork?.()
      c.publish(this.topics.events, JSON.stringify({ ...base, type: 'accepted' }), { qos: 1 })
      c.publish(this.topics.events, JSON.stringify({ ...base, type: 'result', state: 'succeeded', output: { ok: true } }), { qos: 1 })
      process.nextTick(() => stream.uncork?.())
      results++
    })
    c.on('error', () => {})
    c.on('close', () => {
      if (this.client !== c) return
      c.end(true)
      if (!up) refusedOrLost++
      this.client = undefined
      setTimeout(() => this.connect(), this.backoff.next())
    })
  }
}

const nodes = Array.from({ length: config.count }, (_, i) => new SimNode(i, `${config.prefix}${config.from + i}`))
const burst = config.burst ?? config.count
for (let i = 0; i < nodes.length; i += burst) {
  for (const node of nodes.slice(i, i + burst)) node.connect()
  if (burst < nodes.length) await new Promise((resolve) => setImmediate(resolve))
}
process.on('SIGUSR2', () => report({ connects, refusedOrLost, results, firstConnectedAt: firstConnected }))
process.on('SIGTERM', () => process.exit(0))
