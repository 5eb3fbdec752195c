import { EventEmitter } from 'node:events'
import type { Logger } from '../logging/logger.js'
import { Connection, type ConnectionOptions } from '../net/connection.js'
import { decode, masterStateSchema, parseTopic, type ParsedTopic } from '../protocol/index.js'

/** What every role needs to reach the broker (docs/protocol.md §1). */
export interface RoleOptions {
  url: string
  namespace: string
  username?: string
  password?: string
  ca?: Buffer
  keepaliveSec: number
  connectTimeoutMs: number
}

/** A master instance said `online` (docs/protocol.md §7). */
export interface MasterOnline {
  instance: string
  /** The instance that was online before, if any was seen. */
  previous: string | undefined
  /** Whether this role had never seen this instance before. */
  firstSeen: boolean
  /** Replayed by the broker on subscribe (RETAIN flag 1), not news from a live subscription. */
  retained: boolean
}

/**
 * What a worker and a client share, as bullmq's roles share QueueBase: one connection with its
 * topics set up again on every reconnect, incoming messages routed by topic, the master
 * instances seen on `{ns}/master/state`, and an idempotent close. `E` are the role's events;
 * every role has `offline`.
 */
export abstract class RoleBase<O extends RoleOptions, E extends Record<keyof E, unknown[]> & { offline: [] }, CloseOptions = void> extends EventEmitter<E> {
  protected connection!: Connection
  private closing: Promise<void> | undefined
  private master: string | undefined
  private readonly seenMasters = new Set<string>()
  /** The highest master term seen (docs/protocol.md §7a); 0 while only unelected masters spoke. */
  private highestTerm = 0
  /** Messages dropped because their term was lower than highestTerm. */
  protected staleTerms = 0
  /** Filters subscribed on demand, with how many holders each: subscribed again on every connection. */
  private readonly held = new Map<string, { qos: 0 | 1; holders: number }>()

  protected constructor(
    readonly options: O,
    protected readonly logger: Logger,
  ) {
    super()
  }

  protected get ns(): string {
    return this.options.namespace
  }

  /** The master instance last seen `online`. */
  get masterInstance(): string | undefined {
    return this.master
  }

  /** The highest master term this role has seen, 0 if none (docs/protocol.md §7a). */
  get masterTerm(): number {
    return this.highestTerm
  }

  /** Messages dropped for a stale term, on master/state, assign and control. */
  get staleTermDrops(): number {
    return this.staleTerms
  }

  /**
   * Follows the highest term: false (and counted) for a message whose term is lower than one
   * already seen, which a deposed master sent. A message without a term is from a master without
   * an election, and always passes.
   */
  protected acceptTerm(term: number | undefined, what: string): boolean {
    if (term === undefined) return true
    if (term < this.highestTerm) {
      this.staleTerms++
      this.logger.info({ term, highest: this.highestTerm, message: what }, 'dropped a message from a deposed master (stale term)')
      return false
    }
    this.highestTerm = term
    return true
  }

  /** The topics this role always listens on: subscribed on every connection, before `online`. */
  protected abstract subscribeOwnTopics(first: boolean): Promise<void>
  /** Once the topics of a connection are subscribed: the first one, or a later one. */
  protected abstract online(first: boolean): void
  /** A message on any topic but `{ns}/master/state`. */
  protected abstract route(parsed: ParsedTopic | undefined, topic: string, payload: Buffer, retained: boolean): void
  protected abstract shutdown(options?: CloseOptions): Promise<void>
  protected onMasterOnline(_change: MasterOnline): void {}
  /** Called as soon as a later connection is up, before its topics are. */
  protected reconnecting(): void {}

  /** Connects, or fails with a stable code if the first connection or its subscriptions fail. */
  protected async open(connection: Pick<ConnectionOptions, 'clientId' | 'will' | 'resendUnacked'>): Promise<void> {
    const { url, username, password, ca, keepaliveSec, connectTimeoutMs } = this.options
    this.connection = await Connection.open({ url, username, password, ca, keepaliveSec, connectTimeoutMs, logger: this.logger, ...connection })
    this.connection.on('message', (topic, payload, retained) => this.onMessage(topic, payload, retained))
    this.connection.on('disconnect', () => (this as EventEmitter<{ offline: [] }>).emit('offline'))
    this.connection.on('connect', () => {
      this.reconnecting()
      this.setUp(false).catch((error) => this.logger.warn({ err: error }, 'setting up the connection after a reconnect failed'))
    })
    try {
      await this.setUp(true)
    } catch (error) {
      await this.connection.close()
      throw error
    }
  }

  private async setUp(first: boolean): Promise<void> {
    await this.subscribeOwnTopics(first)
    for (const [filter, { qos }] of this.held) await this.connection.subscribe([filter], qos)
    this.online(first)
  }

  /** Subscribes to `filter` until as many `release` calls, on this connection and every later one. */
  protected hold(filter: string, qos: 0 | 1 = 1): Promise<void> {
    const entry = this.held.get(filter)
    if (entry) entry.holders++
    else this.held.set(filter, { qos, holders: 1 })
    return this.connection.subscribe([filter], qos)
  }

  protected async release(filter: string): Promise<void> {
    const entry = this.held.get(filter)
    if (!entry || --entry.holders > 0) return
    this.held.delete(filter)
    await this.connection.unsubscribe([filter])
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const parsed = parseTopic(this.ns, topic)
    if (parsed?.kind === 'masterState') return this.onMasterState(payload, retained)
    this.route(parsed, topic, payload, retained)
  }

  private onMasterState(payload: Buffer, retained: boolean): void {
    const decoded = decode(masterStateSchema, payload)
    // A will of a lower term is a deposed master's: the active one said online since.
    if (!decoded.ok || !this.acceptTerm(decoded.value.term, `master/state ${decoded.value.state}`)) return
    if (decoded.value.state !== 'online') return
    const { instance, term } = decoded.value
    const previous = this.master
    // A master elected again is new to us: it knows nothing of what we did under another.
    const key = term === undefined ? instance : `${instance}/${term}`
    const firstSeen = !this.seenMasters.has(key)
    this.master = instance
    this.seenMasters.add(key)
    this.onMasterOnline({ instance, previous, firstSeen, retained })
  }

  /** Idempotent: every call gets the first one's promise. */
  close(options?: CloseOptions): Promise<void> {
    return this.closeWith(() => this.shutdown(options))
  }

  protected closeWith(stop: () => Promise<void>): Promise<void> {
    this.closing ??= stop()
    return this.closing
  }

  protected get closed(): boolean {
    return this.closing !== undefined
  }
}
