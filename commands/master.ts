import { randomBytes } from 'node:crypto'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import type { Logger } from '../src/logging/logger.js'
import { connectionFlags, connectionOptions, logLevelFlag } from '../cli/flags.js'
import { masterFlags, masterOptionsFrom } from '../cli/master-flags.js'
import { integerFlag } from '../cli/checked-flags.js'
import { schemaDefault } from '../cli/schema-default.js'
import { leaseOptionsSchema } from '../broker/lease/options.js'

export default class MasterCommand extends BaseCommand {
  static override summary = 'Run the master against an external MQTT broker (Mosquitto, EMQX, clustered Aedes).'
  static override examples = [
    '<%= config.bin %> master --url mqtt://mosquitto.local:1883 --data-dir ./data',
    '<%= config.bin %> master --url mqtt://mosquitto.local:1883 --store postgres://edgerun:secret@db.local:5432/edgerun',
    '<%= config.bin %> master --url mqtt://mosquitto.local:1883 --http-port 9464   # /metrics on 127.0.0.1:9464',
  ]

  static override flags = {
    ...connectionFlags,
    'log-level': logLevelFlag,
    ...masterFlags,
    'lease-ttl': integerFlag({ description: 'with --store postgres://: ms a master\'s lease lasts past its last renewal; a standby takes over within about this long after the active master dies', default: schemaDefault(leaseOptionsSchema, 'ttlMs'), min: 100, max: 600_000 }),
    'http-port': integerFlag({ description: 'serve /metrics, /healthz and /readyz on this port (off unless given; 0 picks a free one)', min: 0, max: 65535 }),
    'http-host': Flags.string({ description: 'address of the HTTP listener (default 127.0.0.1); off loopback it needs --http-auth' }),
    'http-auth': Flags.string({ description: 'users file (see `edgerun users add`) whose users may read /metrics and /readyz with HTTP basic' }),
  }

  async run(): Promise<{ url: string; namespace: string; instance: string }> {
    const { flags } = await this.parse(MasterCommand)
    const { Master } = await import('../broker/master/master.js')
    const { MqttTransport } = await import('../broker/master/mqtt-transport.js')
    const { openMasterStore, storeFromFlags } = await import('../broker/store/store-url.js')
    const { encode, masterState, topics } = await import('../src/protocol/index.js')
    const { commandLogger } = await import('../cli/logger.js')
    const { Connection } = await import('../src/net/connection.js')
    const { untilSignal } = await import('../cli/signals.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-master' })
    let transport: InstanceType<typeof MqttTransport> | undefined
    // The master's order: publish the assignment, flush the transport, then commit (docs/storage.md).
    const beforeCommit = () => transport?.flush()
    const spec = storeFromFlags({ store: flags.store, dataDir: flags['data-dir'], memory: flags.memory })
    // Several masters may share a Postgres store: they elect one active (docs/protocol.md §7a).
    if (spec.kind === 'postgres') return this.runElected(flags, spec.url, logger)
    const store = await openMasterStore(spec, { namespace: flags.namespace, logger, beforeCommit })
    const instance = randomBytes(6).toString('base64url')
    const options = connectionOptions(flags)
    const connection = await Connection.open({
      ...options,
      clientId: `edgerun-master-${instance}`,
      logger,
      // The broker announces the master's death for it (docs/protocol.md §9).
      will: () => ({
        topic: topics.masterState(flags.namespace),
        payload: encode(masterState('offline', instance)),
        qos: 1,
        retain: true,
      }),
    }).catch(async (error) => {
      await store.close()
      throw error
    })
    const master = new Master(masterOptionsFrom(flags, flags.namespace), { transport: (transport = new MqttTransport(connection, logger)), store, logger, instance })
    await master.start()
    const http =
      flags['http-port'] === undefined
        ? undefined
        : await (await import('../broker/http/start.js'))
            .startMasterHttp({ options: { port: flags['http-port'], ...(flags['http-host'] ? { host: flags['http-host'] } : {}), ...(flags['http-auth'] ? { authFile: flags['http-auth'] } : {}) }, master, logger })
            .catch(async (error) => {
              await master.close()
              await store.close()
              throw error
            })
    // Listen before announcing: whoever reads that line may signal at once.
    const stopped = untilSignal()
    this.note(`edgerun master ${master.instance} serving namespace ${flags.namespace} on ${flags.url}${http ? `; HTTP on ${http.url} (/metrics, /healthz, /readyz)` : ''}`)
    const signal = await stopped
    this.note(`${signal}: shutting down`)
    await http?.close()
    await master.close()
    await store.close()
    return { url: flags.url, namespace: flags.namespace, instance: master.instance }
  }

  private async runElected(flags: Awaited<ReturnType<MasterCommand['parseFlags']>>, storeUrl: string, logger: Logger) {
    const { ElectedMaster } = await import('../broker/lease/elected-master.js')
    const { untilSignal } = await import('../cli/signals.js')
    const ttlMs = flags['lease-ttl']
    const lease = { ttlMs, renewMs: Math.max(20, Math.floor(ttlMs / 4)), pollMs: Math.max(20, Math.floor(ttlMs / 6)) }
    const elected = await ElectedMaster.start({ mqtt: connectionOptions(flags), storeUrl, master: masterOptionsFrom(flags, flags.namespace), lease, logger })
    elected.on('active', (term) => this.note(`edgerun master ${elected.instance} serving namespace ${flags.namespace} on ${flags.url} (active, term ${term})`))
    elected.on('standby', (term, reason) => this.note(`edgerun master ${elected.instance} deposed from term ${term} (${reason}); standing by`))
    const stopped = untilSignal()
    this.note(`edgerun master ${elected.instance} standing by for namespace ${flags.namespace} on ${flags.url}`)
    const signal = await stopped
    this.note(`${signal}: shutting down`)
    await elected.stop()
    return { url: flags.url, namespace: flags.namespace, instance: elected.instance }
  }

  private parseFlags() {
    return this.parse(MasterCommand).then((parsed) => parsed.flags)
  }
}
