import { Flags } from '@oclif/core'
import { startBroker } from '../broker/broker.js'
import { defaultDataDir } from '../broker/store/index.js'
import { BaseCommand } from '../src/cli/base-command.js'
import { DEFAULT_NAMESPACE, logLevelFlag } from '../src/cli/flags.js'
import { masterFlags, masterOptionsFrom } from '../src/cli/master-flags.js'
import { untilSignal } from '../src/cli/signals.js'
import { createLogger } from '../src/logging/logger.js'

export default class BrokerCommand extends BaseCommand {
  static override summary = 'Run the broker-master: an embedded Aedes MQTT broker with the master inside it.'
  static override examples = [
    '<%= config.bin %> broker',
    '<%= config.bin %> broker --port 0 --data-dir ./data',
    '<%= config.bin %> broker --host 0.0.0.0 --auth users.json',
  ]

  static override flags = {
    host: Flags.string({ description: 'address to listen on (non-loopback needs --auth or --allow-anonymous)', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'TCP port; 0 picks a free one and prints it', default: 1883, min: 0, max: 65535 }),
    namespace: Flags.string({ description: 'namespace the master serves', env: 'EDGERUN_NAMESPACE', default: DEFAULT_NAMESPACE }),
    auth: Flags.string({ description: 'users file (see `edgerun users add`): every connection must authenticate' }),
    'allow-anonymous': Flags.boolean({ description: 'allow unauthenticated clients on a non-loopback address', default: false }),
    'max-connections': Flags.integer({ description: 'concurrent connections the broker accepts', min: 1 }),
    'log-level': logLevelFlag,
    ...masterFlags,
  }

  async run(): Promise<{ url: string; host: string; port: number; namespace: string; store: string; dataDir: string | null }> {
    const { flags } = await this.parse(BrokerCommand)
    const logger = createLogger({ level: flags['log-level'], name: 'edgerun-broker' })
    const dataDir = flags.memory ? null : (flags['data-dir'] ?? defaultDataDir())
    const broker = await startBroker(
      {
        host: flags.host,
        port: flags.port,
        store: flags.memory ? 'memory' : 'sqlite',
        ...(dataDir ? { dataDir } : {}),
        ...(flags.auth ? { authFile: flags.auth } : {}),
        allowAnonymous: flags['allow-anonymous'],
        ...(flags['max-connections'] ? { maxConnections: flags['max-connections'] } : {}),
        master: masterOptionsFrom(flags, flags.namespace),
      },
      { logger },
    )
    const info = { url: broker.url, host: broker.host, port: broker.port, namespace: flags.namespace, store: broker.store.kind, dataDir }
    if (this.jsonEnabled()) this.log(JSON.stringify({ event: 'listening', ...info }))
    else this.log(`edgerun broker listening on ${broker.url} (namespace ${flags.namespace}, ${dataDir ? `jobs in ${dataDir}` : 'jobs in memory'})`)
    const signal = await untilSignal()
    this.note(`${signal}: shutting down`)
    await broker.close()
    return info
  }
}
