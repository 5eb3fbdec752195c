import type { Transport } from '../master/transport.js'

/**
 * A deposed master's mouth, shut: once `fence()` is called nothing more leaves as the active
 * master (docs/protocol.md §7a), whatever timer or callback of the old Master still runs.
 *
 * It also asks the lease before every publish and every message it hands on (`holds`, a
 * synchronous read of the lease thread's verdict): a master whose event loop comes back after
 * its lease ran out (a paused process, a long block) shuts its own mouth before the first word,
 * and says so (`lapsed`) so that it steps down. Once shut it stays shut: what it dropped is
 * recovered by the next master (the store, the workers' outboxes and rebirths), never by this one.
 */
export class FencedTransport implements Transport {
  private fenced = false
  /** Publishes refused after fence(). */
  dropped = 0

  constructor(
    private readonly inner: Transport,
    private readonly holds: () => boolean = () => true,
    private readonly lapsed: () => void = () => {},
  ) {}

  fence(): void {
    this.fenced = true
  }

  /** Whether it may still speak as the active master: not fenced, and the lease surely held now. */
  private open(): boolean {
    if (this.fenced) return false
    if (this.holds()) return true
    this.fenced = true
    this.lapsed()
    return false
  }

  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    if (!this.open()) {
      this.dropped++
      return
    }
    this.inner.publish(topic, payload, options)
  }

  subscribe(filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void> {
    return this.inner.subscribe(filters, (topic, payload, retained) => {
      if (this.open()) handler(topic, payload, retained)
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
