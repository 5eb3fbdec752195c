import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A worker follows the highest master term (docs/protocol.md §7a): what a deposed master sent
 * after the new one spoke is dropped. The masters here are plain mqtt.js clients writing the
 * protocol's JSON by hand.
 */
describe('a worker and master terms', () => {
  let cluster: TestCluster | undefined
  afterEach(async () => {
    await cluster?.close()
    cluster = undefined
  })

  it('drops an assign and a control of a lower term than it has seen, and ignores that term\'s will', async () => {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('term')
    const worker = await cluster.worker({ namespace: ns, id: 'w1' })
    const master = await mqtt.connectAsync(cluster.url, { clientId: `fake-master-${ns}` })
    const events: Array<Record<string, unknown>> = []
    master.on('message', (_topic, payload) => events.push(JSON.parse(payload.toString()) as Record<string, unknown>))
    await master.subscribeAsync(`${ns}/nodes/w1/events`, { qos: 1 })
    const state = (state: string, term: number) => JSON.stringify({ v: 1, type: 'master', state, instance: `m${term}`, term, ts: Date.now() })
    const job = (id: string) => ({ kind: 'noop', id, priority: 0, timeoutMs: 60_000, maxAttempts: 3, requires: { labels: [] }, wait: true, progress: false, batchReplies: false })
    const assign = (id: string, term: number) => JSON.stringify({ v: 1, type: 'assign', job: job(id), attempt: 1, epoch: worker.epoch, ackBy: Date.now() + 5000, term })

    await master.publishAsync(`${ns}/master/state`, state('online', 5), { qos: 1, retain: true })
    await waitFor(() => worker.masterTerm === 5, { what: 'term 5 seen' })
    // The deposed master of term 4 still assigns: dropped.
    await master.publishAsync(`${ns}/nodes/w1/assign`, assign('stale', 4), { qos: 1 })
    await waitFor(() => worker.staleTermDrops === 1, { what: 'stale assign dropped' })
    // Its will, late: ignored, the term stays.
    await master.publishAsync(`${ns}/master/state`, state('offline', 4), { qos: 1, retain: true })
    await master.publishAsync(`${ns}/nodes/w1/control`, JSON.stringify({ v: 1, type: 'control', op: 'drain', term: 4 }), { qos: 1 })
    await waitFor(() => worker.staleTermDrops === 3, { what: 'stale will and control dropped' })
    // The current master's assign runs.
    await master.publishAsync(`${ns}/nodes/w1/assign`, assign('fresh', 5), { qos: 1 })
    await waitFor(() => events.some((e) => e.type === 'result' && e.jobId === 'fresh'), { what: 'fresh ran' })
    expect(events.filter((e) => e.jobId === 'stale')).toEqual([])
    expect(worker.masterTerm).toBe(5)
    await master.publishAsync(`${ns}/master/state`, '', { qos: 1, retain: true })
    await master.endAsync()
  })
})
