import mqtt, { type MqttClient } from 'mqtt'
import { waitFor } from './wait.js'

/**
 * A submitter as a third party writes it from docs/protocol.md alone: plain mqtt.js, topics and
 * JSON spelled out by hand, QoS 1, no edgerun extension (no `progress`, no `batchReplies`).
 * After every (re)connect it subscribes to its reply topic again and resubmits every id it has no
 * result for, as docs/protocol.md §4 tells a client to.
 */
export class PlainSubmitter {
  /** Every reply that reached the reply topic, by job id, in arrival order. */
  readonly replies = new Map<string, Array<Record<string, unknown>>>()
  /** Every message on the reply topic as it arrived, batches included (a batch is filed under no job). */
  readonly messages: Array<Record<string, unknown>> = []
  private readonly submits = new Map<string, Record<string, unknown>>()
  readonly replyTo: string
  connects = 0

  private constructor(
    readonly client: MqttClient,
    readonly ns: string,
    readonly name: string,
  ) {
    this.replyTo = `${ns}/reply/${name}`
  }

  static async connect(url: string, ns: string, name: string): Promise<PlainSubmitter> {
    const client = mqtt.connect(url, { clientId: `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 100, connectTimeout: 2000 })
    const submitter = new PlainSubmitter(client, ns, name)
    client.on('message', (_topic, payload) => submitter.onReply(payload))
    client.on('connect', () => void submitter.onConnect())
    await waitFor(() => submitter.connects > 0, { timeoutMs: 10_000, what: `${name} connected and subscribed` })
    return submitter
  }

  private async onConnect(): Promise<void> {
    try {
      await this.client.subscribeAsync(this.replyTo, { qos: 1 })
    } catch {
      return // the connection went again; the next connect subscribes
    }
    this.connects++
    if (this.connects > 1) for (const [id, submit] of this.submits) if (!this.resultOf(id)) this.publish(submit)
  }

  private onReply(payload: Buffer): void {
    const reply = JSON.parse(payload.toString()) as Record<string, unknown>
    this.messages.push(reply)
    const id = String(reply.jobId)
    let list = this.replies.get(id)
    if (!list) this.replies.set(id, (list = []))
    list.push(reply)
  }

  submit(job: Record<string, unknown>): void {
    const submit = { v: 1, type: 'submit', replyTo: this.replyTo, ...job }
    this.submits.set(String(job.id), submit)
    this.publish(submit)
  }

  /** Several submits in one TCP write, so that the broker reads them, and the master gets them, in one turn. */
  submitTogether(jobs: Array<Record<string, unknown>>): void {
    this.client.stream.cork()
    for (const job of jobs) this.submit(job)
    process.nextTick(() => this.client.stream.uncork())
  }

  /** Any message to any topic, in order with the submits (an rpc, say). */
  send(topic: string, message: Record<string, unknown>): void {
    this.client.publish(topic, JSON.stringify(message), { qos: 1 })
  }

  /** Sends the stored submit of `id` again, as a client that lost track of it would. */
  resubmit(id: string, changes: Record<string, unknown> = {}): void {
    this.publish({ ...this.submits.get(id)!, ...changes })
  }

  private publish(submit: Record<string, unknown>): void {
    this.client.publish(`${this.ns}/submit`, JSON.stringify(submit), { qos: 1 })
  }

  repliesOf(id: string): Array<Record<string, unknown>> {
    return this.replies.get(id) ?? []
  }

  resultsOf(id: string): Array<Record<string, unknown>> {
    return this.repliesOf(id).filter((reply) => reply.type === 'result')
  }

  resultOf(id: string): Record<string, unknown> | undefined {
    return this.resultsOf(id)[0]
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => {})
  }
}
