import type { Aedes } from 'aedes'
import { orderedNow } from './ordered-clock.js'

type Deliver = Parameters<Aedes['subscribe']>[1]

/**
 * When each exact topic under `prefix` was last subscribed to by a client of this broker. A
 * subscription older than a result's publication received that result (or its connection died,
 * and a new connection subscribes anew), which is how the master tells a client that resubmits
 * while its result is in flight from one that missed it. Wildcard subscriptions are not tracked:
 * for them nothing is known, and the answer is undefined.
 *
 * The time kept is the moment the subscription began to receive, not the later `subscribe`
 * event: Aedes adds the subscription to its matcher, then emits the event a setImmediate later,
 * and a result published in between reaches the client. Stamped at the event, that subscription
 * would look younger than the result, and a resubmit crossing the result would be answered with
 * a second copy.
 */
export class SubscribedSince {
  private readonly since = new Map<string, number>()
  /** Per client id: its tracked topics and the QoS each was granted. */
  private readonly byClient = new Map<string, Map<string, number>>()
  /** When each delivery function was added to Aedes's matcher, until its `subscribe` event. */
  private readonly addedAt = new WeakMap<Deliver, number>()

  constructor(aedes: Aedes, private readonly prefix: string, private readonly now: () => number = orderedNow) {
    this.stampMatcherAdds(aedes)
    aedes.on('subscribe', (subscriptions, client) => {
      for (const { topic, qos } of subscriptions) {
        // 128: refused by the ACL; it can receive nothing.
        if ((qos as number) === 128 || !topic.startsWith(prefix) || topic.includes('+') || topic.includes('#')) continue
        let topics = this.byClient.get(client.id)
        if (!topics) this.byClient.set(client.id, (topics = new Map()))
        const held = topics.has(topic)
        topics.set(topic, qos)
        // Subscribing again to what a connection holds loses it nothing: the time stays.
        if (held) continue
        const deliver = deliveryOf(client, topic)
        this.since.set(topic, (deliver && this.addedAt.get(deliver)) ?? this.now())
      }
    })
    aedes.on('unsubscribe', (topics, client) => this.drop(client.id, topics))
    // A clean connection starts with no subscriptions, whatever an earlier session held.
    aedes.on('client', (client) => {
      if ((client as { clean?: boolean }).clean) this.drop(client.id, [...(this.byClient.get(client.id)?.keys() ?? [])])
    })
    aedes.on('clientDisconnect', (client) => {
      const topics = this.byClient.get(client.id)
      if (!topics) return
      // Only a persistent session's QoS 1 subscriptions have what was published meanwhile
      // queued for them; anything else missed it and must count as subscribed anew.
      const persistent = (client as { clean?: boolean }).clean === false
      this.drop(client.id, [...topics].filter(([, qos]) => !persistent || qos === 0).map(([topic]) => topic))
    })
  }

  /** The time of the newest live subscription to `topic`, or undefined when none is known. */
  of(topic: string): number | undefined {
    return this.since.get(topic)
  }

  /** Aedes has no hook at the moment a subscription starts to match: its `subscribe` method is that moment. */
  private stampMatcherAdds(aedes: Aedes): void {
    const subscribe = aedes.subscribe.bind(aedes)
    aedes.subscribe = (topic, deliver, done) => {
      if (topic.startsWith(this.prefix)) this.addedAt.set(deliver, this.now())
      return subscribe(topic, deliver, done)
    }
  }

  private drop(clientId: string, topics: string[]): void {
    const held = this.byClient.get(clientId)
    if (!held) return
    for (const topic of topics) {
      if (!held.delete(topic)) continue
      // Another client may hold the same topic; its time is lost with this one, which only
      // makes the master answer a resubmit once more than needed.
      this.since.delete(topic)
    }
    if (held.size === 0) this.byClient.delete(clientId)
  }
}

/** The function Aedes delivers the client's messages on this topic through. */
function deliveryOf(client: unknown, topic: string): Deliver | undefined {
  return (client as { subscriptions?: Record<string, { func?: Deliver }> }).subscriptions?.[topic]?.func
}
