import { readFileSync } from 'node:fs'
import type net from 'node:net'
import type tls from 'node:tls'
import { Aedes } from 'aedes'
import { EdgerunError } from '../src/errors/index.js'
import { silentLogger, type Logger } from '../src/logging/logger.js'
import { prefixes, topics } from '../src/protocol/index.js'
import { AedesTransport } from './master/aedes-transport.js'
import { Master } from './master/master.js'
import { brokerOptionsSchema, isLoopback, type BrokerOptions, type BrokerOptionsInput } from './options.js'
import { closeServer, listenTcp } from './aedes/tcp-server.js'
import { countDrops, guardConnections } from './aedes/guard.js'
import { SubscriptionWatch } from './aedes/subscription-watch.js'
import { BrokerSecurity } from './aedes/hooks.js'
import { WorkerBudget } from './aedes/worker-budget.js'
import { indexRetained } from './aedes/retained-index.js'
import { checkTlsMaterial, listenTls, type TlsMaterial } from './aedes/tls-server.js'
import { loadUsers } from './auth/users-file.js'
import { openMasterStore, type StoreSpec } from './store/store-url.js'
import type { JobStore } from './store/job-store.js'
import type { HttpHandle } from './http/server.js'

/** Aedes's heartbeat between clustered brokers: a dead broker's clients' wills go out 3–7 s after it died. */
const CLUSTER_HEARTBEAT_MS = 1_000

export interface BrokerNodeHandle {
  readonly options: BrokerOptions
  readonly aedes: Aedes
  /** Undefined on a broker that joins a Redis cluster without a master of its own. */
  readonly master: Master | undefined
  readonly store: JobStore | undefined
  readonly host: string
  readonly port: number
  readonly url: string
  /** Set when the mqtts listener is on. */
  readonly tlsPort?: number
  readonly tlsUrl?: string
  /** Set when the HTTP listener is on (broker/http): /metrics, /healthz, /readyz, /mqtt, the dashboard. */
  readonly http?: HttpHandle
  /** Authentication, ACL and limits; its counters record every refusal. */
  readonly security: BrokerSecurity
  close(): Promise<void>
}

export interface BrokerHandle extends BrokerNodeHandle {
  readonly master: Master
  readonly store: JobStore
}

/** `edgerun broker`: Aedes on TCP with the master inside it, talking to it in-process. */
export async function startBroker(input: BrokerOptionsInput = {}, deps: { logger?: Logger } = {}): Promise<BrokerHandle> {
  const handle = await launch(brokerOptionsSchema.parse({ ...input, runMaster: true }), deps.logger)
  return handle as BrokerHandle
}

/**
 * `edgerun broker --redis URL --no-master`: one more Aedes process of a broker clustered over
 * Redis (retained messages, sessions and routing shared), with no master of its own, since a
 * cluster has exactly one.
 */
export async function startBrokerNode(input: BrokerOptionsInput = {}, deps: { logger?: Logger } = {}): Promise<BrokerNodeHandle> {
  return launch(brokerOptionsSchema.parse(input), deps.logger)
}

