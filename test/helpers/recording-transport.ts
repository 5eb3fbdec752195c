import { Master } from '../../broker/master/master.js'
import type { MasterOptionsInput } from '../../broker/master/options.js'
import type { Transport } from '../../broker/master/transport.js'
import { createJobStore } from '../../broker/store/index.js'
import type { JobStore } from '../../broker/store/job-store.js'

/** A Transport that records what the master sends, and lets the test deliver to it. */
export class RecordingTransport implements Transport {
  readonly sent: Array<{ topic: string; payload: Buffer; retain: boolean }> = []
  deliver: (topic: string, payload: Buffer) => void = () => {}
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void {
    this.sent.push({ topic, payload, retain: options.retain ?? false })
  }
  async subscribe(_filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void> {
    this.deliver = (topic, payload) => handler(topic, payload, false)
  }
  flush(): void {}
  async close(): Promise<void> {}
  /** The JSON messages published on `topic`, in order. */
  messagesOn(topic: string): Array<Record<string, unknown>> {
    return this.sent.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>)
  }
}

/** A master on a memory store and a RecordingTransport, closed after `fn`. */
export async function withMaster<T>(
  namespace: string,
  fn: (master: Master, transport: RecordingTransport, store: JobStore) => Promise<T>,
  store: JobStore = createJobStore({ kind: 'memory' }),
  options: Omit<MasterOptionsInput, 'namespace'> = {},
): Promise<T> {
  const transport = new RecordingTransport()
  const master = new Master({ ...options, namespace }, { transport, store })
  await master.start()
  try {
    return await fn(master, transport, store)
  } finally {
    await master.close()
    await store.close()
  }
}
