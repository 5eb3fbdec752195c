import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import type { Logger } from '../src/logging/logger.js'
import { EdgerunError } from '../src/errors/index.js'
import { integerFlag } from '../cli/checked-flags.js'
import { idFlag, logLevelFlag } from '../cli/flags.js'
import { masterFlags, masterOptionsFrom } from '../cli/master-flags.js'
import { schemaDefault } from '../cli/schema-default.js'
import { brokerOptionsSchema as broker } from '../broker/options.js'
import { masterOptionsSchema as master } from '../broker/master/options.js'
import { httpOptionsSchema as http } from '../broker/http/options.js'

export default class BrokerCommand extends BaseCommand {
  static override summary = 'Run the broker-master: an embedded Aedes MQTT broker with the master inside it.'
  static override examples = [
    '<%= config.bin %> broker',
    '<%= config.bin %> broker --port 0 --data-dir ./data',
    '<%= config.bin %> broker --store postgres://edgerun:secret@db.local:5432/edgerun',
    '<%= config.bin %> broker --http-port 9090                  # dashboard, /metrics, /mqtt on :9090',
    '<%= config.bin %> broker --host 0.0.0.0 --auth users.json',
    '<%= config.bin %> broker --auth users.json --tls-host 0.0.0.0 --tls-port 8883 --tls-cert server.pem --tls-key server.key',
    '<%= config.bin %> broker --port 1883 --redis redis://127.0.0.1:6379            # clustered, with the master',
    '<%= config.bin %> broker --port 1884 --redis redis://127.0.0.1:6379 --no-master # one more broker of the cluster',
  ]

  static override flags = {
    redis: Flags.string({ description: 'cluster with other edgerun brokers over this Redis (redis://host:port)', env: 'EDGERUN_REDIS_URL' }),
    master: Flags.boolean({ description: 'run the master in this broker (--no-master: an extra broker of a Redis cluster)', default: schemaDefault(broker, 'runMaster'), allowNo: true }),
    host: Flags.string({ description: 'address to listen on (non-loopback needs --auth or --allow-anonymous)', default: schemaDefault(broker, 'host') }),
    port: integerFlag({ description: 'TCP port; 0 picks a free one and prints it', default: schemaDefault(broker, 'port'), min: 0, max: 65535 }),
    namespace: idFlag({ description: 'namespace the master serves', env: 'EDGERUN_NAMESPACE', default: schemaDefault(master, 'namespace') }),
    auth: Flags.string({ description: 'users file (see `edgerun users add`): every connection must authenticate' }),
    'allow-anonymous': Flags.boolean({ description: 'allow unauthenticated clients on a non-loopback address', default: schemaDefault(broker, 'allowAnonymous') }),
    'max-connections': integerFlag({ description: 'concurrent connections the broker accepts, TCP and TLS together', default: schemaDefault(broker, 'maxConnections'), min: 1 }),
    'max-workers': integerFlag({ description: 'connections that may be workers; the rest of --max-connections stays free for submitters and operators', default: schemaDefault(broker, 'maxWorkers'), min: 1 }),
    'max-packet-size': integerFlag({ description: 'largest MQTT packet in bytes; a bigger one closes its connection before it is parsed', default: schemaDefault(broker, 'maxPacketBytes'), min: 1024, max: 256 * 1024 * 1024 }),
    'max-judge-source': integerFlag({ description: 'largest judge source in bytes (rejected BAD_MESSAGE above)', default: schemaDefault(master, 'maxJudgeSourceBytes'), min: 1 }),
    'max-judge-tests': integerFlag({ description: 'largest total of a judge job\'s test inputs and outputs in bytes', default: schemaDefault(master, 'maxJudgeTestsBytes'), min: 1 }),
    'tls-port': integerFlag({ description: 'also listen for mqtts:// on this port (0 picks a free one)', min: 0, max: 65535 }),
    'tls-host': Flags.string({ description: 'address of the TLS listener (default: --host)' }),
    'tls-cert': Flags.string({ description: 'server certificate chain (PEM) for --tls-port' }),
    'tls-key': Flags.string({ description: 'server private key (PEM) for --tls-port' }),
    http: Flags.boolean({ description: 'serve HTTP: the dashboard, /mqtt (MQTT over WebSocket), /metrics, /healthz, /readyz (--no-http: none)', default: true, allowNo: true }),
    'http-port': integerFlag({ description: 'HTTP port; 0 picks a free one and prints it', default: schemaDefault(http, 'port'), min: 0, max: 65535 }),
    'http-host': Flags.string({ description: 'address of the HTTP listener (default: --host); off loopback every path but /healthz needs --auth credentials' }),
    'log-level': logLevelFlag,
    ...masterFlags,
  }

