import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { filters, parseTopic, topics } from '../../src/protocol/index.js'
import { silentLogger, type Logger } from '../../src/logging/logger.js'
import type { JobStore } from '../store/job-store.js'
import { mergeAcks, ResultAcks, type AckBatch } from './acks.js'
import type { MasterContext } from './context.js'
import { Counters } from './counters.js'
import { Dispatcher } from './dispatcher.js'
import { handleNodeEvent } from './handlers/node-events.js'
import { connectionLost, handleNodeState } from './handlers/node-state.js'
import { handleRpc, type Visibility } from './handlers/rpc.js'
import { SubmitBatch } from './handlers/submit.js'
import { JobFeed } from './job-feed.js'
import { JobQueue } from './job-queue.js'
import { JobTimers } from './job-timers.js'
import { Lifecycle } from './lifecycle.js'
import { NodeTable } from './node-table.js'
import { Notifier } from './notifier.js'
import { StatsPublisher } from './stats-publisher.js'
import { masterOptionsSchema, type MasterOptionsInput } from './options.js'
import type { Transport } from './transport.js'

export interface MasterDeps {
  transport: Transport
  store: JobStore
  logger?: Logger
  visibility?: Visibility
  random?: () => number
  /** Fixed by `edgerun master`, which must name the instance in its will before the master exists. */
  instance?: string
  /** The embedding broker's own refusal counters, for the `stats` rpc. */
  brokerCounters?: () => Record<string, number>
  /** Whether a client subscription could receive `{ns}/master/jobs` (only the embedding broker knows). */
  jobFeedWatched?: () => boolean
}

export interface MasterEvents {
  error: [Error]
}

/**
 * The master (README, "How it fits together"): it owns the node table, the queue and every job's lifecycle. It speaks
 * only through a Transport, so the same code runs inside the broker or against any MQTT broker.
 */
export class Master extends EventEmitter<MasterEvents> {
  readonly instance: string
  readonly ctx: MasterContext
  private readonly lifecycle: Lifecycle
  private readonly dispatcher: Dispatcher
  private readonly submits: SubmitBatch
  private readonly transport: Transport
  private readonly visibility: Visibility
  private readonly jobFeed: JobFeed
  private readonly stats: StatsPublisher
  private closing: Promise<void> | undefined
  private flushScheduled = false
  /** Callbacks and acks of flushes that failed, oldest first: they go out after a later one. */
  private failedCallbacks: Array<() => void> = []
  private failedAcks: AckBatch[] = []
  private flushFailures = 0
  private retryTimer: NodeJS.Timeout | undefined
  private flushCallbacks: Array<() => void> = []

  constructor(options: MasterOptionsInput, deps: MasterDeps) {
    super()
    this.instance = deps.instance ?? randomBytes(6).toString('base64url')
    this.transport = deps.transport
    this.visibility = deps.visibility ?? (() => 'all')
    const parsed = masterOptionsSchema.parse(options)
    // A store of another namespace would answer with that namespace's jobs (docs/storage.md).
    if (deps.store.namespace !== undefined && deps.store.namespace !== parsed.namespace) {
      throw new Error(`the job store holds namespace ${deps.store.namespace}'s jobs, not ${parsed.namespace}'s`)
    }
    let seq = deps.store.maxSeq()
    const nodes = new NodeTable()
    const notifier = new Notifier(deps.transport, parsed.namespace)
    this.ctx = {
      options: parsed,
      instance: this.instance,
      store: deps.store,
      nodes,
      queue: new JobQueue(),
      notifier,
      acks: new ResultAcks(nodes, notifier, () => this.scheduleFlush()),
      counters: new Counters(),
      logger: (deps.logger ?? silentLogger()).child({ component: 'master' }),
      timers: new JobTimers(),
      active: new Map(),
      excluded: new Map(),
      nextSeq: () => ++seq,
      now: () => Date.now(),
      afterFlush: (fn) => this.afterFlush(fn),
      brokerCounters: deps.brokerCounters,
    }
    this.lifecycle = new Lifecycle(this.ctx)
    this.dispatcher = new Dispatcher(this.ctx, this.lifecycle, deps.random)
    this.submits = new SubmitBatch(this.ctx, this.lifecycle, this.visibility)
    this.jobFeed = new JobFeed(deps.transport, parsed.namespace, deps.jobFeedWatched)
    this.stats = new StatsPublisher(this.ctx, deps.transport)
    notifier.onJob = (job) => (this.jobFeed.observe(job), this.stats.touch())
  }

  get namespace(): string {
    return this.ctx.options.namespace
  }

  async start(): Promise<void> {
    this.recover()
    const ns = this.namespace
    await this.transport.subscribe(
      [filters.allNodeStates(ns), filters.allNodeEvents(ns), topics.submit(ns), topics.rpc(ns)],
      (topic, payload, retained) => this.route(topic, payload, retained),
    )
    // Workers that see a new master instance republish their births and resend their outboxes.
    this.ctx.notifier.masterState('online', this.instance)
    // Back from a lost connection (external broker): the will said offline, and what the nodes
    // sent meanwhile is gone, so say online again and ask every node for its birth and outbox.
    this.transport.onReconnect?.(() => {
      this.ctx.notifier.masterState('online', this.instance)
      for (const node of this.ctx.nodes.all()) {
        // The answer to this rebirth is the truth about what the node still holds.
        node.reconciling = true
        this.ctx.notifier.control(node.id, 'rebirth')
      }
    })
    this.dispatcher.schedule()
    this.stats.start()
    this.ctx.logger.info({ instance: this.instance, namespace: ns, store: this.ctx.store.kind }, 'master started')
  }

