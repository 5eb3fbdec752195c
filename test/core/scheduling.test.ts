import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { withTimeout } from '../helpers/wait.js'

/**
 * Scheduling seen from outside (docs/protocol.md §10): a plain mqtt.js client speaking only the
 * documented protocol, three real workers, and the `node` of each result.
 */
describe('scheduling across nodes (docs/protocol.md §10)', () => {
  let cluster: TestCluster | undefined
  let client: mqtt.MqttClient | undefined
  afterEach(async () => {
    await client?.endAsync()
    await cluster?.close()
  })

  async function setUp() {
    cluster = await TestCluster.start()
    for (let i = 0; i < 3; i++) await cluster.worker({ slots: 10 })
    client = await mqtt.connectAsync(cluster.url, { protocolVersion: 4, reconnectPeriod: 0 })
    const replyTo = `${cluster.namespace}/reply/plain-${Math.random().toString(36).slice(2)}`
    const results = new Map<string, (node: string) => void>()
    client.on('message', (_topic, payload) => {
      const reply = JSON.parse(payload.toString())
      if (reply.type === 'result' && reply.state === 'succeeded') results.get(reply.jobId)?.(reply.node)
    })
    await client.subscribeAsync(replyTo, { qos: 1 })
    const run = (id: string, extra: Record<string, unknown> = {}) =>
      withTimeout(
        new Promise<string>((resolve) => {
          results.set(id, resolve)
          client!.publish(`${cluster!.namespace}/submit`, JSON.stringify({ v: 1, type: 'submit', id, kind: 'noop', replyTo, ...extra }), { qos: 1 })
        }),
        10_000,
        `result of ${id}`,
      )
    return run
  }

  it('one job at a time stays on one node while the nodes are tied (the one placed most recently)', async () => {
    const run = await setUp()
    const nodes: string[] = []
    for (let i = 0; i < 20; i++) nodes.push(await run(`seq-${i}`))
    // At random among three tied nodes, 20 jobs on one node would be a 1 in 3^19 chance.
    expect(new Set(nodes).size).toBe(1)
  })

  it('a burst still spreads: the node with the most free slots comes first', async () => {
    const run = await setUp()
    const nodes = await Promise.all(Array.from({ length: 9 }, (_, i) => run(`burst-${i}`, { sleepMs: 1_000 })))
    expect(new Set(nodes).size).toBe(3)
  })
})
