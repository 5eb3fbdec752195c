import type net from 'node:net'
import { Aedes } from 'aedes'
import { EdgerunError } from '../src/errors/index.js'
import { silentLogger, type Logger } from '../src/logging/logger.js'
import { AedesTransport } from './master/aedes-transport.js'
import { Master } from './master/master.js'
import { brokerOptionsSchema, isLoopback, type BrokerOptions, type BrokerOptionsInput } from './options.js'
import { closeServer, listenTcp } from './aedes/tcp-server.js'
import { createJobStore, defaultDataDir } from './store/index.js'
import type { JobStore } from './store/job-store.js'

export interface BrokerHandle {
  readonly options: BrokerOptions
  readonly aedes: Aedes
  readonly master: Master
  readonly store: JobStore
  readonly host: string
  readonly port: number
  readonly url: string
  close(): Promise<void>
}

/** `edgerun broker`: Aedes on TCP with the master inside it, talking to it in-process. */
export async function startBroker(input: BrokerOptionsInput = {}, deps: { logger?: Logger } = {}): Promise<BrokerHandle> {
  const options = brokerOptionsSchema.parse(input)
  const logger = deps.logger ?? silentLogger()
  if (!isLoopback(options.host) && !options.authFile && !options.allowAnonymous) {
    throw new EdgerunError(
      'UNSAFE_BIND',
      `refusing to listen on ${options.host} without authentication: add --auth FILE (see \`edgerun users add\`) or --allow-anonymous`,
    )
  }
  const store =
    options.store === 'memory'
      ? createJobStore({ kind: 'memory' })
      : createJobStore({ kind: 'sqlite', dataDir: options.dataDir ?? defaultDataDir(), logger })
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval: 60_000 })
  aedes.on('clientError', (client, error) => logger.debug({ client: client?.id, err: error }, 'client error'))
  aedes.on('connectionError', (client, error) => logger.debug({ client: client?.id, err: error }, 'connection error'))
  let server: net.Server
  try {
    server = await listenTcp(aedes, options.host, options.port, options.maxConnections)
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await store.close()
    throw error
  }
  const address = server.address() as net.AddressInfo
  const master = new Master(options.master, { transport: new AedesTransport(aedes, logger), store, logger })
  await master.start()
  const host = options.host
  const port = address.port
  logger.info({ host, port, store: store.kind }, 'broker listening')
  let closing: Promise<void> | undefined
  return {
    options,
    aedes,
    master,
    store,
    host,
    port,
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= (async () => {
        await master.close()
        const closed = closeServer(server)
        await new Promise<void>((resolve) => aedes.close(() => resolve()))
        await closed
        await store.close()
      })()
      return closing
    },
  }
}
