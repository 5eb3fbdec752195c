import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { filters, parseTopic, topics, type MasterIdentity } from '../../src/protocol/index.js'
import { silentLogger, type Logger } from '../../src/logging/logger.js'
import { EdgerunError } from '../../src/errors/index.js'
import type { JobRecord } from '../store/job-record.js'
import type { JobStore } from '../store/job-store.js'
import { CommitGate } from './commit-gate.js'
import { Counters } from './counters.js'
import { handleNodeEvent, sendUnsentResult } from './handlers/node-events.js'
import { askForRebirths, handleNodeState } from './handlers/node-state.js'
import { handleRpc, type Visibility } from './handlers/rpc.js'
import { SubmitBatch } from './handlers/submit.js'
import type { MasterEvents } from './events.js'
import { masterFigures, type MasterFigures } from './figures.js'
import { JobFeed } from './job-feed.js'
import { JobTable } from './job-table.js'
import { Lifecycle } from './lifecycle.js'
import { NodeTable } from './node-table.js'
import { Notifier } from './notifier.js'
import { StatsPublisher } from './stats-publisher.js'
import { masterOptionsSchema, type MasterOptionsInput } from './options.js'
import type { MasterParts } from './parts.js'
import type { Transport } from './transport.js'

export interface MasterDeps {
  transport: Transport
  store: JobStore
  logger?: Logger
  visibility?: Visibility
  random?: () => number
  /** Fixed by `edgerun master`, which must name the instance in its will before the master exists. */
  instance?: string
  /** An elected master's term, host and pid: in its state, every assign and control (docs/protocol.md §7a). */
  identity?: MasterIdentity
  /** The embedding broker's own refusal counters, for the `stats` rpc. */
  brokerCounters?: () => Record<string, number>
  /** Whether a client subscription could receive `{ns}/master/jobs` (only the embedding broker knows). */
  jobFeedWatched?: () => boolean
}

export type { MasterEvents } from './events.js'

/**
 * The master. It routes each message to its handler; the parts
 * it builds own the state: the node table, the job table (queue, parking, read-ahead), the
 * lifecycle (transitions, deadlines, dispatch) and the commit gate (what waits for the disk). It
 * speaks only through a Transport, so the same code runs inside the broker or against any MQTT broker.
 */
export class Master extends EventEmitter<MasterEvents> {
  readonly instance: string
  private readonly parts: MasterParts
  private readonly store: JobStore
  private readonly submits: SubmitBatch
  private readonly transport: Transport
  private readonly visibility: Visibility
  private readonly jobFeed: JobFeed
  private readonly stats: StatsPublisher
  private closing: Promise<void> | undefined
  private started = false