  async run(): Promise<{ url: string; host: string; port: number; tlsUrl: string | null; httpUrl: string | null; namespace: string; store: string; dataDir: string | null; auth: boolean }> {
    const { flags } = await this.parse(BrokerCommand)
    const { startBrokerNode } = await import('../broker/broker.js')
    const { defaultDataDir } = await import('../broker/store/index.js')
    const { describeStore, storeFromFlags } = await import('../broker/store/store-url.js')
    const { commandLogger } = await import('../cli/logger.js')
    const { untilSignal } = await import('../cli/signals.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-broker' })
    const spec = flags.master ? storeFromFlags({ store: flags.store, dataDir: flags['data-dir'], memory: flags.memory }) : undefined
    const dataDir = spec?.kind === 'sqlite' ? (spec.dataDir ?? defaultDataDir()) : null
    // Clustered brokers on one Postgres may each run a master: they elect one (docs/protocol.md §7a).
    const elect = flags.redis !== undefined && spec?.kind === 'postgres'
    if (elect && flags.auth) {
      throw new EdgerunError('BAD_FLAG', 'an elected master inside a broker with --auth is not built yet: run the brokers with --no-master and `edgerun master --store postgres://… --username … --password …` against them')
    }
    const broker = await startBrokerNode(
      {
        runMaster: flags.master && !elect,
        ...(flags.redis ? { redisUrl: flags.redis } : {}),
        host: flags.host,
        port: flags.port,
        store: spec?.kind ?? 'memory',
        ...(dataDir ? { dataDir } : {}),
        ...(spec?.kind === 'postgres' ? { postgresUrl: spec.url } : {}),
        ...(flags.auth ? { authFile: flags.auth } : {}),
        allowAnonymous: flags['allow-anonymous'],
        maxConnections: flags['max-connections'],
        maxWorkers: flags['max-workers'],
        maxPacketBytes: flags['max-packet-size'],
        ...(flags['tls-port'] !== undefined ? { tlsPort: flags['tls-port'] } : {}),
        ...(flags['tls-host'] ? { tlsHost: flags['tls-host'] } : {}),
        ...(flags['tls-cert'] ? { tlsCert: flags['tls-cert'] } : {}),
        ...(flags['tls-key'] ? { tlsKey: flags['tls-key'] } : {}),
        ...(flags.http ? { http: { port: flags['http-port'], ...(flags['http-host'] ? { host: flags['http-host'] } : {}) } } : {}),
        master: {
          ...masterOptionsFrom(flags, flags.namespace),
          // A packet the broker lets through must not be refused by the master for its size.
          maxPayloadBytes: flags['max-packet-size'],
          maxJudgeSourceBytes: flags['max-judge-source'],
          maxJudgeTestsBytes: flags['max-judge-tests'],
        },
      },
      { logger },
    )
    const elected = elect ? await this.startElected(broker, spec.url, flags, logger) : undefined
    const info = {
      url: broker.url,
      host: broker.host,
      port: broker.port,
      tlsUrl: broker.tlsUrl ?? null,
      httpUrl: broker.http?.url ?? null,
      namespace: flags.namespace,
      store: broker.store?.kind ?? 'none',
      dataDir,
      auth: broker.security.authenticating,
    }
    // Listen before saying "listening": whoever reads that line may signal at once.
    const stopped = untilSignal()
    // oclif silences this.log under --json; the listening event is still one JSON line on stdout.
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ event: 'listening', ...info })}\n`)
    else {
      const also = broker.tlsUrl ? ` and ${broker.tlsUrl}` : ''
      const auth = broker.security.authenticating ? `, users from ${flags.auth}` : ''
      const jobs = elected
        ? `master ${elected.instance} elected among the brokers on ${describeStore(spec!, '')}`
        : !broker.master
          ? `no master: clustered over ${flags.redis}`
          : spec?.kind === 'postgres'
            ? `jobs in ${describeStore(spec, '')}`
            : dataDir
              ? `jobs in ${dataDir}`
              : 'jobs in memory'
      const http = broker.http ? `; HTTP on ${broker.http.url} (dashboard, /mqtt, /metrics, /healthz, /readyz)` : ''
      this.log(`edgerun broker listening on ${broker.url}${also} (namespace ${flags.namespace}, ${jobs}${auth})${http}`)
    }
    const signal = await stopped
    this.note(`${signal}: shutting down`)
    // The master first: it hands over (and says offline) through this broker.
    await elected?.stop()
    await broker.close()
    return info
  }

  /** The broker's master as one of several elected ones, a client of this broker over loopback. */
  private async startElected(broker: { port: number; host: string }, storeUrl: string, flags: Awaited<ReturnType<BrokerCommand['parseFlags']>>, logger: Logger) {
    const { ElectedMaster } = await import('../broker/lease/elected-master.js')
    const host = broker.host === '0.0.0.0' || broker.host === '::' ? '127.0.0.1' : broker.host
    const elected = await ElectedMaster.start({
      mqtt: { url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${broker.port}` },
      storeUrl,
      master: { ...masterOptionsFrom(flags, flags.namespace), maxPayloadBytes: flags['max-packet-size'], maxJudgeSourceBytes: flags['max-judge-source'], maxJudgeTestsBytes: flags['max-judge-tests'] },
      logger,
    })
    elected.on('active', (term) => this.note(`edgerun master ${elected.instance} serving namespace ${flags.namespace} (active, term ${term})`))
    elected.on('standby', (term, reason) => this.note(`edgerun master ${elected.instance} deposed from term ${term} (${reason}); standing by`))
    return elected
  }

  private parseFlags() {
    return this.parse(BrokerCommand).then((parsed) => parsed.flags)
  }
}
