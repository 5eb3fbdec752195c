import type { Aedes, AedesPublishPacket } from 'aedes'
import type { Logger } from '../../src/logging/logger.js'
import { flushCoalescedWrites } from '../../src/net/coalesce.js'
import { topicMatches } from '../../src/protocol/index.js'
import { SubscribedSince } from './subscribed-since.js'
import type { Transport } from './transport.js'

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void

export class AedesTransport implements Transport {
  private readonly subscriptions: Array<{ filter: string; deliver: Deliver }> = []
  /** Client subscriptions that could match a watched prefix: filter → how many clients hold it. */
  private readonly watched = new Map<string, number>()
  private readonly byClient = new Map<string, Set<string>>()
  private wildcardCache: string[] | undefined

  /**
   * @param watchPrefix topics under it are published only when some client could receive them
   * (a job's event topic nobody follows costs a match and an allocation per event otherwise).
   * @param replyPrefix reply topics under it report when they were last subscribed to.
   */
  private readonly replySubscriptions: SubscribedSince | undefined

  constructor(
    private readonly aedes: Aedes,
    private readonly logger: Logger,
    private readonly watchPrefix?: string,
    replyPrefix?: string,
  ) {
    this.replySubscriptions = replyPrefix ? new SubscribedSince(aedes, replyPrefix) : undefined
    if (watchPrefix) {
      aedes.on('subscribe', (subscriptions, client) => {
        for (const { topic, qos } of subscriptions) {
          // 128: refused by the ACL; it can receive nothing.
          if ((qos as number) !== 128 && this.couldMatchWatched(topic)) this.track(client.id, topic)
        }
      })
      aedes.on('unsubscribe', (topics, client) => {
        for (const topic of topics) this.untrack(client.id, topic)
      })
      aedes.on('clientDisconnect', (client) => {
        // A persistent session keeps its subscriptions (and queues for it) while it is away.
        if (!(client as { clean?: boolean }).clean) return
        for (const topic of [...(this.byClient.get(client.id) ?? [])]) this.untrack(client.id, topic)
      })
    }
  }

  lastSubscribedAt(topic: string): number | undefined {
    return this.replySubscriptions?.of(topic)
  }

  hasSubscribers(topic: string): boolean {
    if (!this.watchPrefix || !topic.startsWith(this.watchPrefix)) return true
    if (this.watched.has(topic)) return true
    for (const filter of this.wildcards) if (topicMatches(filter, topic)) return true
    return false
  }

  /** The watched filters with wildcards: usually none or a few, so exact follows stay O(1). */
  private get wildcards(): string[] {
    return (this.wildcardCache ??= [...this.watched.keys()].filter((filter) => filter.includes('+') || filter.includes('#')))
  }

  private couldMatchWatched(filter: string): boolean {
    const prefix = this.watchPrefix!
    return filter.startsWith(prefix) || filter.startsWith('#') || filter.startsWith('+') || prefix.startsWith(filter.replace(/#$/, ''))
  }

  private track(clientId: string, filter: string): void {
    let filters = this.byClient.get(clientId)
    if (!filters) this.byClient.set(clientId, (filters = new Set()))
    if (filters.has(filter)) return
    filters.add(filter)
    this.watched.set(filter, (this.watched.get(filter) ?? 0) + 1)
    this.wildcardCache = undefined
  }

  private untrack(clientId: string, filter: string): void {
    const filters = this.byClient.get(clientId)
    if (!filters?.delete(filter)) return
    if (filters.size === 0) this.byClient.delete(clientId)
    const count = (this.watched.get(filter) ?? 1) - 1
    if (count <= 0) this.watched.delete(filter)
    else this.watched.set(filter, count)
    this.wildcardCache = undefined
  }

  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    if (this.aedes.closed) return
    this.aedes.publish(
      { cmd: 'publish', topic, payload, qos: options.qos, retain: options.retain ?? false, dup: false },
      (error) => {
        if (error) this.logger.warn({ err: error, topic }, 'in-process publish failed')
      },
    )
  }

  /**
   * The clients' sockets hold a turn's writes until setImmediate (src/net/coalesce.ts): this
   * sends them now. Aedes hands a publish to those sockets a setImmediate after it is made.
   */
  flush(): void {
    flushCoalescedWrites()
  }

  async subscribe(filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void> {
    await Promise.all(
      filters.map(
        (filter) =>
          new Promise<void>((resolve) => {
            const deliver: Deliver = (packet, callback) => {
              try {
                // In-process subscriptions never replay stored messages: everything here is live.
                handler(packet.topic, packet.payload as Buffer, false)
              } finally {
                callback()
              }
            }
            this.subscriptions.push({ filter, deliver })
            this.aedes.subscribe(filter, deliver, resolve)
          }),
      ),
    )
  }

  async close(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0)
    if (this.aedes.closed) return
    await Promise.all(
      subscriptions.map(
        ({ filter, deliver }) => new Promise<void>((resolve) => this.aedes.unsubscribe(filter, deliver, resolve)),
      ),
    )
  }
}
