import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait.js'

/** The project root, whether this runs from test/ (vitest) or from dist/test/ (npm run chaos). */
export const ROOT = findRoot(fileURLToPath(new URL('.', import.meta.url)))

function findRoot(dir: string): string {
  let current = dir
  while (!existsSync(join(current, 'package.json')) || existsSync(join(current, 'tsconfig.json')) === false) {
    const parent = dirname(current)
    if (parent === current) throw new Error(`no project root above ${dir}`)
    current = parent
  }
  return current.endsWith('/') ? current : `${current}/`
}
export const BIN = `${ROOT}bin/run.js`

export interface CliProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  kill: (signal?: NodeJS.Signals) => void
}

/**
 * Runs the real CLI (from dist/: `npm test` builds first) as a child process. Its HTTP listener,
 * if it starts one, takes a free port: tests run in parallel and must never meet on 8080.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, EDGERUN_HTTP_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (chunk) => (out += chunk))
  child.stderr!.on('data', (chunk) => (out += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    output: () => out,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
  }
}

/** A real `edgerun worker` process; resolves once it says it is online. */
export async function spawnWorker(url: string, namespace: string, id: string, extra: string[] = []): Promise<CliProcess> {
  const worker = spawnCli(['worker', '--url', url, '--namespace', namespace, '--id', id, '--no-judge', '--log-level', 'silent', ...extra])
  await waitFor(() => worker.output().includes('online'), { timeoutMs: 15_000, what: `worker ${id} online; output: ${worker.output()}` })
  return worker
}

/**
 * A real `edgerun broker` process with its SQLite store in `dataDir`; resolves once it listens,
 * and fails at once, with its output, if it exits first.
 */
export function spawnBroker(port: number, dataDir: string, namespace: string, extra: string[] = []): Promise<CliProcess> {
  return startedBroker(['--port', String(port), '--http-port', '0', '--data-dir', dataDir, '--namespace', namespace, '--log-level', 'silent', ...extra])
}

/**
 * A real `edgerun broker` clustered with others over the Redis at `redisUrl`; `args` says the
 * rest (its store or `--no-master`, logging, HTTP). Resolves once it listens, as spawnBroker.
 */
export function spawnClusteredBroker(port: number, redisUrl: string, namespace: string, args: string[]): Promise<CliProcess> {
  return startedBroker(['--port', String(port), '--redis', redisUrl, '--namespace', namespace, ...args])
}

async function startedBroker(args: string[]): Promise<CliProcess> {
  const broker = spawnCli(['broker', ...args])
  await waitFor(() => broker.output().includes('listening') || broker.child.exitCode !== null, { timeoutMs: 20_000, what: `broker listening: ${broker.output()}` })
  if (!broker.output().includes('listening')) throw new Error(`broker did not start: ${broker.output()}`)
  return broker
}
