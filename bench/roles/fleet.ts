import { Worker } from '../../src/worker/worker.js'
import { roleConfig } from '../lib/child.js'

/** N real Worker instances in one process: a fleet of small nodes for the connections bench. */
const config = roleConfig<{ url: string; ns: string; count: number }>()
const workers: Worker[] = []
await Promise.all(
  Array.from({ length: config.count }, async (_, i) => {
    workers.push(await Worker.start({ url: config.url, namespace: config.ns, id: `fleet-${i}`, judge: false, slots: 1, claimWaitMs: 0, keepaliveSec: 30, connectTimeoutMs: 60_000 }, { languages: [] }))
  }),
)
process.stdout.write('ready\n')
process.on('SIGTERM', () => process.exit(0))
