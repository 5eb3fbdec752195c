import type { Aedes, AedesPublishPacket } from 'aedes'
import type { Logger } from '../../src/logging/logger.js'
import type { Transport } from './transport.js'

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void

export class AedesTransport implements Transport {
  private readonly subscriptions: Array<{ filter: string; deliver: Deliver }> = []

  constructor(
    private readonly aedes: Aedes,
    private readonly logger: Logger,
  ) {}

  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    if (this.aedes.closed) return
    this.aedes.publish(
      { cmd: 'publish', topic, payload, qos: options.qos, retain: options.retain ?? false, dup: false },
      (error) => {
        if (error) this.logger.warn({ err: error, topic }, 'in-process publish failed')
      },
    )
  }

  async subscribe(filters: string[], handler: (topic: string, payload: Buffer) => void): Promise<void> {
    await Promise.all(
      filters.map(
        (filter) =>
          new Promise<void>((resolve) => {
            const deliver: Deliver = (packet, callback) => {
              try {
                handler(packet.topic, packet.payload as Buffer)
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
