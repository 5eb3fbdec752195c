import { EventEmitter } from 'node:events'
import net, { type AddressInfo, type Server, type Socket } from 'node:net'

/**
 * A fault-injecting TCP proxy for tests of flaky networks.
 *
 * Point a client at `proxy.port` and the proxy forwards every connection to `target`. Faults can
 * be injected into every connection (methods on the proxy, which also apply to connections
 * accepted later) or into one (methods on a `ProxyConnection`):
 *
 * - `cut()`: both sides are reset (RST); each peer sees ECONNRESET. `cut({ graceful: true })`
 *   ends both sides with a FIN instead.
 * - `stall()`: nothing crosses, in either direction: no data, no FIN, no RST. By default the
 *   bytes are held (reading stops, so the kernel buffers and then the sender's buffers fill, as
 *   on a congested link) and delivered in order on `resume()`: the stream stays intact, so an
 *   MQTT session survives a short stall. `stall({ drop: true })` is a true blackhole: bytes are
 *   read and discarded, so after `resume()` the stream is corrupt mid-frame; use it only where
 *   the peers must notice (keepalive) and reconnect. Ends and resets that happen during a stall
 *   are delivered on `resume()`.
 * - `delay(ms)`: every chunk is held `ms` before it is forwarded; order is preserved.
 * - `refuse(true)`: new connections are accepted and reset at once (the target is never
 *   contacted): to the client it looks like a broker that is down.
 *
 * `stall`, `delay` take `{ direction }`: `up` is client → target, `down` is target → client.
 */

export type Direction = 'up' | 'down' | 'both'

export interface FaultProxyOptions {
  target: { host: string; port: number }
  /** 0 (default) picks a free port. */
  listenPort?: number
  /** Default 127.0.0.1. */
  listenHost?: string
}

export interface StallOptions {
  /** Discard the bytes instead of holding them (a true blackhole). Default false. */
  drop?: boolean
  direction?: Direction
}

export interface CutOptions {
  /** End both sides with a FIN rather than reset them. Default false. */
  graceful?: boolean
}

export interface ProxyStats {
  /** Connections accepted and forwarded. */
  accepted: number
  /** Connections reset because of `refuse(true)`. */
  refused: number
  /** Connections open now. */
  active: number
  /** Bytes forwarded client → target and target → client, over all connections. */
  bytesUp: number
  bytesDown: number
  /** Bytes discarded by `stall({ drop: true })`. */
  dropped: number
}

type StallMode = 'hold' | 'drop' | null
type PauseReason = 'stall' | 'backpressure'

function directions(direction: Direction | undefined): Array<'up' | 'down'> {
  return direction === 'up' ? ['up'] : direction === 'down' ? ['down'] : ['up', 'down']
}

/** One direction of a connection: reads `src`, writes `dst`, through a queue that delay and stall act on. */
class Pipe {
  stall: StallMode = null
  delayMs = 0
  bytes = 0
  dropped = 0
  /** Set when `src` is gone: what to do to `dst` once everything before it is delivered. */
  private queue: Array<{ chunk: Buffer | 'end' | 'reset'; at: number }> = []
  private timer: NodeJS.Timeout | undefined
  private waitingDrain = false
  private terminated = false

  constructor(
    private readonly conn: ProxyConnection,
    readonly src: Socket,
    readonly dst: Socket,
    private readonly onBytes: (n: number, dropped: boolean) => void,
  ) {}

  data(chunk: Buffer): void {
    if (this.conn.wasCut) return
    if (this.stall === 'drop') {
      this.dropped += chunk.length
      this.onBytes(chunk.length, true)
      return
    }
    this.enqueue(chunk)
  }

  /** `src` ended (FIN) or failed (RST): pass it on, in order, after what is queued. */
  terminate(kind: 'end' | 'reset'): void {
    if (this.terminated) return
    this.terminated = true
    this.enqueue(kind)
  }

  setStall(mode: StallMode): void {
    this.stall = mode
    if (mode === 'drop') {
      // Bytes already "on the wire" are lost too; a pending end or reset is only deferred.
      for (const item of this.queue) if (Buffer.isBuffer(item.chunk)) this.dropped += item.chunk.length
      this.queue = this.queue.filter((item) => !Buffer.isBuffer(item.chunk))
    }
    if (mode === 'hold') this.conn.hold(this.src, 'stall')
    else this.conn.release(this.src, 'stall')
    if (mode === null) this.pump()
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue = []
  }

  private enqueue(chunk: Buffer | 'end' | 'reset'): void {
    this.queue.push({ chunk, at: Date.now() + this.delayMs })
    this.pump()
  }

