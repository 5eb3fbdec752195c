import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { waitFor } from '../helpers/wait.js'

/**
 * What read-ahead keeps in memory, seen from outside: the records the master reads back from its
 * store, and its footprint. Nodes here are plain MQTT clients that never accept, so every
 * assignment stays where it was put.
 */
describe('read-ahead memory', () => {
  let cluster: TestCluster
  let submitter: PlainSubmitter
  const nodes: MqttClient[] = []
  const offline: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    offline.length = 0
    for (const node of nodes.splice(0)) await node.endAsync(true).catch(() => {})
    await submitter?.close()
    await cluster?.close()
  })

  async function start() {
    cluster = await TestCluster.start({ master: { parkAbove: 1, readAhead: 4, ackTimeoutMs: 60_000 } })
    submitter = await PlainSubmitter.connect(cluster.url, cluster.namespace, 'c1')
  }

  async function submitAll(jobs: Array<{ id: string; requires?: { labels: string[] }; priority?: number }>) {
    submitter.submitTogether(jobs.map((job) => ({ kind: 'noop', ...job })))
    await waitFor(() => jobs.every((job) => submitter.repliesOf(job.id).some((r) => r.type === 'accepted')), { what: `${jobs.length} accepted` })
  }

  /** A node of one slot that takes its first assignment and never answers; `offline` says goodbye. */
  async function node(id: string, labels: string[]): Promise<string[]> {
    const ns = cluster.namespace
    const client = await mqtt.connectAsync(cluster.url, { clientId: `${id}-${randomBytes(3).toString('hex')}`, reconnectPeriod: 0 })
    nodes.push(client)
    const assigned: string[] = []
    client.on('message', (_topic, payload) => assigned.push((JSON.parse(payload.toString()) as { job: { id: string } }).job.id))
    await client.subscribeAsync(topics.nodeAssign(ns, id), { qos: 1 })
    const birth = { v: PROTOCOL_VERSION, type: 'node', state: 'online', epoch: `${id}x.1`, slots: 1, labels, capabilities: { languages: [], commands: [] }, running: [], version: 'test', ts: Date.now() }
    await client.publishAsync(topics.nodeState(ns, id), encode(birth), { qos: 1 })
    offline.push(() => client.publishAsync(topics.nodeState(ns, id), encode({ ...birth, state: 'offline', reason: 'shutdown' }), { qos: 1 }))
    return assigned
  }

  /** Ids of the records the master reads back from the store from now on. */
  function storeReads(): string[] {
    const read: string[] = []
    const getMany = cluster.broker.store.getMany.bind(cluster.broker.store)
    vi.spyOn(cluster.broker.store, 'getMany').mockImplementation((ids) => {
      read.push(...ids)
      return getMany(ids)
    })
    return read
  }

  it('shares one readAhead budget among the queue classes', async () => {
    await start()
    const range = (prefix: string, label: string) => Array.from({ length: 10 }, (_, i) => ({ id: `${prefix}-${i}`, requires: { labels: [label] } }))
    await submitAll([...range('a', 'a'), ...range('b', 'b')])
    const { master } = cluster.broker
    // parkAbove 1: only the head of each class keeps its record.
    expect(master.footprint()).toMatchObject({ jobs: 2, queued: 20 })
    const read = storeReads()
    // A node that can run only the `a` jobs takes one; the master reads ahead once idle.
    const assigned = await node('n1', ['a'])
    await waitFor(() => assigned[0], { what: 'a-0 assigned' })
    expect(assigned).toEqual(['a-0'])
    await waitFor(() => master.counter('read_ahead') > 0, { what: 'a read-ahead' })
    // Two classes, a budget of 4: the next two of each class (b-0, the head of its class, was
    // never parked), and nothing past them.
    expect(read.sort()).toEqual(['a-1', 'a-2', 'b-1'])
    expect(master.footprint().jobs).toBe(5)
  })

  it('parks again what it loaded once jobs of a higher priority push it out of the window', async () => {
    await start()
    const { master } = cluster.broker
    const counts: number[] = []
    const ids: string[] = []
    for (let round = 1; round <= 6; round++) {
      // Each round, higher-priority jobs arrive ahead of everything read ahead before.
      const jobs = Array.from({ length: 10 }, (_, i) => ({ id: `p${round}-${i}`, priority: round }))
      ids.push(...jobs.map((job) => job.id))
      await submitAll(jobs)
      const before = master.counter('read_ahead')
      const assigned = await node(`n${round}`, [])
      await waitFor(() => assigned[0], { what: `an assignment in round ${round}` })
      await waitFor(() => master.counter('read_ahead') > before, { what: `read-ahead in round ${round}` })
      // In memory: one assigned job per round's node, and the queued records.
      counts.push(master.footprint().jobs - round)
    }
    // parkAbove 1 plus the window of 4 plus a head or two; without parking again: 4, 8, 12 …
    expect(Math.max(...counts)).toBeLessThanOrEqual(1 + 4 + 2)
    expect(master.counter('read_ahead_parked')).toBeGreaterThan(0)
    // What was parked again reads as queued, and runs once the nodes that hold nothing free up.
    const client = await cluster.client()
    expect(await client.listJobs({ state: 'queued', limit: 100 })).toHaveLength(60 - 6)
    for (const goodbye of offline) await goodbye()
    await cluster.worker({ slots: 8 })
    await waitFor(() => ids.every((id) => submitter.resultOf(id)), { timeoutMs: 20_000, what: 'every result' })
    for (const id of ids) expect(submitter.resultsOf(id), id).toMatchObject([{ state: 'succeeded' }])
  })
})
