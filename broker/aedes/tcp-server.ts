import net from 'node:net'
import type { Aedes } from 'aedes'
import { EdgerunError } from '../../src/errors/index.js'
import { coalesceWrites } from '../../src/net/coalesce.js'

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
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new EdgerunError('PORT_IN_USE', `port ${port} on ${host} is in use: is another MQTT broker running? use --port`))
      } else if (error.code === 'EACCES') {
        reject(new EdgerunError('PORT_IN_USE', `no permission to listen on ${host}:${port}: use --port above 1024`))
      } else {
        reject(new EdgerunError('INTERNAL', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error }))
      }
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  return server
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