async function launch(options: BrokerOptions, parentLogger: Logger | undefined): Promise<BrokerNodeHandle> {
  const logger = parentLogger ?? silentLogger()
  if (!options.runMaster && !options.redisUrl) {
    throw new EdgerunError('BAD_FLAG', '--no-master only makes sense with --redis URL: a lone broker without a master runs no jobs')
  }
  const tlsHost = options.tlsHost ?? options.host
  const httpHost = options.http?.host ?? options.host
  for (const host of [options.host, ...(options.tlsPort !== undefined ? [tlsHost] : []), ...(options.http ? [httpHost] : [])]) {
    if (!isLoopback(host) && !options.authFile && !options.allowAnonymous) {
      throw new EdgerunError(
        'UNSAFE_BIND',
        `refusing to listen on ${host} without authentication: add --auth FILE (see \`edgerun users add\`) or --allow-anonymous`,
      )
    }
  }
  if (options.authFile && options.allowAnonymous) {
    throw new EdgerunError('BAD_FLAG', '--auth and --allow-anonymous contradict each other: with --auth every connection must log in')
  }
  const tlsContext = options.tlsPort !== undefined ? loadTls(options) : undefined
  if (options.tlsPort === undefined && (options.tlsCert || options.tlsKey || options.tlsHost)) {
    throw new EdgerunError('BAD_FLAG', '--tls-cert, --tls-key and --tls-host need --tls-port')
  }
  const users = options.authFile ? await loadUsers(options.authFile) : undefined
  if (users?.size === 0) logger.warn({ file: options.authFile }, 'the users file has no users: nobody can connect')
  let master: Master | undefined
  if (options.maxWorkers >= options.maxConnections) {
    logger.warn({ maxWorkers: options.maxWorkers, maxConnections: options.maxConnections }, 'no headroom: workers may take every connection; lower --max-workers below --max-connections')
  }
  const security = new BrokerSecurity({
    users,
    logger,
    workers: new WorkerBudget(options.maxWorkers),
    acl: {
      namespace: options.master.namespace,
      ownerOf: (jobId) => master?.ownerOf(jobId),
    },
  })
  let transport: AedesTransport | undefined
  // The master's order: publish the assignment, flush the transport, then commit (docs/storage.md).
  const beforeCommit = () => transport?.flush()
  const store = !options.runMaster ? undefined : await openMasterStore(storeSpecOf(options), { namespace: options.master.namespace, logger, beforeCommit })
  const cluster = options.redisUrl ? await redisBacking(options.redisUrl) : {}
  // mqemitter's default of 100 messages in flight throttles a broker that fans out per job.
  // Clustered, the heartbeat is how a broker learns that another died, and only then does it
  // publish the wills of the dead broker's clients (a worker there still looks online): Aedes
  // does so between 3 and 7 heartbeats after the last one heard.
  const heartbeatInterval = options.redisUrl ? CLUSTER_HEARTBEAT_MS : 60_000
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval, concurrency: 10_000, ...cluster, ...security.hooks() })
  if (!options.redisUrl) indexRetained(aedes)
  guardConnections(aedes, { maxConnections: options.maxConnections, maxPacketBytes: options.maxPacketBytes }, security.counters, logger)
  aedes.on('clientError', (client, error) => logger.debug({ client: client?.id, err: error }, 'client error'))
  aedes.on('connectionError', (client, error) => logger.debug({ client: client?.id, err: error }, 'connection error'))
  let server: net.Server
  let tlsServer: tls.Server | undefined
  try {
    server = await listenTcp(aedes, options.host, options.port, options.maxConnections)
    if (tlsContext && options.tlsPort !== undefined) {
      tlsServer = await listenTls(aedes, tlsHost, options.tlsPort, tlsContext, options.maxConnections).catch(async (error) => {
        await closeServer(server)
        throw error
      })
    }
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await store?.close()
    throw error
  }
  for (const listener of [server, tlsServer]) if (listener) countDrops(listener, security.counters, logger)
  const address = server.address() as net.AddressInfo
  // Clustered, followers may subscribe on another broker process: job events always go out, and
  // nothing is known of when a reply topic was subscribed to.
  const watchPrefix = options.redisUrl ? undefined : prefixes.jobs(options.master.namespace)
  const replyPrefix = options.redisUrl ? undefined : prefixes.replies(options.master.namespace)
  if (store) {
    // Clustered, a dashboard may subscribe on another broker process: the feed always goes out.
    const feedWatch = options.redisUrl ? undefined : new SubscriptionWatch(aedes, topics.masterJobs(options.master.namespace))
    master = new Master(options.master, {
      transport: (transport = new AedesTransport(aedes, logger, watchPrefix, replyPrefix)),
      store,
      logger,
      visibility: security.visibility,
      brokerCounters: () => security.counters.toJSON(),
      ...(feedWatch ? { jobFeedWatched: () => feedWatch.watched } : {}),
    })
    await master.start()
  }
  let http: HttpHandle | undefined
  if (options.http) {
    const { startBrokerHttp } = await import('./http/start.js')
    const httpOptions = options.http
    http = await startBrokerHttp({ options: httpOptions, host: httpHost, aedes, master, users, maxPacketBytes: options.maxPacketBytes, logger }).catch(async (error) => {
      await master?.close()
      await Promise.all([closeServer(server), tlsServer ? closeServer(tlsServer) : undefined])
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await store?.close()
      throw error
    })
  }
  const started = master
  const host = options.host
  const port = address.port
  const tlsPort = tlsServer ? (tlsServer.address() as net.AddressInfo).port : undefined
  logger.info({ host, port, tlsPort, httpPort: http?.port, store: store?.kind ?? 'none (no master)', auth: security.authenticating }, 'broker listening')
  let closing: Promise<void> | undefined
  return {
    options,
    aedes,
    master: started,
    store,
    host,
    port,
    url: `mqtt://${hostForUrl(host)}:${port}`,
    ...(tlsPort !== undefined ? { tlsPort, tlsUrl: `mqtts://${hostForUrl(tlsHost)}:${tlsPort}` } : {}),
    ...(http ? { http } : {}),
    security,
    close() {
      closing ??= (async () => {
        await http?.close()
        await started?.close()
        const closed = Promise.all([closeServer(server), tlsServer ? closeServer(tlsServer) : undefined])
        await new Promise<void>((resolve) => aedes.close(() => resolve()))
        await closed
        await store?.close()
      })()
      return closing
    },
  }
}

/** Aedes's persistence and emitter on Redis: several broker processes become one broker. */
async function redisBacking(url: string): Promise<{ mq: unknown; persistence: unknown }> {
  const [{ default: mqemitterRedis }, { default: persistenceRedis }, { Redis }] = await Promise.all([
    import('mqemitter-redis'),
    import('aedes-persistence-redis'),
    import('ioredis'),
  ])
  return {
    mq: (mqemitterRedis as (opts: object) => unknown)({ connectionString: url }),
    persistence: (persistenceRedis as (opts: object) => unknown)({ conn: new Redis(url) }),
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

function loadTls(options: BrokerOptions): TlsMaterial {
  if (!options.tlsCert || !options.tlsKey) throw new EdgerunError('BAD_FLAG', '--tls-port needs --tls-cert FILE and --tls-key FILE (PEM)')
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path)
    } catch (error) {
      throw new EdgerunError('BAD_FLAG', `cannot read ${flag} ${path}: ${(error as Error).message}`)
    }
  }
  return checkTlsMaterial({ cert: read('--tls-cert', options.tlsCert), key: read('--tls-key', options.tlsKey) }, { cert: options.tlsCert, key: options.tlsKey })
}

function storeSpecOf(options: BrokerOptions): StoreSpec {
  if (options.store === 'memory') return { kind: 'memory' }
  if (options.store === 'sqlite') return options.dataDir !== undefined ? { kind: 'sqlite', dataDir: options.dataDir } : { kind: 'sqlite' }
  if (!options.postgresUrl) throw new EdgerunError('BAD_FLAG', "store 'postgres' needs a postgres:// URL")
  return { kind: 'postgres', url: options.postgresUrl }
}
