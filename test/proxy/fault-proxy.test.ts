import net, { type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FaultProxy } from '../helpers/fault-proxy.js'

/** Polls `condition` every 5 ms; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A socket plus everything that happened to it. */
interface Peer {
  socket: Socket
  data: () => string
  buffer: () => Buffer
  bytes: () => number
  ended: boolean
  closed: boolean
  error: NodeJS.ErrnoException | undefined
}

function observe(socket: Socket): Peer {
  const chunks: Buffer[] = []
  let bytes = 0
  const peer: Peer = {
    socket,
    data: () => Buffer.concat(chunks).toString(),
    buffer: () => Buffer.concat(chunks),
    bytes: () => bytes,
    ended: false,
    closed: false,
    error: undefined,
  }
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    bytes += chunk.length
  })
  socket.on('end', () => (peer.ended = true))
  socket.on('error', (error) => (peer.error = error))
  socket.on('close', () => (peer.closed = true))
  return peer
}

/** An echo server that records the server side of each connection. */
async function startEcho(): Promise<{ server: Server; port: number; peers: Peer[] }> {
  const peers: Peer[] = []
  const server = net.createServer((socket) => {
    peers.push(observe(socket))
    socket.on('data', (chunk: Buffer) => {
      if (!socket.destroyed && socket.writable) socket.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, peers }
}

async function connect(port: number): Promise<Peer> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const peer = observe(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return peer
}

describe('FaultProxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>
  let proxy: FaultProxy
  const clients: Peer[] = []

  async function client(): Promise<Peer> {
    const peer = await connect(proxy.port)
    clients.push(peer)
    return peer
  }

  beforeEach(async () => {
    echo = await startEcho()
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port } })
  })

  afterEach(async () => {
    for (const peer of clients.splice(0)) peer.socket.destroy()
    await proxy.close()
    for (const peer of echo.peers) peer.socket.destroy()
    await new Promise((resolve) => echo.server.close(resolve))
  })

  it('forwards both ways and lists the connection', async () => {
    const c = await client()
    c.socket.write('hello')
    await waitFor(() => c.data() === 'hello', 'the echo')
    const [conn] = await proxy.waitForConnections(1)
    expect(conn!.id).toBe(1)
    expect(conn!.clientPort).toBe(c.socket.localPort)
    expect(proxy.connectionFrom(c.socket.localPort!)).toBe(conn)
    expect(proxy.stats).toMatchObject({ accepted: 1, active: 1, bytesUp: 5, bytesDown: 5, refused: 0 })
    expect(proxy.url()).toBe(`mqtt://127.0.0.1:${proxy.port}`)
  })

  it('carries a large payload intact (backpressure)', async () => {
    const c = await client()
    const payload = Buffer.alloc(8 * 1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 10)) & 0xff
    c.socket.write(payload)
    await waitFor(() => c.bytes() === payload.length, 'the full echo', 15_000)
    expect(c.buffer().equals(payload)).toBe(true)
    expect(proxy.stats.bytesUp).toBe(payload.length)
  }, 20_000)

  it('passes FIN through: a half-close reaches the target and comes back', async () => {
    const c = await client()
    c.socket.write('bye')
    c.socket.end()
    await waitFor(() => c.ended && c.closed, 'the client to see the end')
    expect(c.data()).toBe('bye')
    expect(c.error).toBeUndefined()
    await waitFor(() => proxy.stats.active === 0, 'the proxy to drop the connection')
  })

  it('cut() resets both sides: each peer sees ECONNRESET', async () => {
    const c = await client()
    c.socket.write('x')
    await waitFor(() => c.data() === 'x', 'the echo')
    const [conn] = proxy.connections()
    proxy.cut()
    await waitFor(() => c.closed, 'the client to close')
    expect(c.error?.code).toBe('ECONNRESET')
    await waitFor(() => echo.peers[0]!.closed, 'the target side to close')
    expect(echo.peers[0]!.error?.code).toBe('ECONNRESET')
    await conn!.waitClosed()
    expect(proxy.connections()).toEqual([])

    // The proxy itself is still up.
    const again = await client()
    again.socket.write('y')
    await waitFor(() => again.data() === 'y', 'the echo after a cut')
  })

  it('cut() on one connection leaves the others alone', async () => {
    const a = await client()
    const b = await client()
    await proxy.waitForConnections(2)
    proxy.connectionFrom(a.socket.localPort!)!.cut()
    await waitFor(() => a.closed, 'a to close')
    expect(a.error?.code).toBe('ECONNRESET')
    b.socket.write('still here')
    await waitFor(() => b.data() === 'still here', 'b to keep working')
    expect(proxy.connections().map((conn) => conn.id)).toEqual([2])
  })

  it('cut({ graceful: true }) ends both sides with a FIN', async () => {
    const c = await client()
    await proxy.waitForConnections(1)
    proxy.cut({ graceful: true })
    await waitFor(() => c.ended && c.closed, 'the client to see FIN')
    expect(c.error).toBeUndefined()
  })

  it('stall() holds data both ways without closing, and delivers it in order on resume()', async () => {
    const c = await client()
    c.socket.write('before;')
    await waitFor(() => c.data() === 'before;', 'the first echo')
    const serverSide = echo.peers[0]!

    proxy.stall()
    expect(proxy.connections()[0]!.stalled).toBe(true)
    c.socket.write('during-1;')
    c.socket.write('during-2;')
    serverSide.socket.write('pushed;') // target → client is held too
    await sleep(300)
    expect(c.data()).toBe('before;')
    expect(serverSide.data()).toBe('before;')
    expect(c.ended || c.closed || serverSide.ended || serverSide.closed).toBe(false)
    expect(c.error).toBeUndefined()

    proxy.resume()
    await waitFor(() => c.data() === 'before;pushed;during-1;during-2;', 'the held bytes')
    expect(serverSide.data()).toBe('before;during-1;during-2;')
    expect(proxy.stats.dropped).toBe(0)
  })

  it('stall() also holds connections made while stalled', async () => {
    proxy.stall()
    const c = await client()
    c.socket.write('late')
    await sleep(300)
    expect(c.data()).toBe('')
    expect(c.closed).toBe(false)
    proxy.resume()
    await waitFor(() => c.data() === 'late', 'the echo after resume')
  })

  it('stall() holds a close too: a reset during the stall crosses on resume()', async () => {
    const c = await client()
    c.socket.write('a')
    await waitFor(() => c.data() === 'a', 'the echo')
    proxy.stall({ drop: true }) // drop mode keeps reading, so the reset is noticed at once
    echo.peers[0]!.socket.resetAndDestroy()
    await sleep(200)
    expect(c.closed).toBe(false)
    proxy.resume()
    await waitFor(() => c.closed, 'the reset to arrive')
    expect(c.error?.code).toBe('ECONNRESET')
  })

  it('stall({ drop: true }) discards the bytes; later bytes flow after resume()', async () => {
    const c = await client()
    proxy.stall({ drop: true })
    c.socket.write('lost')
    await waitFor(() => proxy.stats.dropped === 4, 'the bytes to be dropped')
    await sleep(100)
    expect(c.data()).toBe('')
    expect(echo.peers[0]?.data() ?? '').toBe('')
    proxy.resume()
    c.socket.write('kept')
    await waitFor(() => c.data() === 'kept', 'the echo after resume')
    expect(proxy.connections()[0]!.stats.droppedUp).toBe(4)
  })

  it('stall({ direction: "up" }) stops only client → target', async () => {
    const c = await client()
    c.socket.write('0')
    await waitFor(() => c.data() === '0', 'the echo')
    proxy.stall({ direction: 'up' })
    c.socket.write('1')
    echo.peers[0]!.socket.write('2')
    await waitFor(() => c.data() === '02', 'target → client to keep flowing')
    await sleep(100)
    expect(echo.peers[0]!.data()).toBe('0')
    proxy.resume()
    await waitFor(() => c.data() === '021', 'the held byte')
  })

  it('delay(ms) adds latency each way and keeps order', async () => {
    const c = await client()
    c.socket.write('warm')
    await waitFor(() => c.data() === 'warm', 'the first echo')
    proxy.delay(100)
    const started = Date.now()
    const expected: string[] = []
    for (let i = 0; i < 50; i++) {
      expected.push(`m${i};`)
      c.socket.write(`m${i};`)
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve)) // spread over several chunks
    }
    await waitFor(() => c.data() === 'warm' + expected.join(''), 'the delayed echoes')
    // 100 ms up + 100 ms down; timers may fire a millisecond early.
    expect(Date.now() - started).toBeGreaterThanOrEqual(195)

    proxy.delay(0)
    const t = Date.now()
    c.socket.write('fast')
    await waitFor(() => c.data().endsWith('fast'), 'the undelayed echo')
    expect(Date.now() - t).toBeLessThan(1000)
  })

  it('refuse(true) resets new connections without reaching the target; refuse(false) restores', async () => {
    proxy.refuse(true)
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port })
    const peer = observe(socket)
    clients.push(peer)
    await waitFor(() => peer.closed, 'the refused connection to close')
    expect(peer.error?.code).toBe('ECONNRESET')
    expect(proxy.stats).toMatchObject({ refused: 1, accepted: 0, active: 0 })
    expect(echo.peers).toHaveLength(0)

    proxy.refuse(false)
    const c = await client()
    c.socket.write('ok')
    await waitFor(() => c.data() === 'ok', 'the echo once accepting again')
  })

  it('resets the client when the target is down', async () => {
    const unused = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const dead = await FaultProxy.start({ target: { host: '127.0.0.1', port: unused } })
    try {
      const socket = net.connect({ host: '127.0.0.1', port: dead.port })
      const peer = observe(socket)
      await waitFor(() => peer.closed, 'the client to be reset')
      expect(peer.error?.code).toBe('ECONNRESET')
    } finally {
      await dead.close()
    }
  })

  it('waitForConnections is bounded', async () => {
    await expect(proxy.waitForConnections(1, 50)).rejects.toThrow(/0 of 1 connections/)
  })

  it('close() is idempotent, drops open connections and stops listening', async () => {
    const c = await client()
    await proxy.waitForConnections(1)
    await Promise.all([proxy.close(), proxy.close()])
    await proxy.close()
    await waitFor(() => c.closed, 'the client to close')
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      net.connect({ host: '127.0.0.1', port: proxy.port }).once('error', resolve)
    })
    expect(error.code).toBe('ECONNREFUSED')
  })
})
