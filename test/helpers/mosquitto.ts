import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
// Tests pass requireBinary('mosquitto') (binaries.ts); the default is for `npm run chaos`, which runs
// this file from dist/, where tsc copies no test/setup/system-packages.mjs.
import { findExecutable } from '../../src/judge/sandbox/tools.js'
import { waitFor } from './wait.js'

/**
 * A real Mosquitto on a loopback port, anonymous and without persistence, its config file in
 * `dir`. A missing mosquitto fails the test with what to install (`npm test` installs it first).
 */
export async function startMosquitto(port: number, dir: string, binary = findExecutable('mosquitto')): Promise<ChildProcess> {
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`)
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
