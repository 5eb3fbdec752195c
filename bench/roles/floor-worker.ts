import { roleConfig } from '../lib/child.js'
import { rawClient } from '../lib/raw-mqtt.js'

/** The floor's worker: answer every assign with a result, no validation, no pool. */
const config = roleConfig<{ url: string; ns: string; node: string }>()
const client = await rawClient(config.url, `floor-${config.node}`)
const events = `${config.ns}/nodes/${config.node}/events`
client.on('message', (_topic, payload) => {
  const assign = JSON.parse(payload.toString())
  client.publish(events, JSON.stringify({ v: 1, type: 'result', jobId: assign.job.id, replyTo: assign.job.replyTo, state: 'succeeded', output: { ok: true } }), { qos: 1 })
})
client.subscribe(`${config.ns}/nodes/${config.node}/assign`, { qos: 1 }, () => process.stdout.write('ready\n'))
