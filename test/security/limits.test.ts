import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FrameScanner } from '../../broker/aedes/guard.js'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { spawnCli } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { fire, rawClient, type RawClient } from './helpers.js'

const MiB = 1024 * 1024

function varint(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

/** An MQTT 3.1.1 CONNECT, by hand. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId)
  const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 10, 0, id.length]), id])
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body])
}

describe('the packet-size guard (FrameScanner)', () => {
  const publish = (total: number) => {
    // A QoS 0 PUBLISH of exactly `total` bytes on topic "t".
    const lengthBytes = varint(total - 2).length
    const remaining = total - 1 - lengthBytes
    const frame = Buffer.alloc(total)
    frame[0] = 0x30
    Buffer.from(varint(remaining)).copy(frame, 1)
    frame.writeUInt16BE(1, 1 + lengthBytes)
    frame.write('t', 3 + lengthBytes)
    return frame
  }

  it('passes packets up to the limit, whole or split anywhere, many per chunk', () => {
    const frames = Buffer.concat([publish(1024), publish(10), Buffer.from([0xc0, 0]), publish(1024)])
    expect(new FrameScanner(1024).feed(frames)).toBe(0)
    const scanner = new FrameScanner(1024)
    for (const byte of frames) expect(scanner.feed(Buffer.from([byte]))).toBe(0)
  })

  it('flags a packet over the limit from its first bytes, before its body arrives', () => {
    const frame = publish(1025)
    expect(new FrameScanner(1024).feed(frame.subarray(0, 3))).toBe(1025)
    const scanner = new FrameScanner(1024)
    expect(scanner.feed(publish(1000))).toBe(0)
    expect(scanner.feed(Buffer.from([0x30, ...varint(10 * MiB)]))).toBe(10 * MiB + 1 + 4)
  })

  it('flags a malformed remaining length', () => {
    expect(new FrameScanner(MiB).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(Infinity)
  })
})

describe('broker limits (docs/security.md)', () => {
  let cluster: TestCluster
  const raws: RawClient[] = []
  afterEach(async () => {
    await Promise.all(raws.splice(0).map((raw) => raw.end()))
    await cluster?.close()
  })
  async function raw(options: Parameters<typeof rawClient>[1] = {}) {
    const client = await rawClient(cluster.url, options)
    raws.push(client)
    return client
  }

  it('a 10 MB publish closes its connection; the master carries on', async () => {
    cluster = await TestCluster.start()
    const sender = await raw()
    fire(sender, topics.submit(cluster.namespace), Buffer.alloc(10 * MiB, 0x7b))
    await sender.waitClosed('10 MB publish refused')
    expect(cluster.broker.security.counters.get('packet_too_large')).toBe(1)
    // Just under the limit is fine.
    const ok = await raw()
    await ok.client.publishAsync(`${cluster.namespace}-x/big`, Buffer.alloc(MiB - 1024), { qos: 1 })
    expect(ok.closed()).toBe(false)
    const client = await cluster.client()
    await cluster.worker()
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded' })
  })

  it('the size is checked on the header: a connection that only announces 10 MB is closed at once', async () => {
    cluster = await TestCluster.start()
    const socket = net.connect(cluster.broker.port, '127.0.0.1')
    let closed = false
    socket.on('close', () => (closed = true))
    socket.on('error', () => {})
    socket.on('data', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(connectPacket('announcer'))
    socket.write(Buffer.from([0x30, ...varint(10 * MiB), 0, 1, 0x74, 1, 2, 3]))
    await waitFor(() => closed, { timeoutMs: 2000, what: 'connection closed on the header alone' })
    expect(cluster.broker.security.counters.get('packet_too_large')).toBe(1)
  })

  it('--max-packet-size is configurable', async () => {
    cluster = await TestCluster.start({ maxPacketBytes: 4096 })
    const sender = await raw()
    await sender.client.publishAsync('x/y', Buffer.alloc(4000), { qos: 1 })
    fire(sender, 'x/y', Buffer.alloc(5000))
    await sender.waitClosed('5000-byte publish refused')
  })

  it('--max-connections caps open connections over all listeners', async () => {
    cluster = await TestCluster.start({ maxConnections: 3 })
    const open = [await raw(), await raw(), await raw()]
    await expect(rawClient(cluster.url, { connectTimeout: 2000 })).rejects.toThrow()
    expect(cluster.broker.security.counters.get('connection_limit')).toBeGreaterThanOrEqual(1)
    await open[0]!.end()
    await waitFor(() => open[0]!.closed(), { what: 'first connection closed' })
    await waitFor(async () => {
      const again = await rawClient(cluster.url, { connectTimeout: 2000 }).catch(() => undefined)
      if (again) raws.push(again)
      return again
    }, { what: 'a slot free again' })
  })

  it('--max-queued-per-client: QUEUE_FULL for that client only', async () => {
    cluster = await TestCluster.start({ master: { maxQueuedPerClient: 2 } })
    const greedy = await cluster.client()
    const other = await cluster.client()
    expect(await greedy.submit({ id: 'q1', kind: 'noop' }, { detach: true })).toMatchObject({ type: 'accepted' })
    expect(await greedy.submit({ id: 'q2', kind: 'noop' }, { detach: true })).toMatchObject({ type: 'accepted' })
    expect(await greedy.submit({ id: 'q3', kind: 'noop' }, { detach: true })).toMatchObject({ type: 'rejected', code: 'QUEUE_FULL' })
    expect(await other.submit({ id: 'q4', kind: 'noop' }, { detach: true })).toMatchObject({ type: 'accepted' })
    expect((await other.stats()).rejected).toMatchObject({ QUEUE_FULL: 1 })
  })

  it('judge jobs: source and tests over their caps are BAD_MESSAGE, naming the limit', async () => {
    cluster = await TestCluster.start({ master: { maxJudgeSourceBytes: 1000, maxJudgeTestsBytes: 2000 } })
    const client = await cluster.client()
    const judge = (id: string, source: string, tests: Array<{ input: string; expected: string }>) =>
      client.submit({ id, kind: 'judge', language: 'python3', source, tests }, { detach: true })
    expect(await judge('big-source', 'x'.repeat(1001), [{ input: '', expected: '' }])).toMatchObject({
      type: 'rejected',
      code: 'BAD_MESSAGE',
      message: 'judge source is 1001 bytes; this broker accepts at most 1000',
    })
    // Bytes, not characters: 500 three-byte characters are 1500 bytes.
    expect(await judge('big-tests', 'print(1)', [{ input: '€'.repeat(500), expected: 'y'.repeat(501) }])).toMatchObject({
      type: 'rejected',
      code: 'BAD_MESSAGE',
      message: 'judge tests total 2001 bytes; this broker accepts at most 2000',
    })
    expect(await judge('fits', 'x'.repeat(1000), [{ input: 'a'.repeat(1000), expected: 'b'.repeat(1000) }])).toMatchObject({ type: 'accepted' })
    expect((await client.stats()).rejected).toMatchObject({ BAD_MESSAGE: 2 })
  })

  it('edgerun broker takes every limit as a flag', async () => {
    const broker = spawnCli(['broker', '--memory', '--port', '0', '--json', '--namespace', 'flags', '--max-connections', '2', '--max-packet-size', '2048', '--max-judge-source', '10', '--max-queued-per-client', '1', '--log-level', 'silent'])
    try {
      const line = await waitFor(() => broker.output().split('\n').find((l) => l.includes('"listening"')), { timeoutMs: 15_000, what: `broker listening: ${broker.output()}` })
      const { url } = JSON.parse(line) as { url: string }
      const a = await rawClient(url)
      raws.push(a)
      const replies: string[] = []
      a.client.on('message', (_topic, payload) => replies.push(payload.toString()))
      await a.client.subscribeAsync(topics.reply('flags', 'a'), { qos: 1 })
      const submit = (id: string, extra: object) =>
        a.client.publishAsync(topics.submit('flags'), JSON.stringify({ v: 1, type: 'submit', id, replyTo: topics.reply('flags', 'a'), ...extra }), { qos: 1 })
      await submit('j', { kind: 'judge', language: 'c', source: 'x'.repeat(11), tests: [{ input: '', expected: '' }] })
      await submit('n1', { kind: 'noop' })
      await submit('n2', { kind: 'noop' })
      const codes = () => replies.map((r) => JSON.parse(r)).map((r) => `${r.jobId}:${r.code ?? r.type}`)
      await waitFor(() => ['j', 'n1', 'n2'].every((id) => codes().some((c) => c.startsWith(`${id}:`))), { what: `replies to j, n1, n2: ${codes()}` })
      expect(codes()).toEqual(expect.arrayContaining(['j:BAD_MESSAGE', 'n1:accepted', 'n2:QUEUE_FULL']))
      const b = await rawClient(url)
      raws.push(b)
      await expect(rawClient(url, { connectTimeout: 2000 })).rejects.toThrow()
      fire(b, 'x/y', Buffer.alloc(3000))
      await b.waitClosed('3000-byte packet refused')
    } finally {
      broker.kill('SIGTERM')
      await broker.exited
    }
  })
})
