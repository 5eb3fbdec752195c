import type { Aedes } from 'aedes'
import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { loadUsers, type UsersTable } from '../auth/users-file.js'
import type { Master } from '../master/master.js'
import { isLoopback } from '../options.js'
import { BasicAuth } from './basic-auth.js'
import { dashboardAssetsDir } from './dashboard-assets.js'
import { Metrics } from './metrics.js'
import type { HttpOptions } from './options.js'
import { startHttp, type HttpHandle } from './server.js'

/** The listener of `edgerun broker`: everything, /mqtt and the dashboard included. */
export async function startBrokerHttp(input: {
  options: HttpOptions
  host: string
  aedes: Aedes
  master: Master | undefined
  users: UsersTable | undefined
  maxPacketBytes: number
  logger: Logger
}): Promise<HttpHandle & { metrics: Metrics }> {
  const { aedes, master } = input
  const metrics = new Metrics({ master, mqttConnections: () => aedes.connectedClients })
  // Off loopback with --auth; without it the broker refused to start unless --allow-anonymous.
  const auth = input.users && !isLoopback(input.host) ? new BasicAuth(input.users) : undefined
  const handle = await startHttp({
    host: input.host,
    port: input.options.port,
    metrics,
    auth,
    readiness: () => readiness(master, !aedes.closed),
    aedes,
    maxPacketBytes: input.maxPacketBytes,
    assetsDir: dashboardAssetsDir(),
    logger: input.logger,
  }).catch((error) => {
    metrics.close()
    throw error
  })
  return { ...handle, metrics, close: () => handle.close().finally(() => metrics.close()) }
}

/**
 * The listener of `edgerun master`: /metrics, /healthz and /readyz. It has no users of its own,
 * so off loopback it needs a users file for HTTP basic (--http-auth).
 */
export async function startMasterHttp(input: { options: HttpOptions; master: Master; logger: Logger }): Promise<HttpHandle & { metrics: Metrics }> {
  const { options, master } = input
  const host = options.host ?? '127.0.0.1'
  if (!isLoopback(host) && !options.authFile) {
    throw new EdgerunError('UNSAFE_BIND', `refusing to serve HTTP on ${host} without authentication: add --http-auth FILE (see \`edgerun users add\`)`)
  }
  const users = options.authFile ? await loadUsers(options.authFile) : undefined
  const metrics = new Metrics({ master })
  const handle = await startHttp({
    host,
    port: options.port,
    metrics,
    auth: users && !isLoopback(host) ? new BasicAuth(users) : undefined,
    readiness: () => readiness(master, true),
    logger: input.logger,
  }).catch((error) => {
    metrics.close()
    throw error
  })
  return { ...handle, metrics, close: () => handle.close().finally(() => metrics.close()) }
}

function readiness(master: Master | undefined, brokerUp: boolean): { ready: boolean; reason: string } {
  if (!brokerUp) return { ready: false, reason: 'the broker is closing' }
  // A broker of a Redis cluster without a master serves MQTT: that is all it is for.
  if (!master) return { ready: true, reason: 'ready (no master in this broker)' }
  return master.ready ? { ready: true, reason: 'ready' } : { ready: false, reason: 'the master is not active or its store is failing' }
}
