import { isAbsolute, resolve } from 'node:path'
import { BaseCommand } from '../cli/base-command.js'
import { integerFlag } from '../cli/checked-flags.js'
import { commandSpecFlag, idFlag, logLevelFlag } from '../cli/flags.js'
import { masterFlags, masterOptionsFrom } from '../cli/master-flags.js'
import { schemaDefault } from '../cli/schema-default.js'
import { brokerOptionsSchema } from '../broker/options.js'
import { masterOptionsSchema } from '../broker/master/options.js'
import { workerOptionsSchema } from '../src/worker/options.js'

export default class Up extends BaseCommand {
  static override summary = 'Run a whole cluster on this machine: a broker-master plus N workers, in one process.'
  static override examples = ['<%= config.bin %> up', '<%= config.bin %> up --workers 4 --port 0 --memory']

  static override flags = {
    workers: integerFlag({ description: 'local workers to start', default: 2, min: 0, max: 64 }),
    slots: integerFlag({ description: 'slots per worker', default: schemaDefault(workerOptionsSchema, 'slots'), min: 1, max: 1024 }),
    port: integerFlag({ description: 'broker TCP port; 0 picks a free one', default: schemaDefault(brokerOptionsSchema, 'port'), min: 0, max: 65535 }),
    namespace: idFlag({ description: 'namespace', env: 'EDGERUN_NAMESPACE', default: schemaDefault(masterOptionsSchema, 'namespace') }),
    command: commandSpecFlag({ description: 'register NAME=PATH on every worker (repeatable)', default: [] }),
    'log-level': logLevelFlag,
    ...masterFlags,
  }

  async run(): Promise<{ url: string; workers: string[] }> {
    const { flags } = await this.parse(Up)
    const { parseCommandSpec } = await import('../src/worker/options.js')
    const commands: Record<string, string> = {}
    for (const spec of flags.command) {
      const [name, path] = parseCommandSpec(spec)
      commands[name] = isAbsolute(path) ? path : resolve(path)
    }
    const { defaultDataDir } = await import('../broker/store/index.js')
    const { startLocalCluster } = await import('../broker/local-cluster.js')
    const { commandLogger } = await import('../cli/logger.js')
    const { untilSignal } = await import('../cli/signals.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-up' })
    const dataDir = flags.memory ? undefined : (flags['data-dir'] ?? defaultDataDir())
    const cluster = await startLocalCluster(
      {
        broker: { port: flags.port, store: flags.memory ? 'memory' : 'sqlite', ...(dataDir ? { dataDir } : {}), master: masterOptionsFrom(flags, flags.namespace) },
        workers: flags.workers,
        worker: { slots: flags.slots, commands },
      },
      logger,
    )
    const ids = cluster.workers.map((worker) => worker.id)
    const info = { url: cluster.broker.url, workers: ids }
    const stopped = untilSignal()
    if (this.jsonEnabled()) this.log(JSON.stringify({ event: 'up', ...info }))
    else this.log(`edgerun up: broker-master on ${cluster.broker.url} with ${ids.length} worker(s) ${ids.join(', ')}; Ctrl-C to stop`)
    await stopped
    this.note('stopping')
    await cluster.close()
    return info
  }
}
