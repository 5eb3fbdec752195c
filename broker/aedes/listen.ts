import type net from 'node:net'
import { EdgerunError } from '../../src/errors/index.js'

/**
 * The accept queue asked of the kernel. Node's default of 511 overflows in a connect storm: at
 * 10,000 workers the kernel dropped SYNs by the thousand (ListenOverflows), and each dropped SYN
 * costs its client a 1 s, then 3 s, retransmit. The kernel caps it at net.core.somaxconn
 * (docs/deploy.md, "A large fleet").
 */
export const LISTEN_BACKLOG = 8192

const WHAT = { '--port': 'port', '--tls-port': 'TLS port', '--http-port': 'HTTP port' } as const
const HINT = {
  '--port': 'is another MQTT broker running? use --port',
  '--tls-port': 'use --tls-port',
  '--http-port': 'use --http-port (0 picks a free one)',
} as const

/** Starts a listener, turning the usual failures into one clear line naming the flag to change. */
export function listen(server: net.Server, host: string, port: number, flag: '--port' | '--tls-port' | '--http-port'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new EdgerunError('PORT_IN_USE', `${WHAT[flag]} ${port} on ${host} is in use: ${HINT[flag]}`))
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
