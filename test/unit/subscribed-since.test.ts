import net from 'node:net'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { orderedNow } from '../../broker/master/ordered-clock.js'
import { SubscribedSince } from '../../broker/master/subscribed-since.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The master answers a resubmit of a final job with its result only when the reply topic was
 * subscribed to after the result went out. So the time SubscribedSince reports must split what a
 * client received from what it missed exactly: every publication stamped before it missed the
 * client, every one stamped after reached it. Publishing on every turn while the client
 * subscribes puts publications in the turn between Aedes adding the subscription and emitting
 * its `subscribe` event.
 */
describe('SubscribedSince', () => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })

  it('reports the moment a subscription began to receive, which splits received from missed publications', async () => {
    const aedes = await Aedes.createBroker()
    const server = net.createServer(aedes.handle)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    closers.push(() => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))))
    const topic = 'ns/reply/client-a'
    const since = new SubscribedSince(aedes, 'ns/reply/')
    const client = mqtt.connect(`mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { reconnectPeriod: 0 })
    closers.push(() => client.endAsync(true))
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    const received = new Set<number>()
    client.on('message', (_topic, payload) => received.add(Number(payload.toString())))

    const stamps: number[] = []
    let publishing = true
    const publishNext = () => {
      if (!publishing) return
      stamps.push(orderedNow())
      aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(String(stamps.length - 1)), qos: 1, retain: false, dup: false }, () => {})
      setImmediate(publishNext)
    }
    publishNext()
    await client.subscribeAsync(topic, { qos: 1 })
    await waitFor(() => received.size >= 20, { timeoutMs: 10_000, what: 'publications after the subscription' })
    publishing = false
    await waitFor(() => received.has(stamps.length - 1), { timeoutMs: 10_000, what: 'the last publication' })

    const at = since.of(topic)
    expect(at).toBeDefined()
    const missed = stamps.flatMap((stamp, i) => (received.has(i) ? [] : [stamp]))
    const got = stamps.flatMap((stamp, i) => (received.has(i) ? [stamp] : []))
    expect(missed.length).toBeGreaterThan(0)
    expect(Math.max(...missed)).toBeLessThan(at!)
    expect(Math.min(...got)).toBeGreaterThan(at!)
  })

  it('stamps never repeat, so a tie cannot hide which came first', () => {
    const stamps = Array.from({ length: 10_000 }, () => orderedNow())
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]!)
  })
})
