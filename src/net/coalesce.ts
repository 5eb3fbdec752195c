import type { Socket } from 'node:net'

/**
 * With TCP_NODELAY every write is its own segment and its own syscall. mqtt-packet corks a
 * socket only until the next microtask, but a broker writes the packets of one event-loop turn
 * from many callbacks. Holding the cork until setImmediate sends them together: one writev per
 * turn instead of one per packet, at the cost of microseconds of latency.
 */
export function coalesceWrites(socket: Socket): Socket {
  let corked = false
  const uncork = () => {
    corked = false
    if (!socket.destroyed) socket.uncork()
  }
  const write = socket.write
  socket.write = function (this: Socket, ...args: unknown[]) {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      setImmediate(uncork)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as Socket['write']
  return socket
}
