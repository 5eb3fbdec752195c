import { EventEmitter } from 'node:events'
import { MqttClient, type IClientOptions, type IClientPublishOptions } from 'mqtt'
import { EdgerunError } from '../errors/index.js'
import { silentLogger, type Logger } from '../logging/logger.js'
import { Backoff } from './backoff.js'
import { openStream, parseBrokerUrl } from './stream.js'
import { maskUrl } from '../logging/mask-url.js'

export interface Will {
  topic: string
  payload: Buffer
  qos: 0 | 1
  retain: boolean
}

export interface ConnectionOptions {
  url: string
  clientId: string
  username?: string
  password?: string
  ca?: Buffer
  keepaliveSec?: number
  /** Called before every connect attempt: lets a worker give each connection its own epoch. */
  will?: () => Will
  /** How long the first connect may take before it fails with BROKER_UNREACHABLE. */
  connectTimeoutMs?: number
  backoff?: { initialMs: number; maxMs: number }
  /**
   * false: a QoS 1 publish that a connection took down with it unacknowledged, or that was made
   * while no connection was up, is dropped (its promise rejects) instead of sent again on the next
   * connection, as mqtt.js would. For a process whose protocol resends what matters on its own
   * (the worker: its outbox and its birth, docs/protocol.md §9) such a replay is a duplicate.
   */
  resendUnacked?: boolean
  logger?: Logger
}

export interface ConnectionEvents {
  connect: []
  disconnect: [reason: string]
  /** `retained`: a stored message replayed on subscribe, not one published just now. */
  message: [topic: string, payload: Buffer, retained: boolean]
}

