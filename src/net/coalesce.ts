import type { Socket } from 'node:net'

/** The uncorks of this process's held sockets, in the order they were corked. */
const held = new Set<() => void>()

/**
 * Sends every write held so far now, instead of at the end of the turn. For whoever is about to
 * block the event loop (a store commit): what is queued, an assignment say, travels meanwhile.
 */
export function flushCoalescedWrites(): void {
  for (const uncork of [...held]) uncork()
}

/**
 * With TCP_NODELAY every write is its own segment and its own syscall. mqtt-packet corks a
 * socket only until the next microtask, but a broker writes the packets of one event-loop turn
 * from many callbacks. Holding the cork until setImmediate sends them together: one writev per
 * turn instead of one per packet, at the cost of microseconds of latency.
 */
export function coalesceWrites(socket: Socket): Socket {
  let corked = false
  const uncork = () => {
    if (!corked) return // already sent by flushCoalescedWrites
    corked = false
    held.delete(uncork)
    if (!socket.destroyed) socket.uncork()
  }
  const write = socket.write
  socket.write = function (this: Socket, ...args: unknown[]) {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      held.add(uncork)
      setImmediate(uncork)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as Socket['write']
  return socket
}
