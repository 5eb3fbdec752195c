import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { hostAllowed, originAllowed } from './origin.js'

/**
 * `/mqtt`: MQTT over WebSocket (docs/protocol.md, "Transports"). Each socket becomes one more
 * connection of the same Aedes: the same authentication at CONNECT, the same ACL, the same
 * connection and packet-size limits (broker/aedes/guard.ts wraps `aedes.handle`).
 */
export function acceptMqttOverWebSocket(server: Server, aedes: Aedes, maxPacketBytes: number, listenerHost: string, path = '/mqtt'): { close(): void } {
  // One WebSocket message may carry a whole MQTT packet, but no more than the broker accepts.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPacketBytes + 16, perMessageDeflate: false, handleProtocols: pickProtocol })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request) !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (!hostAllowed(request, listenerHost) || !originAllowed(request)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      request.socket.setNoDelay(true)
      const stream = createWebSocketStream(ws) as Duplex & { remoteAddress?: string }
      stream.remoteAddress = request.socket.remoteAddress
      // A peer that vanishes surfaces as a stream error; Aedes closes the client on 'close'.
      stream.on('error', () => stream.destroy())
      aedes.handle(stream, request)
    })
  })
  return {
    close() {
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}

/** MQTT over WebSocket names its subprotocol `mqtt` (MQTT 3.1.1 §6); older clients say `mqttv3.1`. */
function pickProtocol(protocols: Set<string>): string | false {
  for (const name of ['mqtt', 'mqttv3.1']) if (protocols.has(name)) return name
  return false
}

export function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/'
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}
