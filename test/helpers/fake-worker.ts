import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { PROTOCOL_VERSION, assignSchema, controlSchema, encode, topics, type AssignMessage, type ControlMessage } from '../../src/protocol/index.js'
import { waitFor } from './wait.js'

/**
 * A worker scripted by the test, speaking the protocol over a raw mqtt.js client: it does only
 * what the test tells it to, so the test can put it in exactly the state a bug would need.
 */
export class FakeWorker {
  readonly instance = randomBytes(4).toString('hex')
  readonly assigns: AssignMessage[] = []
  readonly controls: ControlMessage[] = []
  private counter = 0
  epoch = ''
  private client!: MqttClient

  constructor(
    readonly url: string,
    readonly ns: string,
    readonly id: string,
    readonly slots = 1,
    /** Protocol extensions its births announce; none, like a worker written from the base protocol alone. */
    readonly features: string[] = [],
  ) {}

  async connect(running: { jobId: string; attempt: number }[] = []): Promise<void> {
    this.epoch = `${this.instance}.${++this.counter}`
    this.client = await mqtt.connectAsync(this.url, {
      clientId: `${this.id}-${this.instance}-${this.counter}`,
      reconnectPeriod: 0,
      will: { topic: topics.nodeState(this.ns, this.id), payload: this.state('offline', []), qos: 1, retain: true },
    })
    this.client.on('message', (topic, payload) => {
      const json = JSON.parse(payload.toString())
      if (topic.endsWith('/assign')) this.assigns.push(assignSchema.parse(json))
      else this.controls.push(controlSchema.parse(json))
    })
    await this.client.subscribeAsync([topics.nodeAssign(this.ns, this.id), topics.nodeControl(this.ns, this.id)], { qos: 1 })
    await this.client.publishAsync(topics.nodeState(this.ns, this.id), this.state('online', running), { qos: 1, retain: true })
  }

  private state(state: 'online' | 'offline', running: { jobId: string; attempt: number }[]): Buffer {
    return encode({
      v: PROTOCOL_VERSION,
      type: 'node',
      state,
      epoch: this.epoch,
      slots: this.slots,
      labels: [],
      capabilities: { languages: [], commands: [] },
      running,
      version: 'fake',
      ts: Date.now(),
      ...(this.features.length > 0 ? { features: this.features } : {}),
    })
  }

  /** Its birth again on the same connection (same epoch), as a worker answers `rebirth`. */
  async rebirth(running: { jobId: string; attempt: number }[] = []): Promise<void> {
    await this.client.publishAsync(topics.nodeState(this.ns, this.id), this.state('online', running), { qos: 1, retain: true })
  }

  nextAssign(index = this.assigns.length): Promise<AssignMessage> {
    return waitFor(() => this.assigns[index], { timeoutMs: 5000, what: `assign #${index} to ${this.id}` })
  }

  /** Any object, not only a well-formed event: a test may send what no builder would. */
  async send(event: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(topics.nodeEvents(this.ns, this.id), JSON.stringify({ v: PROTOCOL_VERSION, ...event }), { qos: 1 })
  }

  accept(assign: AssignMessage): Promise<void> {
    return this.send({ type: 'accepted', jobId: assign.job.id, attempt: assign.attempt, epoch: assign.epoch })
  }

  result(assign: AssignMessage, output: unknown = { ok: true }, state = 'succeeded'): Promise<void> {
    return this.send({ type: 'result', jobId: assign.job.id, attempt: assign.attempt, epoch: assign.epoch, state, output })
  }

  /** Several events in one TCP write, so that the broker reads them in one turn. */
  async sendTogether(events: Array<Record<string, unknown>>): Promise<void> {
    this.client.stream.cork()
    const sent = events.map((event) => this.send(event))
    process.nextTick(() => this.client.stream.uncork())
    await Promise.all(sent)
  }

  /** A graceful stop as docs/protocol.md §9 has it: `offline` with reason `shutdown`, then DISCONNECT. */
  async shutdown(): Promise<void> {
    const offline = { ...JSON.parse(this.state('offline', []).toString()), reason: 'shutdown' }
    await this.client.publishAsync(topics.nodeState(this.ns, this.id), encode(offline), { qos: 1, retain: true })
    await this.client.endAsync()
  }

  /** The connection dies without DISCONNECT: the broker publishes the will. */
  die(): void {
    this.client.stream.destroy()
    this.client.end(true)
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {})
  }
}