  pump(): void {
    if (this.stall !== null || this.timer) return
    while (this.queue.length > 0) {
      const head = this.queue[0]!
      const wait = head.at - Date.now()
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined
          this.pump()
        }, wait)
        return
      }
      this.queue.shift()
      if (this.dst.destroyed || this.dst.writableEnded) continue
      if (head.chunk === 'end') {
        this.dst.end()
      } else if (head.chunk === 'reset') {
        this.dst.resetAndDestroy()
      } else {
        this.bytes += head.chunk.length
        this.onBytes(head.chunk.length, false)
        if (!this.dst.write(head.chunk) && !this.waitingDrain) {
          this.waitingDrain = true
          this.conn.hold(this.src, 'backpressure')
          this.dst.once('drain', () => {
            this.waitingDrain = false
            this.conn.release(this.src, 'backpressure')
          })
        }
      }
    }
  }
}

/** One proxied connection: the accepted client socket and the socket to the target. */
export class ProxyConnection extends EventEmitter {
  /** 1, 2, 3… in the order the proxy accepted them. */
  readonly id: number
  /** The client's port as the proxy sees it: the client socket's `localPort`. */
  readonly clientPort: number
  readonly openedAt = Date.now()
  /** Free for tests to name a connection ("worker-1"). */
  label: string | undefined
  readonly client: Socket
  readonly upstream: Socket

  private readonly up: Pipe
  private readonly down: Pipe
  private readonly pauses = new Map<Socket, Set<PauseReason>>()
  /** @internal Set by `cut()`: nothing is forwarded any more. */
  wasCut = false
  private clientClosed = false
  private upstreamClosed = false
  private isClosed = false
  private readonly closedPromise: Promise<void>
  private resolveClosed!: () => void

  /** @internal Made by FaultProxy. */
  constructor(
    id: number,
    client: Socket,
    target: { host: string; port: number },
    settings: { stall: Record<'up' | 'down', StallMode>; delayMs: Record<'up' | 'down', number> },
    onBytes: (direction: 'up' | 'down', n: number, dropped: boolean) => void,
  ) {
    super()
    this.id = id
    this.client = client
    this.clientPort = client.remotePort ?? 0
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve))
    this.upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
    this.upstream.setNoDelay(true)
    client.setNoDelay(true)
    this.up = new Pipe(this, client, this.upstream, (n, d) => onBytes('up', n, d))
    this.down = new Pipe(this, this.upstream, client, (n, d) => onBytes('down', n, d))
    for (const dir of ['up', 'down'] as const) {
      this.pipe(dir).delayMs = settings.delayMs[dir]
      if (settings.stall[dir]) this.pipe(dir).setStall(settings.stall[dir])
    }
    this.wire(client, this.up, () => (this.clientClosed = true))
    this.wire(this.upstream, this.down, () => (this.upstreamClosed = true))
  }

  get closed(): boolean {
    return this.isClosed
  }

  get stalled(): boolean {
    return this.up.stall !== null || this.down.stall !== null
  }

  get stats(): { bytesUp: number; bytesDown: number; droppedUp: number; droppedDown: number } {
    return { bytesUp: this.up.bytes, bytesDown: this.down.bytes, droppedUp: this.up.dropped, droppedDown: this.down.dropped }
  }

  /** Reset both sides now (or end them with `graceful`), whatever is queued or stalled. */
  cut(options: CutOptions = {}): void {
    if (this.isClosed) return
    this.wasCut = true
    this.up.dispose()
    this.down.dispose()
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue
      if (options.graceful) {
        socket.end()
        socket.resume() // keep reading so the peer's FIN completes the close
      } else {
        socket.resetAndDestroy()
      }
    }
  }

  stall(options: StallOptions = {}): void {
    for (const dir of directions(options.direction)) this.pipe(dir).setStall(options.drop ? 'drop' : 'hold')
  }

  resume(options: { direction?: Direction } = {}): void {
    for (const dir of directions(options.direction)) this.pipe(dir).setStall(null)
  }

  delay(ms: number, options: { direction?: Direction } = {}): void {
    for (const dir of directions(options.direction)) this.pipe(dir).delayMs = Math.max(0, ms)
  }

  /** Resolves once both sockets are closed; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return withTimeout(this.closedPromise, timeoutMs, `connection ${this.id} did not close within ${timeoutMs} ms`)
  }

  /** @internal */
  hold(socket: Socket, reason: PauseReason): void {
    let reasons = this.pauses.get(socket)
    if (!reasons) this.pauses.set(socket, (reasons = new Set()))
    reasons.add(reason)
    socket.pause()
  }

  /** @internal */
  release(socket: Socket, reason: PauseReason): void {
    const reasons = this.pauses.get(socket)
    if (!reasons?.delete(reason)) return
    if (reasons.size === 0 && !socket.destroyed) socket.resume()
  }

  private pipe(dir: 'up' | 'down'): Pipe {
    return dir === 'up' ? this.up : this.down
  }

  private wire(socket: Socket, out: Pipe, markClosed: () => void): void {
    socket.on('data', (chunk: Buffer) => out.data(chunk))
    socket.on('end', () => out.terminate('end'))
    socket.on('error', () => {
      // The 'close' that follows (hadError) carries the reset across.
    })
    socket.on('close', (hadError) => {
      markClosed()
      out.terminate(hadError ? 'reset' : 'end')
      if (this.clientClosed && this.upstreamClosed) this.finish()
    })
  }

  private finish(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.up.dispose()
    this.down.dispose()
    this.resolveClosed()
    this.emit('close')
  }
}

