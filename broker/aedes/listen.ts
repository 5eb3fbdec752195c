import type net from 'node:net'
import { EdgerunError } from '../../src/errors/index.js'

/**
 * The accept queue asked of the kernel. Node's default of 511 overflows in a connect storm: at
 * 10,000 workers the kernel dropped SYNs by the thousand (ListenOverflows), and each dropped SYN
 * costs its client a 1 s, then 3 s, retransmit. The kernel caps it at net.core.somaxconn
 * (docs/deploy.md, "A large fleet").
 */
export const LISTEN_BACKLOG = 8192

/** Starts a listener, turning the usual failures into one clear line naming the flag to change. */
export function listen(server: net.Server, host: string, port: number, flag: '--port' | '--tls-port'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        const hint = flag === '--port' ? 'is another MQTT broker running? use --port' : 'use --tls-port'
        reject(new EdgerunError('PORT_IN_USE', `${flag === '--port' ? 'port' : 'TLS port'} ${port} on ${host} is in use: ${hint}`))
      } else if (error.code === 'EACCES') {
        reject(new EdgerunError('PORT_IN_USE', `no permission to listen on ${host}:${port}: use ${flag} above 1024`))
      } else {
        reject(new EdgerunError('INTERNAL', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error }))
      }
    }
    server.once('error', onError)
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
