import { Queue, QueueEvents, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { report, roleConfig } from '../lib/child.js'
import { sequential, throughput } from '../lib/loadgen.js'

interface Config {
  port: number
  queue: string
  role: 'worker' | 'submitter'
  mode: 'throughput' | 'sequential'
  total: number
  inFlight: number
}

/** BullMQ's worker or producer, in its own process like edgerun's. */
const config = roleConfig<Config>()
// BullMQ under native ESM wants constructed clients; blocking ones need maxRetriesPerRequest null.
const connection = () => new Redis({ host: '127.0.0.1', port: config.port, maxRetriesPerRequest: null })
if (config.role === 'worker') {
  // One queue for the throughput run and one for the sequential run, so neither sees the other's history.
  for (const queue of [`${config.queue}-t`, `${config.queue}-s`]) {
    const worker = new Worker(queue, async () => ({ ok: true }), { connection: connection(), concurrency: 1000, removeOnComplete: { count: 1000 } })
    await worker.waitUntilReady()
  }
  process.stdout.write('ready\n')
} else {
  const name = `${config.queue}-${config.mode === 'throughput' ? 't' : 's'}`
  const queue = new Queue(name, { connection: connection() })
  // From the stream's start, not '$': QueueEvents is "ready" before its first XREAD is issued, and
  // a job finishing in between was never heard of (waitUntilFinished then timed out on job 1).
  // The queue is new to this round, so every event in it is this submitter's.
  const events = new QueueEvents(name, { connection: connection(), lastEventId: '0-0' })
  await events.waitUntilReady()
  process.stdout.write('ready\n')
  const send = async (i: number) => {
    const job = await queue.add('noop', { i })
    await job.waitUntilFinished(events, 60_000)
  }
  if (config.mode === 'throughput') report(await throughput(send, config.total, config.inFlight))
  else report({ latencies: await sequential(send, config.total) })
  await queue.close()
  await events.close()
  process.exit(0)
}
