import type { Aedes } from 'aedes'
import { topicMatches } from '../../src/protocol/index.js'

/**
 * Whether any client of this broker holds a subscription that receives `topic` (exact or by
 * wildcard), so the master can skip building a message nobody would get. Refused subscriptions
 * (granted 128) do not count; a persistent session keeps its subscriptions while it is away.
 */
export class SubscriptionWatch {
  private readonly byClient = new Map<string, Set<string>>()
  private count = 0

  constructor(
    aedes: Aedes,
    private readonly topic: string,
  ) {
    aedes.on('subscribe', (subscriptions, client) => {
      for (const { topic: filter, qos } of subscriptions) {
        if ((qos as number) !== 128 && topicMatches(filter, topic)) this.add(client.id, filter)
      }
    })
    aedes.on('unsubscribe', (filters, client) => {
      for (const filter of filters) this.remove(client.id, filter)
    })
    aedes.on('clientDisconnect', (client) => {
      if (!(client as { clean?: boolean }).clean) return
      for (const filter of [...(this.byClient.get(client.id) ?? [])]) this.remove(client.id, filter)
    })
  }

  get watched(): boolean {
    return this.count > 0
  }

  private add(clientId: string, filter: string): void {
    let filters = this.byClient.get(clientId)
    if (!filters) this.byClient.set(clientId, (filters = new Set()))
    if (filters.has(filter)) return
    filters.add(filter)
    this.count++
  }

  private remove(clientId: string, filter: string): void {
    const filters = this.byClient.get(clientId)
    if (!filters?.delete(filter)) return
    if (filters.size === 0) this.byClient.delete(clientId)
    this.count--
  }
}
