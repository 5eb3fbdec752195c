import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import net from 'node:net'
import { requireBinary } from './binaries.js'
import { waitFor } from './wait.js'

/** A real Mosquitto on 127.0.0.1:`port`, anonymous, no persistence; its config goes in `dir`. */
export async function startMosquitto(port: number, dir: string): Promise<ChildProcess> {
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`)
  const binary = requireBinary('mosquitto')
  const child = spawn(binary, ['-c', conf], { stdio: 'ignore' })
  let gone: string | undefined
  child.on('error', (error) => (gone = error.message))
  child.on('exit', (code, signal) => (gone ??= `exited with ${signal ?? code}`))
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
  await waitFor(() => gone !== undefined || listening(), { timeoutMs: 10_000, what: 'mosquitto listening' })
  if (gone !== undefined) throw new Error(`mosquitto (${binary}) did not start: ${gone}`)
  return child
}
