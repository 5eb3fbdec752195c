import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
// Not test/setup/system-packages.mjs (binaries.ts): `npm run chaos` runs this file from dist/, where tsc copies no .mjs.
import { findExecutable } from '../../src/judge/sandbox/tools.js'
import { waitFor } from './wait.js'

/**
 * A real Mosquitto on a loopback port, anonymous and without persistence, its config file in
 * `dir`. A missing mosquitto fails the test with what to install (`npm test` installs it first).
 */
export async function startMosquitto(port: number, dir: string): Promise<ChildProcess> {
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`)
  const binary = findExecutable('mosquitto')
  if (!binary) throw new Error('mosquitto is not installed: npm test installs it before the run (test/setup/system-packages.mjs); or run  apt-get install -y mosquitto')
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
