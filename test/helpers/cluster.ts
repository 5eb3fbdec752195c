import { randomBytes } from 'node:crypto'
import { startBroker, type BrokerHandle } from '../../broker/broker.js'
import type { BrokerOptionsInput } from '../../broker/options.js'
import { EdgerunClient } from '../../src/client/client.js'
import type { ClientOptionsInput } from '../../src/client/options.js'
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

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()))
    await Promise.all(this.workers.map((worker) => worker.close({ drainTimeoutMs: 0 })))
    await this.broker.close()
  }
}
