import type { Connection } from '../../src/net/connection.js'
import type { Logger } from '../../src/logging/logger.js'
import { flushCoalescedWrites } from '../../src/net/coalesce.js'
import type { Transport } from './transport.js'

/** The master as a plain client of an external broker (Mosquitto, EMQX, clustered Aedes). */
export class MqttTransport implements Transport {
  private readonly handlers: Array<{ filters: string[]; handler: (topic: string, payload: Buffer, retained: boolean) => void }> = []
  private readonly reconnectHandlers: Array<() => void> = []
  private connectedOnce = false

  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
  ) {
    connection.on('message', (topic, payload, retained) => {
      for (const { handler } of this.handlers) handler(topic, payload, retained)
    })
    // Clean sessions forget subscriptions: every reconnect subscribes again.
    connection.on('connect', () => {
      void Promise.all(this.handlers.map(({ filters }) => connection.subscribe(filters)))
        .then(() => {
          if (this.connectedOnce) for (const handler of this.reconnectHandlers) handler()
          this.connectedOnce = true
        })
        .catch((error) => this.logger.error({ err: error }, 'resubscribe failed'))
    })
  }

  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    this.connection.publish(topic, payload, options).catch((error) => {
      this.logger.warn({ err: error, topic }, 'publish failed')
    })
  }

  /**
   * Not a no-op: the connection's socket holds a turn's writes too (src/net/stream.ts corks it
   * until setImmediate), so an assignment would otherwise wait behind the commit.
   */
  flush(): void {
    flushCoalescedWrites()
  }

  async subscribe(filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void> {
    this.handlers.push({ filters, handler })
    await this.connection.subscribe(filters)
    this.connectedOnce = true
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler)
  }

  async close(): Promise<void> {
    await this.connection.close()
  }
}
