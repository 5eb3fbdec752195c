import type net from 'node:net'
import tls from 'node:tls'
import type { Aedes } from 'aedes'
import { EdgerunError } from '../../src/errors/index.js'
import { coalesceWrites } from '../../src/net/coalesce.js'
import { listen } from './listen.js'

export interface TlsMaterial {
  cert: Buffer
  key: Buffer
}

/** A TLS handshake that has not finished in this time is dropped (slow-loris on the listener). */
const HANDSHAKE_TIMEOUT_MS = 10_000

/** Checks the certificate and key before anything listens, so a bad pair is one clear line. */
export function checkTlsMaterial(material: TlsMaterial, names: { cert: string; key: string }): TlsMaterial {
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key })
    return material
  } catch (error) {
    throw new EdgerunError('BAD_FLAG', `cannot use --tls-cert ${names.cert} with --tls-key ${names.key}: ${(error as Error).message}`, { cause: error })
  }
}

/**
 * The mqtts listener (docs/security.md). Like the TCP one, every socket gets TCP_NODELAY: a QoS 1
 * round trip must not wait on Nagle plus delayed ACK.
 */
export async function listenTls(aedes: Aedes, host: string, port: number, material: TlsMaterial, maxConnections: number): Promise<tls.Server> {
  const server = tls.createServer({ cert: material.cert, key: material.key, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, noDelay: true } as tls.TlsOptions & net.ServerOpts, (socket) => {
    socket.setNoDelay(true)
    aedes.handle(coalesceWrites(socket))
  })
  server.maxConnections = maxConnections
  // A failed handshake is the peer's problem; it must not reach the process as an 'error'.
  server.on('tlsClientError', (_error, socket) => socket.destroy())
  await listen(server, host, port, '--tls-port')
  return server
}
