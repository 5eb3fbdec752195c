import { EdgerunClient } from '../../src/client/client.js'
import { report, roleConfig } from '../lib/child.js'
import { sequential, throughput } from '../lib/loadgen.js'
import { rawClient } from '../lib/raw-mqtt.js'

interface Config {
  system: 'floor' | 'edgerun'
  url: string
  ns: string
  mode: 'throughput' | 'sequential'
  total: number
  inFlight: number
  kind: 'noop' | 'command'
}

/** One submitter process for both systems, so that only the system under it differs. */
const config = roleConfig<Config>()
const send = config.system === 'floor' ? await floorSender(config) : await edgerunSender(config)
process.stdout.write('ready\n')
if (config.mode === 'throughput') {
  report(await throughput(send, config.total, config.inFlight))
} else {
  report({ latencies: await sequential(send, config.total) })
}
process.exit(0)

async function floorSender(config: Config): Promise<(i: number) => Promise<void>> {
  const client = await rawClient(config.url, `floor-submitter-${process.pid}`)
  const replyTo = `${config.ns}/reply/s${process.pid}`
  const waiting = new Map<string, () => void>()
  client.on('message', (_topic, payload) => {
    const reply = JSON.parse(payload.toString())
    waiting.get(reply.jobId)?.()
    waiting.delete(reply.jobId)
  })
  await client.subscribeAsync(replyTo, { qos: 1 })
  let seq = 0
  return (i) =>
    new Promise<void>((resolve) => {
      const id = `f-${process.pid}-${seq++}-${i}`
      waiting.set(id, resolve)
      // ~200 B, like an edgerun noop submit
      client.publish(`${config.ns}/submit`, JSON.stringify({ v: 1, type: 'submit', id, kind: 'noop', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, replyTo }), { qos: 1 })
    })
}

async function edgerunSender(config: Config): Promise<(i: number) => Promise<void>> {
  const client = await EdgerunClient.connect({ url: config.url, namespace: config.ns })
  let seq = 0
  return async (i) => {
    const id = `e-${process.pid}-${seq++}-${i < 0 ? `w${-i}` : i}`
    const spec = config.kind === 'noop' ? { id, kind: 'noop' as const } : { id, kind: 'command' as const, name: 'true' }
    const reply = await client.submit(spec)
    if (reply.type !== 'result' || reply.state !== 'succeeded') throw new Error(`job ${id} did not succeed: ${JSON.stringify(reply)}`)
  }
}
