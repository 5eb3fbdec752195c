import type { Logger } from '../../src/logging/logger.js'
import type { JobStore } from '../store/job-store.js'
import { mergeAcks, ResultAcks, type AckBatch } from './acks.js'
import type { Counters } from './counters.js'
import type { NodeTable } from './node-table.js'
import type { Notifier } from './notifier.js'

/**
 * Publish only after the commit: nobody hears of a state the disk lacks (docs/storage.md). What
 * the master would say about a job, and the acks of the results it saved, wait here for the
 * store's next flush; replies made in one flush's callbacks go out batched where the submit
 * asked for it. A flush that fails is retried with back-off, and what waited on it goes out,
 * in order, ahead of the next flush's.
 */
export class CommitGate {
  private readonly acks: ResultAcks
  private scheduled = false
  private callbacks: Array<() => void> = []
  /** Callbacks and acks of flushes that failed, oldest first: they go out after a later one. */
  private failedCallbacks: Array<() => void> = []
  private failedAcks: AckBatch[] = []
  private failures = 0
  private retryTimer: NodeJS.Timeout | undefined
  private closed = false
  /** The flush being waited on with its callbacks, for idle(). */
  private running: Promise<void> | undefined
  /** Told how long each commit that went through took, in seconds (the Master's `commit` event). */
  onCommit: ((seconds: number) => void) | undefined

  /** Whether the last commit failed (and is being retried): /readyz says not ready. */
  get failing(): boolean {
    return this.failures > 0
  }

  constructor(
    private readonly store: Pick<JobStore, 'flush'>,
    private readonly notifier: Notifier,
    nodes: NodeTable,
    private readonly counters: Counters,
    private readonly logger: Logger,
    /** A failed flush, for whoever embeds the master; it is logged and retried regardless. */
    private readonly onFlushError: (error: Error) => void = () => {},
  ) {
    this.acks = new ResultAcks(nodes, notifier)
  }

  /**
   * Runs `fn` once every save made before it is durable. The callbacks of one event-loop turn
   * share one `store.flush()`, called right after they are taken, so each waits for the writes
   * made before it and no later ones: with the writer thread a flush can still be in flight
   * while the next turn's saves go into the next batch.
   */
  afterCommit(fn: () => void): void {
    this.callbacks.push(fn)
    this.schedule()
  }

  /** Acknowledges a result to its worker once the result is durable (docs/protocol.md §10). */
  ack(nodeId: string, jobId: string, attempt: number): void {
    this.acks.add(nodeId, jobId, attempt)
    this.schedule()
  }

  /**
   * Resolves once what was handed to the gate so far has been said (or its flush failed): a
   * master that stops cleanly waits for this before it closes its connection, or the replies of
   * its last commits would be on disk but never sent.
   */
  async idle(): Promise<void> {
    for (let i = 0; i < 10 && (this.scheduled || this.running); i++) {
      if (this.scheduled) await new Promise((resolve) => setImmediate(resolve))
      await this.running
    }
  }

  /** No more retries; a flush already scheduled still runs. */
  close(): void {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  /** Backs off from 250 ms to 5 s while the store keeps failing. */
  private retryDelayMs(): number {
    return Math.min(5000, 250 * 2 ** Math.max(0, this.failures - 1))
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.schedule()
    }, this.retryDelayMs())
    this.retryTimer.unref()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      const run = (this.running = this.flushThenRun().finally(() => {
        if (this.running === run) this.running = undefined
      }))
    })
  }

  private async flushThenRun(): Promise<void> {
    // What failed flushes left behind goes first, in the order they failed (flushes settle in
    // the order they were made: one that waited on a failed batch fails after it).
    const callbacks = [...this.failedCallbacks, ...this.callbacks]
    const acks = mergeAcks([...this.failedAcks, this.acks.take()])
    this.failedCallbacks = []
    this.failedAcks = []
    this.callbacks = []
    const began = this.onCommit ? performance.now() : 0
    try {
      await this.store.flush()
    } catch (error) {
      // Nothing is said about writes that are not on disk; a later flush tries again.
      this.failedCallbacks.push(...callbacks)
      this.failedAcks.push(acks)
      this.failures++
      this.logger.error({ err: error, retryInMs: this.retryDelayMs() }, 'job store flush failed')
      this.scheduleRetry()
      this.onFlushError(error as Error)
      return
    }
    this.failures = 0
    this.onCommit?.((performance.now() - began) / 1000)
    const failed = (error: unknown) => {
      this.counters.inc('handler_errors')
      this.logger.error({ err: error }, 'post-flush callback failed')
    }
    this.notifier.batched(() => {
      for (const callback of callbacks) {
        try {
          callback()
        } catch (error) {
          failed(error)
        }
      }
    }, failed)
    // Replies first: a worker's ack is never what anyone waits on.
    this.acks.send(acks)
  }
}
