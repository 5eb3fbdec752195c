import type { Transport } from '../master/transport.js'

/**
 * A deposed master's mouth, shut: once `fence()` is called nothing more leaves as the active
 * master (docs/protocol.md §7a), whatever timer or callback of the old Master still runs.
 */
export class FencedTransport implements Transport {
  private fenced = false
  /** Publishes refused after fence(). */
  dropped = 0

  constructor(private readonly inner: Transport) {}

  fence(): void {
    this.fenced = true
  }

  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    if (this.fenced) {
      this.dropped++
      return
    }
    this.inner.publish(topic, payload, options)
  }

  subscribe(filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void> {
    return this.inner.subscribe(filters, (topic, payload, retained) => {
      if (!this.fenced) handler(topic, payload, retained)
    })
  }

  hasSubscribers(topic: string): boolean {
    return this.inner.hasSubscribers?.(topic) ?? true
  }

  lastSubscribedAt(topic: string): number | undefined {
    return this.inner.lastSubscribedAt?.(topic)
  }

  flush(): void {
    if (!this.fenced) this.inner.flush()
  }

  onReconnect(handler: () => void): void {
    this.inner.onReconnect?.(() => {
      if (!this.fenced) handler()
    })
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
