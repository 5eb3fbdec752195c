import net from 'node:net'
import tls from 'node:tls'
import { EdgerunError } from '../errors/index.js'
import { coalesceWrites } from './coalesce.js'

export interface Endpoint {
  protocol: 'mqtt' | 'mqtts'
  host: string
  port: number
}

export function parseBrokerUrl(url: string): Endpoint {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new EdgerunError('BAD_FLAG', `invalid broker URL "${url}": expected mqtt://host:port or mqtts://host:port`)
  }
  const scheme = parsed.protocol.replace(/:$/, '')
  const protocol = scheme === 'mqtt' || scheme === 'tcp' ? 'mqtt' : scheme === 'mqtts' || scheme === 'ssl' || scheme === 'tls' ? 'mqtts' : undefined
  if (!protocol) throw new EdgerunError('BAD_FLAG', `unsupported URL scheme "${scheme}" in ${url}: use mqtt:// or mqtts://`)
  const port = parsed.port ? Number(parsed.port) : protocol === 'mqtt' ? 1883 : 8883
  return { protocol, host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port }
}

/**
 * Without TCP_NODELAY every small QoS1 exchange waits on Nagle plus delayed ACK (~40-90 ms a
 * round trip here), so every socket we open sets it.
 */
export function openStream(endpoint: Endpoint, tlsOptions: { ca?: Buffer; rejectUnauthorized?: boolean } = {}): net.Socket {
  if (endpoint.protocol === 'mqtts') {
    const socket = tls.connect({
      host: endpoint.host,
      port: endpoint.port,
      ca: tlsOptions.ca,
      rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
      servername: net.isIP(endpoint.host) ? undefined : endpoint.host,
    })
    socket.setNoDelay(true)
    return coalesceWrites(socket)
  }
  return coalesceWrites(net.createConnection({ host: endpoint.host, port: endpoint.port, noDelay: true }))
}
