import { randomBytes } from 'node:crypto'
import { BaseCommand } from '../cli/base-command.js'
import { connectionFlags, connectionOptions, logLevelFlag } from '../cli/flags.js'
import { masterFlags, masterOptionsFrom } from '../cli/master-flags.js'

export default class MasterCommand extends BaseCommand {
  static override summary = 'Run the master against an external MQTT broker (Mosquitto, EMQX, clustered Aedes).'
  static override examples = [
    '<%= config.bin %> master --url mqtt://mosquitto.local:1883 --data-dir ./data',
    '<%= config.bin %> master --url mqtt://mosquitto.local:1883 --store postgres://edgerun:secret@db.local:5432/edgerun',
  ]

  static override flags = { ...connectionFlags, 'log-level': logLevelFlag, ...masterFlags }

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
    // Listen before announcing: whoever reads that line may signal at once.
    const stopped = untilSignal()
    this.note(`edgerun master ${master.instance} serving namespace ${flags.namespace} on ${flags.url}`)
    const signal = await stopped
    this.note(`${signal}: shutting down`)
    await master.close()
    await store.close()
    return { url: flags.url, namespace: flags.namespace, instance: master.instance }
  }
}
