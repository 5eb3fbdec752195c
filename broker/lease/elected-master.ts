import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { isEdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { Connection, type ConnectionOptions } from '../../src/net/connection.js'
import { decode, encode, filters, masterInstanceState, masterState, masterStateSchema, prefixes, topics, type MasterIdentity } from '../../src/protocol/index.js'
import { Master } from '../master/master.js'
import { MqttTransport } from '../master/mqtt-transport.js'
import type { MasterOptionsInput } from '../master/options.js'
import type { PgFence } from '../store/postgres-schema.js'
import { PostgresJobStore } from '../store/postgres-store.js'
import { FencedTransport } from './fenced-transport.js'
import { leaseOptionsSchema, type LeaseTimingInput } from './options.js'
import { PgLease } from './pg-lease.js'
import { watchBrokerLink } from './broker-link.js'
import { SentResults } from './sent-results.js'
import { sendUnsentResults } from './unsent-results.js'
import { SubmitBuffer, submitIdOf } from './submit-buffer.js'

export interface ElectedMasterOptions {
  /** How to reach the MQTT broker (no client id or will: this class sets both). */
  mqtt: Omit<ConnectionOptions, 'clientId' | 'will' | 'logger'>
  /** `postgres://…`: the job store and the lease. */
  storeUrl: string
  master: MasterOptionsInput & { namespace: string }
  lease?: LeaseTimingInput
  logger: Logger
  instance?: string
}

export interface ElectedMasterEvents {
  active: [term: number]
  standby: [term: number, reason: string]
}

interface Active {
  term: number
  connection: Connection
  transport: FencedTransport
  store: PostgresJobStore
  master: Master
}

/**
 * One of several masters of a namespace on a Postgres store (docs/protocol.md §7a): it stands
 * by until it wins the lease, then runs a Master under that term until it stops or loses it.
 *
 * - Its own retained `{ns}/masters/{instance}/state` (standby, online, offline) lives on a
 *   connection of its own whose will says offline.
 * - Elected with term T, it opens a second connection whose will is `{ns}/master/state` offline
 *   with T, opens the store fenced with T, and starts a Master: that loads the unfinished jobs,
 *   says online (workers rebirth and resend their outboxes), reconciles and assigns.
 * - Deposed, it shuts that Master's mouth at once (FencedTransport), drops the connection with a
 *   clean DISCONNECT (no will: the new master owns master/state), drops the store's unsaved
 *   writes (they would be refused anyway), says so in its log and stands by again.
 */
export class ElectedMaster extends EventEmitter<ElectedMasterEvents> {
  readonly instance: string
  private readonly identity: Required<Omit<MasterIdentity, 'term'>>
  private readonly lease: PgLease
  private readonly logger: Logger
  private home!: Connection
  private active: Active | undefined
  /** Activation and step-down, one at a time, in the order the lease decided them. */
  private transition: Promise<void> = Promise.resolve()
  private stopping = false
  /**
   * Every submit of the last seconds, active or not, aged on the lease's reachable clock: what a
   * master admitted but had not committed when it died or was deposed (a Postgres outage deposes
   * every master), for whichever master takes over next.
   */
  private readonly submits: SubmitBuffer
  /** While standing by: the results the active master was seen sending, for the next takeover. */
  private readonly sent = new SentResults()
  /** From standing by until the new Master has subscribed: results seen go to `sent`. */
  private watching = true
  /**
   * Since when the standby has seen every result without a break (its subscription to the reply
   * topics held): a result that ended after it and is not in `sent` was never sent.
   */
  private watchedSince: number | undefined
  /**
   * A job store opened while standing by, fenced with term 0 (it can write nothing) until a win
   * sets its term: a takeover need not wait for its connections and reader thread (under load
   * that wait was most of a takeover's own time).
   */
  private spare: Promise<{ store: PostgresJobStore; fence: PgFence } | undefined> | undefined
  /** Until when a submit heard on the standby connection after a takeover is checked for the new master. */
  private lateUntil = 0
  /** How long the active master may be without its broker before it gives the lease up. */
  private readonly brokerLossMs: number

  private constructor(private readonly options: ElectedMasterOptions) {
    super()
    this.instance = options.instance ?? randomBytes(6).toString('base64url')
    this.identity = { host: hostname(), pid: process.pid }
    this.logger = options.logger.child({ component: 'elected-master', instance: this.instance })
    const timing = leaseOptionsSchema.parse(options.lease ?? {})
    // Long enough to span a takeover: the lease running out, a poll, and the new master's start.
    this.lease = new PgLease({ url: options.storeUrl, namespace: this.ns, holder: this.instance, ...timing, logger: this.logger })
    this.submits = new SubmitBuffer(timing.ttlMs + timing.pollMs + 5_000, 100_000, () => this.lease.reachableClock())
    this.brokerLossMs = 3 * timing.ttlMs
    this.lease.on('elected', (term) => this.queue(() => this.activate(term)))
    // Contends again only once that master is down: never two Masters of this process at once.
    this.lease.on('deposed', (term, reason) =>
      this.queue(async () => {
        await this.stepDown(term, reason)
        if (!this.stopping) this.lease.contend()
      }),
    )
  }

  /** Connects as a standby and starts contending for the lease. */
  static async start(options: ElectedMasterOptions): Promise<ElectedMaster> {
    const elected = new ElectedMaster(options)
    const ns = elected.ns
    await elected.lease.ready()
    elected.home = await Connection.open({
      ...options.mqtt,
      clientId: `edgerun-master-${elected.instance}`,
      logger: elected.logger,
      will: () => ({ topic: topics.masterInstanceState(ns, elected.instance), payload: elected.ownState('offline'), qos: 1, retain: true }),
    })
    // After a reconnect the will may have said offline: say again what we are.
    // Results sent while this connection was down were not seen.
    elected.home.on('disconnect', () => (elected.watchedSince = undefined))
    elected.home.on('connect', () => {
      elected.announce(elected.active ? 'online' : 'standby')
      void elected.listen()
    })
    elected.home.on('message', (topic, payload) => {
      if (topic === topics.submit(ns)) {
        elected.submits.add(payload)
        elected.lateSubmit(payload)
      } else if (elected.watching && topic.startsWith(prefixes.replies(ns))) elected.sent.add(topic, payload)
    })
    // Subscribed before it says it stands by: from then on it holds every submit for the next master.
    await elected.listen()
    elected.announce('standby')
    elected.prepareSpare()
    elected.lease.start()
    return elected
  }

  get ns(): string {
    return this.options.master.namespace
  }

  /** The term this process is active under, or undefined while it stands by. */
  get term(): number | undefined {
    return this.active?.term
  }

  /** The running Master while active (tests read its counters). */
  get master(): Master | undefined {
    return this.active?.master
  }

  /**
   * A clean stop: as active, says offline and commits what is pending, then releases the lease
   * so that a standby takes over at once; then says offline on its own topic.
   */
  async stop(): Promise<void> {
    this.stopping = true
    await this.transition
    const active = this.active
    this.active = undefined
    if (active) {
      await active.master.close()
      await active.store.close().catch((error) => this.logger.error({ err: error }, 'job store close failed'))
    }
    await this.lease.release()
    const spare = await this.spare
    await spare?.store.close().catch(() => {})
    if (this.home.connected) await this.home.publish(topics.masterInstanceState(this.ns, this.instance), this.ownState('offline'), { qos: 1, retain: true }).catch(() => {})
    await this.home.close()
  }

  private queue(step: () => Promise<void>): void {
    this.transition = this.transition.then(step).catch((error) => this.logger.error({ err: error }, 'master transition failed'))
  }

  private async activate(term: number): Promise<void> {
    if (this.stopping) return
    if (!this.lease.holds(term)) return this.lease.stepDown('lost the lease before taking over', term)
    const ns = this.ns
    const identity: MasterIdentity = { term, ...this.identity }
    let connection: Connection | undefined
    let store: PostgresJobStore | undefined
    try {
      // Its will covers master/state with this term: a kill -9 from here on is announced.
      connection = await Connection.open({
        ...this.options.mqtt,
        clientId: `edgerun-master-${this.instance}-${term}`,
        logger: this.logger,
        will: () => ({ topic: topics.masterState(ns), payload: encode(masterState('offline', this.instance, Date.now(), identity)), qos: 1, retain: true }),
      })
      store = await this.storeFor(term)
    } catch (error) {
      await connection?.close({ force: true }).catch(() => {})
      await store?.close().catch(() => {})
      this.logger.error({ err: error, term }, 'could not take over; standing by')
      this.lease.stepDown('could not take over', term)
      this.prepareSpare()
      return
    }
    const transport = new FencedTransport(
      new MqttTransport(connection, this.logger),
      () => this.lease.holds(term),
      () => this.lease.stepDown('the lease ran out before the master could renew it', term),
    )
    const master = new Master(this.options.master, { transport, store, logger: this.logger, instance: this.instance, identity })
    master.on('error', (error) => {
      if (isEdgerunError(error) && error.code === 'STALE_TERM') this.lease.stepDown('the job store refused a write of a stale term', term)
    })
    const active: Active = { term, connection, transport, store, master }
    this.active = active
    watchBrokerLink(active.connection, this.brokerLossMs, (graceMs) => {
      if (this.active === active) this.lease.stepDown(`no connection to the broker for ${graceMs} ms`, term)
    })
    // Lost while connecting: the master never spoke.
    if (!this.lease.holds(term)) {
      this.lease.stepDown('lost the lease while taking over', term)
      return this.stepDown(term, 'lost the lease while taking over')
    }
    // Before any worker's outbox reaches it (they resend on its `online`).
    master.noteSentResults(this.sent.take(), this.watchedSince)
    await master.start()
    const watchedSince = this.watchedSince
    // A submit published just before the broker took the Master's subscription went to the
    // home connection only, and may still be on its way there. A round trip on that connection
    // (the broker answers after what it sent before) brings it in before the buffer is taken.
    await this.home.subscribe([topics.submit(ns)]).catch((error) => this.logger.warn({ err: error }, 'could not sync the submit buffer'))
    this.replaySubmits(master, store)
    sendUnsentResults(master, store, watchedSince, this.logger)
    this.keepMasterState(active, identity)
    this.announce('online')
    this.logger.info({ term }, 'active: serving the namespace')
    this.emit('active', term)
  }

  /**
   * A will of an older term can land on master/state after this master said online (its broker
   * noticed the death late), and it is retained: a role that subscribes later must not read it
   * as ours. Say online again over anything older.
   */
  private keepMasterState(active: Active, identity: MasterIdentity): void {
    const ns = this.ns
    active.connection.on('message', (topic, payload) => {
      if (topic !== topics.masterState(ns) || this.active !== active) return
      const decoded = decode(masterStateSchema, payload)
      if (!decoded.ok) return
      const { instance, state, term } = decoded.value
      if (instance === this.instance && state === 'online' && term === active.term) return
      if ((term ?? 0) > active.term) return this.lease.stepDown(`master ${instance} is online with term ${term}`, active.term)
      active.transport.publish(topics.masterState(ns), encode(masterState('online', this.instance, Date.now(), identity)), { qos: 1, retain: true })
    })
    void active.connection.subscribe([topics.masterState(ns)]).catch((error) => this.logger.warn({ err: error }, 'could not watch master/state'))
  }

  private async stepDown(term: number, reason: string): Promise<void> {
    const active = this.active
    if (!active || active.term !== term) return
    this.active = undefined
    active.transport.fence()
    await active.master.close({ deposed: true }).catch(() => {})
    // Its unsaved writes are the deposed term's: the fence refuses them, and they must not wait.
    await Promise.race([active.store.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000).unref())])
    this.logger.warn({ term, reason, dropped: active.transport.dropped }, 'deposed: sending and writing nothing more as active; standing by')
    if (!this.stopping) {
      this.announce('standby')
      this.watching = true
      void this.listen()
      this.prepareSpare()
    }
    this.emit('standby', term, reason)
  }

  private prepareSpare(): void {
    if (this.spare || this.stopping) return
    const fence: PgFence = { holder: this.instance, term: 0 }
    this.spare = PostgresJobStore.open({ url: this.options.storeUrl, namespace: this.ns, logger: this.logger, borrow: true, fence }).then(
      (store) => ({ store, fence }),
      (error: unknown) => {
        this.logger.warn({ err: error }, 'could not open a spare job store; a takeover opens its own')
        return undefined
      },
    )
  }

  /** The spare store with the won term, or a new one if there is none. */
  private async storeFor(term: number): Promise<PostgresJobStore> {
    const spare = await this.spare
    this.spare = undefined
    if (spare) {
      // The same object the store's tables check every batch against.
      spare.fence.term = term
      return spare.store
    }
    return PostgresJobStore.open({ url: this.options.storeUrl, namespace: this.ns, logger: this.logger, borrow: true, fence: { holder: this.instance, term } })
  }

  /** Every submit, always; and while standing by, every result the active master sends. */
  private listen(): Promise<void> {
    if (!this.home.connected) return Promise.resolve()
    const watching = this.watching
    const filtersNow = watching ? [topics.submit(this.ns), filters.allReplies(this.ns)] : [topics.submit(this.ns)]
    const asked = Date.now()
    return this.home.subscribe(filtersNow).then(
      () => {
        if (watching && this.watching && this.home.connected) this.watchedSince ??= asked
      },
      (error) => this.logger.warn({ err: error }, 'could not listen for submits and results'),
    )
  }

  /**
   * Submits heard lately that no master admitted (their id is unknown): sent during the takeover,
   * when no master listened, or admitted by a master that died or was deposed before committing
   * them (during a Postgres outage, however long: the buffer ages only while Postgres answers).
   * Known ids were answered by a previous master.
   */
  private replaySubmits(master: Master, store: PostgresJobStore): void {
    this.watching = false
    const watchedSince = this.watchedSince
    this.watchedSince = undefined
    this.lateUntil = Date.now() + 2_000
    void this.home.unsubscribe([filters.allReplies(this.ns)]).catch(() => {})
    // Seen since start() began: sent by no other master now, but seen sent all the same.
    master.noteSentResults(this.sent.take())
    if (this.submits.overflowed > 0) {
      this.logger.warn({ dropped: this.submits.overflowed }, 'submits held for the next master overflowed the buffer: the oldest were dropped')
      this.submits.overflowed = 0
    }
    const heard = this.submits.take().map((payload) => ({ payload, id: submitIdOf(payload) }))
    // One query for all of them: the store knows every job the previous master committed.
    const known = store.getMany([...new Set(heard.flatMap(({ id }) => (id === undefined ? [] : [id])))])
    let replayed = 0
    for (const { payload, id } of heard) {
      if (id === undefined || known.has(id)) continue
      master.admitSubmit(payload)
      replayed++
    }
    if (replayed > 0) this.logger.info({ heard: heard.length, replayed }, 'admitted the submits no master had admitted')
  }

  /**
   * Just after a takeover, a submit the broker routed to the standby connection before the active
   * connection's subscription took hold can arrive after the buffer was taken (two connections,
   * no order between them): the active subscription never got it, and the buffer would keep it
   * only for a next takeover. Once the active copy, if any, has had time to be admitted, an id the
   * store (with its pending writes) does not know is admitted here.
   */
  private lateSubmit(payload: Buffer): void {
    const active = this.active
    if (!active || Date.now() > this.lateUntil) return
    const id = submitIdOf(payload)
    if (id === undefined) return
    setTimeout(() => {
      if (this.active !== active) return
      try {
        if (active.store.getMany([id]).has(id)) return
      } catch (error) {
        // The store went with a step-down meanwhile: the next master's buffer holds the submit.
        return this.logger.debug({ err: error, jobId: id }, 'late submit not checked')
      }
      this.logger.debug({ jobId: id }, 'a submit heard on the standby connection just after the takeover: admitted')
      active.master.admitSubmit(payload)
    }, 250).unref()
  }

  private ownState(state: 'standby' | 'online' | 'offline'): Buffer {
    const term = state === 'standby' ? undefined : this.active?.term
    return encode(masterInstanceState(state, this.instance, { ...(term !== undefined ? { term } : {}), ...this.identity }))
  }

  private announce(state: 'standby' | 'online'): void {
    if (!this.home?.connected) return
    this.home.publish(topics.masterInstanceState(this.ns, this.instance), this.ownState(state), { qos: 1, retain: true }).catch((error) => {
      this.logger.debug({ err: error }, 'own state publish failed')
    })
  }
}