  constructor(options: MasterOptionsInput, deps: MasterDeps) {
    super()
    this.instance = deps.instance ?? randomBytes(6).toString('base64url')
    this.transport = deps.transport
    this.store = deps.store
    this.visibility = deps.visibility ?? (() => 'all')
    const parsed = masterOptionsSchema.parse(options)
    // A store of another namespace would answer with that namespace's jobs (docs/storage.md).
    if (deps.store.namespace !== undefined && deps.store.namespace !== parsed.namespace) {
      throw new EdgerunError('STORE_UNAVAILABLE', `the job store holds namespace ${deps.store.namespace}'s jobs, not ${parsed.namespace}'s`)
    }
    const logger = (deps.logger ?? silentLogger()).child({ component: 'master' })
    const counters = new Counters()
    const nodes = new NodeTable()
    const notifier = new Notifier(deps.transport, parsed.namespace, deps.identity)
    const jobs = new JobTable(deps.store, parsed, counters, logger)
    // Only for whoever listens (a test, an embedder): unheard, an 'error' event would throw.
    const gate = new CommitGate(deps.store, notifier, nodes, counters, logger, (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error)
    })
    gate.onCommit = (seconds) => this.listenerCount('commit') > 0 && this.emit('commit', seconds)
    const lifecycle = new Lifecycle({ jobs, nodes, gate, notifier, counters, logger, options: parsed, random: deps.random, events: this })
    this.parts = { options: parsed, instance: this.instance, jobs, nodes, lifecycle, gate, notifier, counters, logger, brokerCounters: deps.brokerCounters, events: this }
    this.submits = new SubmitBatch(this.parts, this.visibility)
    this.jobFeed = new JobFeed(deps.transport, parsed.namespace, deps.jobFeedWatched)
    this.stats = new StatsPublisher(this.parts, deps.transport)
    notifier.onJob = (job) => (this.jobFeed.observe(job), this.stats.touch())
  }

  get namespace(): string {
    return this.parts.options.namespace
  }

  /** Who submitted the job (its reply topic's client id), live or stored; undefined if unknown. */
  ownerOf(jobId: string): string | null | undefined {
    return this.parts.jobs.lookup(jobId)?.owner
  }

  /** One of the counters the `stats` rpc reports from (0 when never counted). */
  counter(name: string): number {
    return this.parts.counters.get(name)
  }

  /** Every counter, by name: rejections, ignored messages, parking, read-ahead, losses. */
  counters(): Record<string, number> {
    return this.parts.counters.toJSON()
  }

  /** A submit that reached the master another way (a standby's buffer, docs/protocol.md §7a). */
  admitSubmit(payload: Buffer): void {
    if (!this.closing) this.submits.add(payload)
  }

  /**
   * Results a standby saw the previous master send (docs/protocol.md §7a): a worker's outbox
   * that resends one of them gets an ack only. Before start(), so before any outbox arrives.
   * `sinceWatched`: since when the standby saw every result; a result ended after it and not seen
   * is sent by this master. Without it (a restarted master), none is: the submitter's resubmit
   * gets it, with no second copy.
   */
  noteSentResults(seen: Iterable<{ jobId: string; replyTo: string; correlationId?: string; at: number }>, sinceWatched?: number): void {
    if (sinceWatched !== undefined) this.parts.notifier.coverSentResultsSince(sinceWatched)
    for (const { jobId, replyTo, correlationId, at } of seen) this.parts.notifier.noteSent(jobId, { replyTo, ...(correlationId !== undefined ? { correlationId } : {}) }, at)
  }

  /**
   * Results the previous master committed lately and was never seen sending (docs/protocol.md
   * §7a): it died between its commit and its reply, and the worker whose outbox would resend the
   * result may be gone too. Each is sent once, now; a later copy from an outbox gets an ack only.
   * After noteSentResults, so a result the standby saw leave is not among them. Returns how many.
   */
  sendUnsentResults(ended: Iterable<JobRecord>): number {
    let sent = 0
    for (const job of ended) if (sendUnsentResult(this.parts, job)) sent++
    return sent
  }

  /** Jobs waiting in the queue. */
  get queued(): number {
    return this.parts.jobs.queued
  }

  /** Whether the job is assigned to a node or running there, as far as the master knows. */
  inFlight(jobId: string): boolean {
    const state = this.parts.jobs.get(jobId)?.state
    return state === 'assigned' || state === 'running'
  }

  /**
   * What the master holds in memory: job records, queue entries, nodes and counter names. None
   * of it may grow with messages that make no job (a leak check's figures).
   */
  footprint(): { jobs: number; queued: number; nodes: number; counters: number } {
    const { jobs, nodes, counters } = this.parts
    return { jobs: jobs.resident, queued: jobs.queued, nodes: nodes.size, counters: Object.keys(counters.toJSON()).length }
  }

  /** For /readyz: started, not closing, and its last store commit went through. */
  get ready(): boolean {
    return this.started && !this.closing && !this.parts.gate.failing
  }

  /** Job, queue and node figures for metrics, read when they are scraped. */
  figures(): MasterFigures {
    return masterFigures(this.parts)
  }

  /** Nodes not offline (online or draining). */
  nodesOnline(): number {
    return this.parts.nodes.countOnline()
  }

  async start(): Promise<void> {
    const { parts } = this
    parts.lifecycle.recover(this.store.scanUnfinished?.() ?? this.store.loadUnfinished())
    const ns = this.namespace
    await this.transport.subscribe(
      [filters.allNodeStates(ns), filters.allNodeEvents(ns), topics.submit(ns), topics.rpc(ns)],
      (topic, payload, retained) => this.route(topic, payload, retained),
    )
    // Workers that see a new master instance republish their births and resend their outboxes.
    parts.notifier.masterState('online', this.instance)
    // Back from a lost connection (external broker): the will said offline, and what the nodes
    // sent meanwhile is gone, so say online again and ask every node for its birth and outbox.
    this.transport.onReconnect?.(() => {
      parts.notifier.masterState('online', this.instance)
      askForRebirths(parts)
    })
    parts.lifecycle.wake()
    this.stats.start()
    this.started = true
    parts.logger.info({ instance: this.instance, namespace: ns, store: this.store.kind }, 'master started')
  }

  /**
   * Idempotent. Tells the workers the master is gone, then lets the store finish its writes.
   * `deposed`: it lost its lease, so it says nothing more and waits for no write (docs/protocol.md §7a).
   */
  close(options: { deposed?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (options.deposed) {
        this.submits.stop()
        this.parts.lifecycle.stop()
        this.parts.gate.close()
        this.jobFeed.stop()
        this.stats.stop()
        await this.transport.close()
        return
      }
      this.submits.drain()
      this.submits.stop()
      this.parts.lifecycle.stop()
      this.parts.gate.close()
      this.jobFeed.stop()
      this.stats.stop()
      this.parts.notifier.masterState('offline', this.instance)
      await this.store.flush().catch(() => {})
      // The replies and acks of the last commits leave before the connection closes.
      await this.parts.gate.idle()
      await this.transport.close()
    })()
    return this.closing
  }

  private route(topic: string, payload: Buffer, retained = false): void {
    // Closing: whatever arrives now is for the next master (workers resend their outboxes to it).
    if (this.closing) return
    const parsed = parseTopic(this.namespace, topic)
    const { parts } = this
    if (parsed?.kind === 'submit') return this.submits.add(payload)
    // Whatever arrived after a submit must see it admitted (a cancel of it, say).
    this.submits.drain()
    try {
      switch (parsed?.kind) {
        case 'rpc':
          return handleRpc(parts, payload, this.visibility)
        case 'nodeState':
          return handleNodeState(parts, parsed.node, payload, retained)
        case 'nodeEvents':
          return handleNodeEvent(parts, parsed.node, payload)
        default:
          parts.counters.inc('ignored_topic')
      }
    } catch (error) {
      // A handler bug must cost one message, never the master.
      parts.counters.inc('handler_errors')
      parts.logger.error({ err: error, topic }, 'handler failed')
    }
  }
}
