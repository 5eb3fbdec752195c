import net from 'node:net'

/**
 * A loopback port free right now, for servers that cannot take port 0 (mosquitto, redis, a
 * broker restarted on the same port). Chosen below the kernel's ephemeral range: a port from
 * that range can be handed to another test's port-0 listener, or used as a client's source
 * port, while a killed broker is down, and the restarted broker would lose it.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (await canListen(port)) return port
  }
  throw new Error('no free port found below the ephemeral range')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
