import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type net from 'node:net'
import type { Aedes } from 'aedes'
import type { Logger } from '../../src/logging/logger.js'
import { listen } from '../aedes/listen.js'
import type { BasicAuth } from './basic-auth.js'
import type { Metrics } from './metrics.js'
import { hostAllowed } from './origin.js'
import { serveStatic } from './static-files.js'
import { acceptMqttOverWebSocket, pathOf } from './websocket.js'

export interface HttpServerOptions {
  host: string
  port: number
  metrics: Metrics
  /** Set off loopback: /metrics and /readyz then need HTTP basic credentials. */
  auth?: BasicAuth
  /** /readyz: whether this process should get traffic, and if not, why. */
  readiness: () => { ready: boolean; reason: string }
  /** A broker's Aedes: serves /mqtt. */
  aedes?: Aedes
  maxPacketBytes?: number
  /** The dashboard's built files (broker/http/dashboard-assets.ts), if any. */
  assetsDir?: string
  logger: Logger
}

export interface HttpHandle {
  readonly host: string
  readonly port: number
  readonly url: string
  close(): Promise<void>
}

/**
 * The one HTTP listener of a broker or master (docs/metrics.md, "The HTTP listener"): /healthz, /readyz,
 * /metrics, and on a broker the dashboard at / and MQTT over WebSocket at /mqtt.
 */
export async function startHttp(options: HttpServerOptions): Promise<HttpHandle> {
  const server = http.createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => {
      options.logger.error({ err: error, path: request.url }, 'http request failed')
      if (!response.headersSent) reply(response, 500, 'internal error\n')
      else response.destroy()
    })
  })
  // Slow-loris on the listener: a request must arrive whole in this time.
  server.requestTimeout = 10_000
  server.headersTimeout = 10_000
  const websocket = options.aedes ? acceptMqttOverWebSocket(server, options.aedes, options.maxPacketBytes ?? 1024 * 1024, options.host) : undefined
  await listen(server, options.host, options.port, '--http-port')
  const port = (server.address() as net.AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    host: options.host,
    port,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        websocket?.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

async function route(options: HttpServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = pathOf(request)
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD')
    return reply(response, 405, 'method not allowed\n')
  }
  if (path === '/healthz') return reply(response, 200, 'ok\n')
  if (!hostAllowed(request, options.host)) return reply(response, 403, 'a loopback listener answers only requests to a loopback name (Host)\n')
  if (path === '/metrics' || path === '/readyz') {
    if (options.auth && !(await options.auth.check(request))) {
      response.setHeader('www-authenticate', 'Basic realm="edgerun", charset="UTF-8"')
      return reply(response, 401, 'authentication required: HTTP basic, a user of the broker\'s users file\n')
    }
    if (path === '/readyz') {
      const { ready, reason } = options.readiness()
      return reply(response, ready ? 200 : 503, `${reason}\n`)
    }
    const text = await options.metrics.text()
    response.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : text)
    return
  }
  if (path === '/mqtt' && options.aedes) {
    response.setHeader('upgrade', 'websocket')
    return reply(response, 426, 'MQTT over WebSocket: connect with a WebSocket client speaking the mqtt subprotocol\n')
  }
  // The dashboard's files hold no data: what it shows comes over /mqtt, under MQTT credentials.
  if (options.assetsDir && (await serveStatic(options.assetsDir, path, request, response))) return
  if (path === '/') return reply(response, 200, `edgerun: ${options.aedes ? '/mqtt, ' : ''}/metrics, /healthz, /readyz${options.aedes ? ' (the dashboard is not built into this package)' : ''}\n`)
  reply(response, 404, 'not found\n')
}

function reply(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  response.end(body)
}
