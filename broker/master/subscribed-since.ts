import type { Aedes } from 'aedes'

/**
 * When each exact topic under `prefix` was last subscribed to by a client of this broker. A
 * subscription older than a result's publication received that result (or its connection died,
 * and a new connection subscribes anew), which is how the master tells a client that resubmits
 * while its result is in flight from one that missed it. Wildcard subscriptions are not tracked:
 * for them nothing is known, and the answer is undefined.
 */
export class SubscribedSince {
  private readonly since = new Map<string, number>()
  private readonly byClient = new Map<string, Set<string>>()

  constructor(aedes: Aedes, private readonly prefix: string, private readonly now: () => number = Date.now) {
    aedes.on('subscribe', (subscriptions, client) => {
      for (const { topic, qos } of subscriptions) {
        // 128: refused by the ACL; it can receive nothing.
        if ((qos as number) === 128 || !topic.startsWith(prefix) || topic.includes('+') || topic.includes('#')) continue
        let topics = this.byClient.get(client.id)
        if (!topics) this.byClient.set(client.id, (topics = new Set()))
        // Subscribing again to what a connection holds loses it nothing: the time stays.
        if (topics.has(topic)) continue
        topics.add(topic)
        this.since.set(topic, this.now())
      }
    })
    aedes.on('unsubscribe', (topics, client) => this.drop(client.id, topics))
    aedes.on('clientDisconnect', (client) => {
      // A persistent session keeps its subscriptions (and queues for it) while it is away.
      if ((client as { clean?: boolean }).clean) this.drop(client.id, [...(this.byClient.get(client.id) ?? [])])
    })
  }

  /** The time of the newest live subscription to `topic`, or undefined when none is known. */
  of(topic: string): number | undefined {
    return this.since.get(topic)
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
