import net from 'node:net'
import type { Aedes } from 'aedes'
import { coalesceWrites } from '../../src/net/coalesce.js'
import { listen } from './listen.js'

/**
 * The TCP listener. Every accepted socket gets TCP_NODELAY: without it each QoS1 exchange waits
 * on Nagle plus delayed ACK, about 88 ms a round trip on this machine.
 */
export async function listenTcp(aedes: Aedes, host: string, port: number, maxConnections: number): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true)
    aedes.handle(coalesceWrites(socket))
  })
  server.maxConnections = maxConnections
  await listen(server, host, port, '--port')
  return server
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
