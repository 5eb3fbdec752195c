import mqtt from 'mqtt'
import { report, roleConfig } from '../lib/child.js'
import { sequential, throughput } from '../lib/loadgen.js'

interface Config {
  url: string
  ns: string
  mode: 'throughput' | 'sequential'
  total: number
  inFlight: number
  /** Off by default: what `mqtt.connect` does. On: TCP_NODELAY, as a careful third party might set. */
  noDelay?: boolean
  /** Fields added to every submit, for A/B runs (`{"progress": false}`); none in the bench's row. */
  fields?: Record<string, unknown>
}

/**
 * A third party's submitter: mqtt.js as it comes, nothing of edgerun imported. Topics and JSON are
 * written out by hand from docs/protocol.md §4, with every default left alone (no `progress`, no
 * `batchReplies`), and a job counts as done on its `result`, whatever else arrives before it.
 */
const config = roleConfig<Config>()
const client = await mqtt.connectAsync(config.url, {
  clientId: `plain-submitter-${process.pid}`,
  protocolVersion: 4,
  clean: true,
  reconnectPeriod: 0,
})
if (config.noDelay) (client.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true)
const replyTo = `${config.ns}/reply/plain-${process.pid}`
const waiting = new Map<string, () => void>()
interface Reply {
  type: string
  jobId?: string
  state?: string
  replies?: Reply[]
}
/** Replies by type, so a run shows how many messages a job cost the client (and the broker). */
const received: Record<string, number> = {}
const onReply = (reply: Reply) => {
  received[reply.type] = (received[reply.type] ?? 0) + 1
  // A `batch` comes only to a submit that asked for it (PLAIN_FIELDS in profile.js), never in the bench's row.
  if (reply.type === 'batch') return reply.replies?.forEach(onReply)
  if (reply.type !== 'result' || !reply.jobId) return
  if (reply.state !== 'succeeded') throw new Error(`job ${reply.jobId} ended ${reply.state}: ${JSON.stringify(reply)}`)
  waiting.get(reply.jobId)?.()
  waiting.delete(reply.jobId)
}
client.on('message', (_topic, payload) => onReply(JSON.parse(payload.toString()) as Reply))
await client.subscribeAsync(replyTo, { qos: 1 })
let seq = 0
const send = (i: number) =>
  new Promise<void>((resolve) => {
    const id = `p-${process.pid}-${seq++}-${i < 0 ? `w${-i}` : i}`
    waiting.set(id, resolve)
    client.publish(`${config.ns}/submit`, JSON.stringify({ v: 1, type: 'submit', id, kind: 'noop', replyTo, ...config.fields }), { qos: 1 })
  })
process.stdout.write('ready\n')
if (config.mode === 'throughput') {
  report({ ...(await throughput(send, config.total, config.inFlight)), received })
} else {
  report({ latencies: await sequential(send, config.total), received })
}
process.exit(0)
