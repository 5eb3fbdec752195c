import { startBroker, type BrokerHandle } from './broker.js'
import type { BrokerOptionsInput } from './options.js'
import type { Logger } from '../src/logging/logger.js'
import { Worker } from '../src/worker/worker.js'
import type { WorkerOptionsInput } from '../src/worker/options.js'

export interface LocalCluster {
  broker: BrokerHandle
  workers: Worker[]
  close(): Promise<void>
}

/** `edgerun up` and `edgerun demo`: a broker-master and N workers in this one process. */
export async function startLocalCluster(
  options: { broker: BrokerOptionsInput; workers: number; worker: Omit<WorkerOptionsInput, 'id' | 'url' | 'namespace'> },
  logger?: Logger,
): Promise<LocalCluster> {
  const broker = await startBroker(options.broker, { logger })
  const namespace = broker.master.namespace
  const workers: Worker[] = []
  try {
    for (let i = 1; i <= options.workers; i++) {
      workers.push(await Worker.start({ ...options.worker, url: broker.url, namespace, id: `local-${i}` }, { logger }))
    }
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.close({ drainTimeoutMs: 0 })))
    await broker.close()
    throw error
  }
  let closing: Promise<void> | undefined
  return {
    broker,
    workers,
    close() {
      closing ??= (async () => {
        await Promise.all(workers.map((worker) => worker.close()))
        await broker.close()
      })()
      return closing
    },
  }
}
