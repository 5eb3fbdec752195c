import { randomBytes } from 'node:crypto'
import { startBroker, type BrokerHandle } from '../../broker/broker.js'
import { Master } from '../../broker/master/master.js'
import { MqttTransport } from '../../broker/master/mqtt-transport.js'
import type { MasterOptionsInput } from '../../broker/master/options.js'
import type { BrokerOptionsInput } from '../../broker/options.js'
import type { JobStore } from '../../broker/store/job-store.js'
import { EdgerunClient } from '../../src/client/client.js'
import type { ClientOptionsInput } from '../../src/client/options.js'
import { silentLogger } from '../../src/logging/logger.js'
import { Connection } from '../../src/net/connection.js'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { Worker } from '../../src/worker/worker.js'
import type { WorkerOptionsInput } from '../../src/worker/options.js'

/** A namespace of its own for every test, so tests can share nothing by accident. */
export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`
}

/**
 * A real broker-master on port 0 plus helpers to add real workers and clients to it. `close()`
 * tears down everything it made, in reverse order.
 */
export class TestCluster {
  readonly workers: Worker[] = []
  readonly clients: EdgerunClient[] = []
  readonly masters: Array<{ master: Master; connection: Connection }> = []

  private constructor(
    readonly broker: BrokerHandle,
    readonly namespace: string,
  ) {}

  static async start(options: BrokerOptionsInput = {}): Promise<TestCluster> {
    const namespace = options.master?.namespace ?? uniqueNamespace()
    const broker = await startBroker({ port: 0, store: 'memory', ...options, master: { ...options.master, namespace } })
    return new TestCluster(broker, namespace)
  }

  get url(): string {
    return this.broker.url
  }

  async worker(options: Partial<WorkerOptionsInput> = {}): Promise<Worker> {
    const worker = await Worker.start(
      { url: this.url, namespace: this.namespace, id: `w-${randomBytes(3).toString('hex')}`, judge: false, claimWaitMs: 50, ...options },
      // Toolchain detection only when the test asks for the judge.
      options.judge ? {} : { languages: [] },
    )
    this.workers.push(worker)
    return worker
  }

  async client(options: Partial<ClientOptionsInput> = {}): Promise<EdgerunClient> {
    const client = await EdgerunClient.connect({ url: this.url, namespace: this.namespace, ...options })
    this.clients.push(client)
    return client
  }

  /**
   * `edgerun master` against this broker: a master of `namespace` on a plain MQTT connection, with
   * a store the test holds (one that fails or stalls on demand, say). Killing its connection
   * (`connection.close({ force: true })`) is a master that dies without a word.
   */
  async externalMaster(namespace: string, store: JobStore, options: Omit<MasterOptionsInput, 'namespace'> = {}): Promise<{ master: Master; connection: Connection }> {
    const instance = randomBytes(6).toString('base64url')
    const connection = await Connection.open({
      url: this.url,
      clientId: `master-${instance}`,
      will: () => ({ topic: topics.masterState(namespace), payload: encode({ v: PROTOCOL_VERSION, type: 'master', state: 'offline', instance, ts: Date.now() }), qos: 1, retain: true }),
    })
    const master = new Master({ ...options, namespace }, { transport: new MqttTransport(connection, silentLogger()), store, instance })
    await master.start()
    this.masters.push({ master, connection })
    return { master, connection }
  }

  async close(): Promise<void> {
    for (const { master } of this.masters.splice(0)) await master.close().catch(() => {})
    await Promise.all(this.clients.map((client) => client.close()))
    await Promise.all(this.workers.map((worker) => worker.close({ drainTimeoutMs: 0 })))
    await this.broker.close()
  }
}