/**
 * One MQTT 3.1.1 connection with what mqtt.js lacks: TCP_NODELAY, capped exponential backoff with
 * jitter, a will recomputed per connection, and first-connect errors mapped to stable codes.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly client: MqttClient
  private readonly backoff: Backoff
  private readonly logger: Logger
  private closing: Promise<void> | undefined
  /** Set when close() begins, before mqtt.js can emit anything from end(). */
  private closed = false

  private constructor(private readonly options: ConnectionOptions) {
    super()
    this.logger = options.logger ?? silentLogger()
    this.backoff = new Backoff(options.backoff?.initialMs ?? 100, options.backoff?.maxMs ?? 5_000)
    const endpoint = parseBrokerUrl(options.url)
    const mqttOptions: IClientOptions = {
      protocolVersion: 4,
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      keepalive: options.keepaliveSec ?? 10,
      clean: true,
      resubscribe: false,
      reconnectPeriod: this.backoff.next(),
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      manualConnect: true,
      // mqtt.js formats a debug line per packet unless given a logger; ours is silent here.
      log: () => {},
    }
    this.client = new MqttClient(() => openStream(endpoint, { ca: options.ca }), mqttOptions)
    this.client.setMaxListeners(0)
    this.applyWill()
    // Runs before mqtt.js's own close handler, so the next reconnect timer uses the new delay.
    this.client.prependListener('close', () => {
      const client = this.client as unknown as { reconnectTimer: NodeJS.Timeout | null }
      if (client.reconnectTimer) {
        clearInterval(client.reconnectTimer)
        client.reconnectTimer = null
      }
      // A closed connection stays closed: with manualConnect, mqtt.js's end() clears its
      // `disconnecting` flag once done, and a socket that closes after that (a refused first
      // connect does) would otherwise start a reconnect timer that keeps the process alive.
      this.client.options.reconnectPeriod = this.closed ? 0 : this.backoff.next()
    })
    if (options.resendUnacked === false) this.client.prependListener('close', () => this.dropUnacked())
    this.client.on('reconnect', () => this.applyWill())
    this.client.on('connect', () => {
      this.backoff.reset()
      this.emit('connect')
    })
    this.client.on('close', () => {
      if (!this.closing) this.emit('disconnect', 'connection closed')
    })
    this.client.on('error', (error) => this.logger.debug({ err: error }, 'mqtt error'))
    this.client.on('message', (topic, payload, packet) => this.emit('message', topic, payload, packet.retain === true))
  }

  /** Connects, or fails with a stable code if the first connection cannot be made. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    const connection = new Connection(options)
    await connection.firstConnect()
    return connection
  }

  get connected(): boolean {
    return this.client.connected
  }

  private applyWill(): void {
    const will = this.options.will?.()
    this.client.options.will = will
      ? { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain }
      : undefined
  }

  /** The connection is gone: forget its unacknowledged publishes, so mqtt.js has none to replay. */
  private dropUnacked(): void {
    const client = this.client as unknown as {
      outgoing: Record<string, { cb?: (error?: Error) => void }>
      outgoingStore: { del(packet: { messageId: number }, cb: () => void): void }
    }
    for (const [id, entry] of Object.entries(client.outgoing)) {
      delete client.outgoing[id]
      client.outgoingStore.del({ messageId: Number(id) }, () => {})
      entry.cb?.(new EdgerunError('CONNECTION_LOST', 'connection lost before the broker acknowledged the publish'))
    }
  }

  private firstConnect(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000
    return new Promise<void>((resolve, reject) => {
      let lastError: Error | undefined
      const cleanup = () => {
        clearTimeout(timer)
        this.client.off('connect', onConnect)
        this.client.off('error', onError)
      }
      const fail = (error: EdgerunError) => {
        cleanup()
        void this.close()
        reject(error)
      }
      const onConnect = () => {
        cleanup()
        resolve()
      }
      const onError = (error: Error & { code?: string | number }) => {
        lastError = error
        if (error.code === 4 || error.code === 5) {
          fail(new EdgerunError('NOT_AUTHORIZED', `not authorized: check --username/--password (broker ${maskUrl(this.options.url)})`))
        } else if (error.code === 2) {
          fail(new EdgerunError('NOT_AUTHORIZED', `the broker at ${maskUrl(this.options.url)} rejected client id "${this.options.clientId}"`))
        } else if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') {
          fail(new EdgerunError('BROKER_UNREACHABLE', `cannot reach the broker at ${maskUrl(this.options.url)} (${error.code}): is \`edgerun broker\` running there?`))
        }
      }
      const timer = setTimeout(() => {
        const why = lastError ? `: ${lastError.message}` : ''
        fail(new EdgerunError('BROKER_UNREACHABLE', `cannot reach the broker at ${maskUrl(this.options.url)} within ${timeoutMs} ms${why}`))
      }, timeoutMs)
      this.client.on('connect', onConnect)
      this.client.on('error', onError)
      this.client.connect()
    })
  }

  publish(topic: string, payload: Buffer | string, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    if (this.options.resendUnacked === false && !this.client.connected) return Promise.reject(new EdgerunError('CONNECTION_LOST', 'not connected'))
    const publishOptions: IClientPublishOptions = { qos: options.qos ?? 1, retain: options.retain ?? false }
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, publishOptions, (error) => (error ? reject(error) : resolve()))
    })
  }

  subscribe(filters: string[], qos: 0 | 1 = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.subscribe(filters, { qos }, (error, granted) => {
        // mqtt.js 5 reports a SUBACK of 0x80 as an error carrying the packet.
        const codes = (error as { packet?: { granted?: number[] } } | null)?.packet?.granted
        if (granted?.some((grant) => grant.qos === 128) || codes?.includes(128)) {
          return reject(new EdgerunError('NOT_AUTHORIZED', `the broker refused the subscription to ${filters.join(', ')}`))
        }
        if (error) return reject(error)
        resolve()
      })
    })
  }

  unsubscribe(filters: string[]): Promise<void> {
    return new Promise((resolve) => {
      this.client.unsubscribe(filters, () => resolve())
    })
  }

  /** Idempotent. `force` drops the socket without DISCONNECT, so the broker publishes the will. */
  close(options: { force?: boolean } = {}): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      // Without a connection there is nobody to say DISCONNECT to, and mqtt.js would wait for a
      // reconnect that is never coming: end it at once. A polite end gets a bounded wait too.
      const force = (options.force ?? false) || !this.client.connected
      this.closed = true
      this.client.options.reconnectPeriod = 0
      // mqtt.js's polite end waits for every unacknowledged publish; a second end() is then a
      // no-op, so a silent broker is dealt with by dropping the socket.
      const timer = setTimeout(() => {
        this.client.stream?.destroy()
        resolve()
      }, 2_000)
      timer.unref()
      this.client.end(force, {}, () => {
        clearTimeout(timer)
        resolve()
      })
    })
    return this.closing
  }
}