/** See the comment at the top of this file. */
export class FaultProxy extends EventEmitter {
  readonly port: number
  readonly host: string
  readonly target: { host: string; port: number }

  private readonly server: Server
  private readonly live = new Map<number, ProxyConnection>()
  private nextId = 1
  private refusing = false
  private readonly defaults = {
    stall: { up: null, down: null } as Record<'up' | 'down', StallMode>,
    delayMs: { up: 0, down: 0 } as Record<'up' | 'down', number>,
  }
  private readonly counters = { accepted: 0, refused: 0, bytesUp: 0, bytesDown: 0, dropped: 0 }
  private closing: Promise<void> | undefined

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const host = options.listenHost ?? '127.0.0.1'
    const server = net.createServer({ allowHalfOpen: true, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.listenPort ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return new FaultProxy(server, host, { ...options.target })
  }

  private constructor(server: Server, host: string, target: { host: string; port: number }) {
    super()
    this.server = server
    this.host = host
    this.port = (server.address() as AddressInfo).port
    this.target = target
    server.on('connection', (socket) => this.accept(socket))
    server.on('error', (error) => this.emit('error', error))
  }

  /** `mqtt://127.0.0.1:<port>` (or another scheme). */
  url(scheme = 'mqtt'): string {
    return `${scheme}://${this.host}:${this.port}`
  }

  /** Open connections, oldest first. */
  connections(): ProxyConnection[] {
    return [...this.live.values()]
  }

  connection(id: number): ProxyConnection | undefined {
    return this.live.get(id)
  }

  /** The open connection whose client socket has this local port (e.g. `mqttClient.stream.localPort`). */
  connectionFrom(clientPort: number): ProxyConnection | undefined {
    return this.connections().find((conn) => conn.clientPort === clientPort)
  }

  get stats(): ProxyStats {
    return { ...this.counters, active: this.live.size }
  }

  /** Resets every open connection (or ends it with `graceful`). New connections are unaffected. */
  cut(options: CutOptions = {}): void {
    for (const conn of this.connections()) conn.cut(options)
  }

  /** Stalls every open connection, and every one accepted until `resume()`. */
  stall(options: StallOptions = {}): void {
    for (const dir of directions(options.direction)) this.defaults.stall[dir] = options.drop ? 'drop' : 'hold'
    for (const conn of this.connections()) conn.stall(options)
  }

  resume(options: { direction?: Direction } = {}): void {
    for (const dir of directions(options.direction)) this.defaults.stall[dir] = null
    for (const conn of this.connections()) conn.resume(options)
  }

  /** Sets the latency of every open connection and of those accepted later; 0 removes it. */
  delay(ms: number, options: { direction?: Direction } = {}): void {
    for (const dir of directions(options.direction)) this.defaults.delayMs[dir] = Math.max(0, ms)
    for (const conn of this.connections()) conn.delay(ms, options)
  }

  /** While on, each new connection is reset as soon as it is accepted. Open ones are unaffected. */
  refuse(on = true): void {
    this.refusing = on
  }

  /** Resolves with the open connections once `count` have been accepted in total; rejects after `timeoutMs`. */
  waitForConnections(count: number, timeoutMs = 5000): Promise<ProxyConnection[]> {
    if (this.counters.accepted >= count) return Promise.resolve(this.connections())
    let listener: (() => void) | undefined
    const reached = new Promise<ProxyConnection[]>((resolve) => {
      listener = () => {
        if (this.counters.accepted >= count) resolve(this.connections())
      }
      this.on('connection', listener)
    })
    return withTimeout(
      reached,
      timeoutMs,
      `proxy accepted ${this.counters.accepted} of ${count} connections within ${timeoutMs} ms`,
    ).finally(() => listener && this.off('connection', listener))
  }

  /** Stops listening and destroys every connection. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      for (const conn of this.connections()) {
        conn.client.destroy()
        conn.upstream.destroy()
      }
    })
    return this.closing
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy()
      return
    }
    if (this.refusing) {
      this.counters.refused++
      socket.on('error', () => {})
      socket.resetAndDestroy()
      this.emit('refused')
      return
    }
    const conn = new ProxyConnection(this.nextId++, socket, this.target, this.defaults, (dir, n, dropped) => {
      if (dropped) this.counters.dropped += n
      else if (dir === 'up') this.counters.bytesUp += n
      else this.counters.bytesDown += n
    })
    this.counters.accepted++
    this.live.set(conn.id, conn)
    conn.once('close', () => {
      this.live.delete(conn.id)
      this.emit('close', conn)
    })
    this.emit('connection', conn)
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
