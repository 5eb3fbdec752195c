import type { Aedes } from 'aedes'
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../../src/logging/logger.js'
import type { Counters } from '../master/counters.js'

export interface ConnectionLimits {
  /** Open connections over every listener (TCP and TLS) together. */
  maxConnections: number
  /** The largest MQTT packet, fixed header included, a connection may send. */
  maxPacketBytes: number
}

/**
 * Follows MQTT framing over a byte stream without buffering anything: it reads each fixed
 * header and remaining length, then skips the body by count. So a packet's declared size is
 * known from its first 2-5 bytes, before mqtt-packet starts to collect the body.
 */
export class FrameScanner {
  private state: 'header' | 'length' | 'body' = 'header'
  private length = 0
  private multiplier = 1
  private lengthBytes = 0
  private remaining = 0

  constructor(private readonly maxPacketBytes: number) {}

  /** The declared size of the first packet over the limit (Infinity if malformed), or 0. */
  feed(chunk: Uint8Array): number {
    let i = 0
    while (i < chunk.length) {
      if (this.state === 'header') {
        i++
        this.state = 'length'
        this.length = 0
        this.multiplier = 1
        this.lengthBytes = 0
      } else if (this.state === 'length') {
        const byte = chunk[i++]!
        this.length += (byte & 0x7f) * this.multiplier
        this.multiplier *= 128
        this.lengthBytes++
        if (byte & 0x80) {
          if (this.lengthBytes >= 4) return Infinity
          continue
        }
        const total = 1 + this.lengthBytes + this.length
        if (total > this.maxPacketBytes) return total
        this.remaining = this.length
        this.state = this.remaining > 0 ? 'body' : 'header'
      } else {
        const take = Math.min(this.remaining, chunk.length - i)
        i += take
        this.remaining -= take
        if (this.remaining === 0) this.state = 'header'
      }
    }
    return 0
  }
}

/**
 * Wraps `aedes.handle` (which every listener calls for each accepted socket) with two limits:
 * the connection cap across all listeners, and the packet-size cap, checked on the bytes Aedes
 * reads before its parser sees them. A connection over either limit is closed: MQTT 3.1.1 has no
 * way to say why (a worker's will still fires, as for any lost connection).
 */
export function guardConnections(aedes: Aedes, limits: ConnectionLimits, counters: Counters, logger: Logger): void {
  const handle = aedes.handle
  let open = 0
  aedes.handle = (stream, request) => {
    const conn = stream as Duplex & { remoteAddress?: string }
    if (open >= limits.maxConnections) {
      counters.inc('connection_limit')
      logger.warn({ remote: conn.remoteAddress, open, max: limits.maxConnections }, 'connection refused: --max-connections reached')
      conn.destroy()
      return undefined as unknown as ReturnType<typeof handle>
    }
    open++
    conn.once('close', () => open--)
    const scanner = new FrameScanner(limits.maxPacketBytes)
    // Aedes pulls with conn.read() on 'readable'; every byte it parses passes through here first.
    const read = conn.read
    conn.read = function guardedRead(this: Duplex, size?: number) {
      const chunk: unknown = read.call(this, size)
      if (chunk instanceof Uint8Array) {
        const size = scanner.feed(chunk)
        if (size > 0) {
          counters.inc('packet_too_large')
          logger.warn({ remote: conn.remoteAddress, size: Number.isFinite(size) ? size : 'malformed', max: limits.maxPacketBytes }, 'packet too large; closing the connection')
          conn.read = read
          conn.destroy()
          return null
        }
      }
      return chunk
    }
    return handle(stream, request)
  }
}

/** A listener's own `maxConnections` refusals ('drop') count like the gate's. */
export function countDrops(server: net.Server, counters: Counters, logger: Logger): void {
  server.on('drop', (data) => {
    counters.inc('connection_limit')
    logger.warn({ remote: data?.remoteAddress }, 'connection refused: --max-connections reached')
  })
}
