import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { waitFor } from '../helpers/wait.js'

/** Seen from a plain mqtt.js client: what a resubmitted id is answered with (docs/protocol.md §4, §5). */
describe('resubmitted ids, from a plain MQTT client', () => {
  let cluster: TestCluster | undefined
  const submitters: PlainSubmitter[] = []
  afterEach(async () => {
    await Promise.all(submitters.splice(0).map((s) => s.close()))
    await cluster?.close()
    cluster = undefined
  })

  async function plain(name: string): Promise<PlainSubmitter> {
    const submitter = await PlainSubmitter.connect(cluster!.url, cluster!.namespace, name)
    submitters.push(submitter)
    return submitter
  }

  it('an id that is already final is answered with its result, as first sent, with the new correlationId', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const first = await plain('first')
    first.submit({ id: 'done', kind: 'noop', correlationId: 'c-1' })
    const original = await waitFor(() => first.resultOf('done'), { what: 'the first result' })
    const again = await plain('again')
    again.submit({ id: 'done', kind: 'noop', correlationId: 'c-2' })
    const repeated = await waitFor(() => again.resultOf('done'), { what: 'the result for the resubmit' })
    expect(repeated).toEqual({ ...original, correlationId: 'c-2' })
    expect(again.repliesOf('done').map((r) => r.type)).toEqual(['result'])
    expect(first.resultsOf('done')).toHaveLength(1)
  })

  it('a resubmit while the result is on its way, or twice in a row, still gets one result', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const first = await plain('first')
    first.submit({ id: 'once', kind: 'noop', correlationId: 'c-1' })
    await waitFor(() => first.resultOf('once'), { what: 'the result' })
    // Subscribed since before the job ended: that subscription got the result, so no copy.
    first.resubmit('once')
    // A new subscriber asks twice before its answer comes: one copy.
    const late = await plain('late')
    late.submit({ id: 'once', kind: 'noop', correlationId: 'c-9' })
    late.resubmit('once')
    await waitFor(() => late.resultOf('once'), { what: 'the late result' })
    // A marker submit behind them: once it is answered, both resubmits were handled.
    first.submit({ id: 'marker', kind: 'noop' })
    late.submit({ id: 'marker-late', kind: 'noop' })
    await waitFor(() => first.resultOf('marker') && late.resultOf('marker-late'), { what: 'the markers' })
    expect(first.resultsOf('once')).toHaveLength(1)
    expect(late.resultsOf('once')).toHaveLength(1)
    // A submit left without a second copy is still answered: accepted, duplicate, final.
    const finalDuplicate = { type: 'accepted', jobId: 'once', state: 'succeeded', duplicate: true }
    expect(first.repliesOf('once').slice(-1)).toEqual([expect.objectContaining({ ...finalDuplicate, correlationId: 'c-1' })])
    expect(late.repliesOf('once').map((r) => r.type)).toEqual(['result', 'accepted'])
    expect(late.repliesOf('once')[1]).toEqual(expect.objectContaining({ ...finalDuplicate, correlationId: 'c-9' }))
  })

  it('a persistent session whose QoS 0 subscription missed the result gets it on resubmit', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const ns = cluster.namespace
    const replyTo = `${ns}/reply/sticky`
    const results: string[] = []
    const connect = async () => {
      const client = await mqtt.connectAsync(cluster!.url, { clientId: 'sticky-session', clean: false, reconnectPeriod: 0 })
      client.on('message', (_topic, payload) => {
        const reply = JSON.parse(payload.toString())
        if (reply.type === 'result') results.push(reply.jobId)
      })
      await client.subscribeAsync(replyTo, { qos: 0 })
      return client
    }
    const submit = (client: mqtt.MqttClient) =>
      client.publishAsync(`${ns}/submit`, JSON.stringify({ v: 1, type: 'submit', id: 'away', kind: 'noop', sleepMs: 300, replyTo }), { qos: 1 })
    let client = await connect()
    await submit(client)
    await client.endAsync(true) // gone before the result: a QoS 0 subscription has nothing queued
    const watcher = await cluster.client()
    await waitFor(async () => (await watcher.getJob('away')).state === 'succeeded', { timeoutMs: 10_000, what: 'the job to end' })
    client = await connect()
    try {
      await submit(client)
      await waitFor(() => results.includes('away'), { timeoutMs: 5_000, what: 'the result on resubmit' })
    } finally {
      await client.endAsync(true)
    }
  })

  it('a live id is answered accepted/duplicate, and its result reaches every submitter of the id once each', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const a = await plain('a')
    const b = await plain('b')
    a.submit({ id: 'slow', kind: 'noop', sleepMs: 600, correlationId: 'a-1' })
    await waitFor(() => a.repliesOf('slow').some((r) => r.type === 'accepted'), { what: 'accepted' })
    b.submit({ id: 'slow', kind: 'noop', correlationId: 'b-1' })
    a.resubmit('slow') // the same replyTo and correlationId: already answered, no second result
    a.resubmit('slow', { correlationId: 'a-2' }) // another correlationId on the same topic: its own result
    await waitFor(() => b.resultOf('slow') && a.resultsOf('slow').length >= 2, { timeoutMs: 10_000, what: 'results to both' })
    expect(b.repliesOf('slow')).toEqual([
      { v: 1, type: 'accepted', jobId: 'slow', state: expect.any(String), duplicate: true, correlationId: 'b-1' },
      expect.objectContaining({ type: 'result', state: 'succeeded', correlationId: 'b-1' }),
    ])
    // Let anything late arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(a.resultsOf('slow').map((r) => r.correlationId).sort()).toEqual(['a-1', 'a-2'])
    expect(b.resultsOf('slow')).toHaveLength(1)
  })

  it('a parked job remembers its resubmitter through the store', async () => {
    cluster = await TestCluster.start({ master: { parkAbove: 1 } })
    const a = await plain('a')
    const b = await plain('b')
    // No node yet: these queue, and all but the head are parked.
    for (let i = 0; i < 5; i++) a.submit({ id: `q-${i}`, kind: 'noop' })
    await waitFor(() => [0, 1, 2, 3, 4].every((i) => a.repliesOf(`q-${i}`).some((r) => r.type === 'accepted')), { what: 'all queued' })
    b.submit({ id: 'q-4', kind: 'noop', correlationId: 'late' })
    await waitFor(() => b.repliesOf('q-4').some((r) => r.type === 'accepted'), { what: 'the duplicate answered' })
    await cluster.worker()
    await waitFor(() => b.resultOf('q-4') && [0, 1, 2, 3, 4].every((i) => a.resultOf(`q-${i}`)), { timeoutMs: 10_000, what: 'every result' })
    expect(b.resultOf('q-4')).toMatchObject({ state: 'succeeded', correlationId: 'late' })
  })

  it('by default a plain client hears accepted and the result, plus waiting while no node can run the job', async () => {
    cluster = await TestCluster.start()
    const plainClient = await plain('lean')
    plainClient.submit({ id: 'early', kind: 'noop' })
    await waitFor(() => plainClient.repliesOf('early').length >= 2, { what: 'accepted and waiting' })
    await cluster.worker()
    await waitFor(() => plainClient.resultOf('early'), { timeoutMs: 10_000, what: 'the early result' })
    plainClient.submit({ id: 'later', kind: 'noop' })
    await waitFor(() => plainClient.resultOf('later'), { timeoutMs: 10_000, what: 'the later result' })
    expect(plainClient.repliesOf('early').map((r) => [r.type, r.state])).toEqual([
      ['accepted', 'queued'],
      ['progress', 'waiting'],
      ['result', 'succeeded'],
    ])
    // A job that ends before its admission is answered is answered by its result alone.
    expect(['accepted,result', 'result']).toContain(plainClient.repliesOf('later').map((r) => r.type).join())
  })

  it('progress: true asks for every progress reply on replyTo', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const chatty = await plain('chatty')
    chatty.submit({ id: 'loud', kind: 'noop', sleepMs: 50, progress: true })
    await waitFor(() => chatty.resultOf('loud'), { what: 'result' })
    const states = chatty.repliesOf('loud').map((r) => (r.type === 'progress' ? r.state : r.type))
    expect(states).toEqual(['accepted', 'assigned', 'running', 'result'])
  })
})
