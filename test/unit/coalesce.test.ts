import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { coalesceWrites, flushCoalescedWrites } from '../../src/net/coalesce.js'
import { waitFor } from '../helpers/wait.js'

describe('coalesced writes', () => {
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })

  async function pair(): Promise<{ socket: net.Socket; received: () => string }> {
    let data = ''
    const server = net.createServer((peer) => peer.on('data', (chunk) => (data += chunk.toString())))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const socket = coalesceWrites(net.createConnection({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true }))
    await new Promise<void>((resolve) => socket.once('connect', resolve))
    closers.push(() => {
      socket.destroy()
      server.close()
    })
    return { socket, received: () => data }
  }

  it('holds a turn of writes until setImmediate, unless flushCoalescedWrites sends them first', async () => {
    const a = await pair()
    const b = await pair()
    a.socket.write('a1')
    a.socket.write('a2')
    b.socket.write('b1')
    expect([a.socket.writableCorked, b.socket.writableCorked]).toEqual([1, 1])
    expect(a.socket.writableLength).toBe(4) // buffered behind the cork
    flushCoalescedWrites()
    // Handed to the kernel now, not at the end of the turn.
    expect([a.socket.writableCorked, b.socket.writableCorked]).toEqual([0, 0])
    expect([a.socket.writableLength, b.socket.writableLength]).toEqual([0, 0])
    // A later write of the same turn is held again, and the pending setImmediate of the first
    // cork must not release it early or twice.
    a.socket.write('a3')
    expect(a.socket.writableCorked).toBe(1)
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(a.socket.writableCorked).toBe(0)
    await waitFor(() => a.received() === 'a1a2a3' && b.received() === 'b1', { what: 'every write delivered in order' })
  })

  it('a held write sent early leaves the socket alone when its end-of-turn release comes', async () => {
    const { socket } = await pair()
    socket.write('x')
    flushCoalescedWrites()
    socket.cork() // someone else's cork, meant to last past this turn
    await new Promise((resolve) => setImmediate(resolve))
    expect(socket.writableCorked).toBe(1)
    socket.uncork()
  })
})