  /** Idempotent. Tells the workers the master is gone, then lets the store finish its writes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.submits.drain()
      this.dispatcher.stop()
      if (this.retryTimer) clearTimeout(this.retryTimer)
      this.ctx.timers.clearAll()
      this.jobFeed.stop()
      this.stats.stop()
      this.ctx.notifier.masterState('offline', this.instance)
      await this.ctx.store.flush().catch(() => {})
      await this.transport.close()
    })()
    return this.closing
  }

  private route(topic: string, payload: Buffer, retained = false): void {
    const parsed = parseTopic(this.namespace, topic)
    const { ctx, lifecycle } = this
    if (parsed?.kind === 'submit') return this.submits.add(payload)
    // Whatever arrived after a submit must see it admitted (a cancel of it, say).
    this.submits.drain()
    try {
      switch (parsed?.kind) {
        case 'rpc':
          return handleRpc(ctx, lifecycle, payload, this.visibility)
        case 'nodeState':
          return handleNodeState(ctx, lifecycle, parsed.node, payload, retained)
        case 'nodeEvents':
          return handleNodeEvent(ctx, lifecycle, parsed.node, payload)
        default:
          ctx.counters.inc('ignored_topic')
      }
    } catch (error) {
      // A handler bug must cost one message, never the master.
      ctx.counters.inc('handler_errors')
      ctx.logger.error({ err: error, topic }, 'handler failed')
    }
  }

  /**
   * After a restart: queued jobs go back in the queue; assigned and running ones wait, on a
   * placeholder of their node, for that node's rebirth to say whether it still holds them.
   */
  private recover(): void {
    const { ctx } = this
    for (const job of ctx.store.scanUnfinished?.() ?? ctx.store.loadUnfinished()) {
      ctx.active.set(job.id, job)
      // Losses the last master could not yet resolve are resolved by the nodes' next births.
      this.lifecycle.openLosses.track(job)
      if (job.state === 'queued') {
        this.lifecycle.enqueue(job, true) // parks it when the queue is long
        continue
      }
      if (!job.node || !job.epoch) {
        this.lifecycle.enqueue(job)
        continue
      }
      ctx.nodes.placeholder(job.node, job.epoch).inFlight.add(job.id)
    }
    for (const node of ctx.nodes.all()) {
      if (node.inFlight.size === 0) continue
      ctx.counters.inc('recovered_in_flight', node.inFlight.size)
      connectionLost(ctx, this.lifecycle, node, `master restarted and node ${node.id} did not come back`, 'restart', Math.max(1, ctx.options.reconcileMs))
      ctx.notifier.control(node.id, 'rebirth')
    }
  }

  /**
   * Runs `fn` once every save made before it is durable. The callbacks of one event-loop turn
   * share one `store.flush()`, called right after they are taken, so each waits for the writes
   * made before it and no later ones: with the writer thread a flush can still be in flight
   * while the next turn's saves go into the next batch.
   */
  private afterFlush(fn: () => void): void {
    this.flushCallbacks.push(fn)
    this.scheduleFlush()
  }

  /** Backs off from 250 ms to 5 s while the store keeps failing. */
  private retryDelayMs(): number {
    return Math.min(5000, 250 * 2 ** Math.max(0, this.flushFailures - 1))
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closing) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.scheduleFlush()
    }, this.retryDelayMs())
    this.retryTimer.unref()
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      void this.flushThenRun()
    })
  }

  private async flushThenRun(): Promise<void> {
    // What failed flushes left behind goes first, in the order they failed (flushes settle in
    // the order they were made: one that waited on a failed batch fails after it).
    const callbacks = [...this.failedCallbacks, ...this.flushCallbacks]
    const acks = mergeAcks([...this.failedAcks, this.ctx.acks.take()])
    this.failedCallbacks = []
    this.failedAcks = []
    this.flushCallbacks = []
    try {
      await this.ctx.store.flush()
    } catch (error) {
      // Nothing is said about writes that are not on disk; a later flush tries again.
      this.failedCallbacks.push(...callbacks)
      this.failedAcks.push(acks)
      this.flushFailures++
      this.ctx.logger.error({ err: error, retryInMs: this.retryDelayMs() }, 'job store flush failed')
      this.scheduleRetry()
      // Only for whoever listens (a test, an embedder): unheard, an 'error' event would throw.
      if (this.listenerCount('error') > 0) this.emit('error', error as Error)
      return
    }
    this.flushFailures = 0
    const failed = (error: unknown) => {
      this.ctx.counters.inc('handler_errors')
      this.ctx.logger.error({ err: error }, 'post-flush callback failed')
    }
    this.ctx.notifier.batched(() => {
      for (const callback of callbacks) {
        try {
          callback()
        } catch (error) {
          failed(error)
        }
      }
    }, failed)
    // Replies first: a worker's ack is never what anyone waits on.
    this.ctx.acks.send(acks)
  }
}
