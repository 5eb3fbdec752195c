import { z } from 'zod'
import { httpOptionsSchema } from './http/options.js'
import { masterOptionsSchema } from './master/options.js'

/** `edgerun broker`: Aedes plus the master. Defaults here; flags and env feed this schema. */
export const brokerOptionsSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(1883),
  /** Where the SQLite job store lives; undefined with store 'memory'. */
  dataDir: z.string().optional(),
  store: z.enum(['sqlite', 'memory', 'postgres']).default('sqlite'),
  /** With store 'postgres': postgres://user:pass@host:port/db (docs/storage.md). */
  postgresUrl: z.string().optional(),
  allowAnonymous: z.boolean().default(false),
  /** Path of a users file (see `edgerun users add`); enables authentication. */
  authFile: z.string().optional(),
  /** Every connection, TCP and TLS together, whatever its role. */
  maxConnections: z.number().int().min(1).default(10_500),
  /**
   * Connections that are workers (docs/security.md, "Connection limits"): below maxConnections, so
   * that a fleet at its limit leaves the rest (500 by default) to submitters and operators.
   */
  maxWorkers: z.number().int().min(1).default(10_000),
  /** Cluster this Aedes with others over Redis (aedes-persistence-redis + mqemitter-redis). */
  redisUrl: z.string().optional(),
  /** false for the extra brokers of a Redis cluster: a cluster runs one master. */
  runMaster: z.boolean().default(true),
  /** The largest MQTT packet a connection may send; bigger ones close it before they are parsed. */
  maxPacketBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
  /** An mqtts listener: needs tlsCert and tlsKey (PEM file paths). 0 picks a free port. */
  tlsPort: z.number().int().min(0).max(65535).optional(),
  /** Where the TLS listener binds; defaults to `host`. */
  tlsHost: z.string().min(1).optional(),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  master: masterOptionsSchema.default(masterOptionsSchema.parse({})),
  /** The HTTP listener (broker/http/options.ts); absent, none. `edgerun broker` passes it unless --no-http. */
  http: httpOptionsSchema.optional(),
})

export type BrokerOptions = z.infer<typeof brokerOptionsSchema>
export type BrokerOptionsInput = z.input<typeof brokerOptionsSchema>

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.')
}
