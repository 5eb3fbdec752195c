import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
// Not test/setup/system-packages.mjs: the benchmark runs this file from dist/, where tsc copies no .mjs.
import { findExecutable } from '../../src/judge/sandbox/tools.js'

/**
 * redis-server's absolute path, or undefined; the benchmark then reports its BullMQ baseline as
 * skipped. Tests use requireBinary('redis-server') instead, which fails.
 */
export function redisAvailable(): string | undefined {
  return findExecutable('redis-server')
}

export async function startRedis(binary: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  let gone: string | undefined
  child.on('error', (error) => (gone = error.message))
  child.on('exit', (code, signal) => (gone ??= `exited with ${signal ?? code}`))
  const until = Date.now() + 10_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (up) return child
    if (gone !== undefined) throw new Error(`redis-server (${binary}) did not start: ${gone}`)
    if (Date.now() > until) throw new Error('redis-server did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
