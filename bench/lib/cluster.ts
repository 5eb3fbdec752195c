import { mkdtempSync } from 'node:fs'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { startBroker, type BrokerHandle } from '../../broker/broker.js'
import { closeServer, listenTcp } from '../../broker/aedes/tcp-server.js'
import { startFloorMaster } from '../floor-master.js'
import { childExecArgv } from './child.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))

export interface BenchBroker {
  url: string
  port: number
  close(): Promise<void>
  edgerun?: BrokerHandle
}

export async function floorBroker(ns: string, node: string): Promise<BenchBroker> {
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, concurrency: 10_000 })
  const server = await listenTcp(aedes, '127.0.0.1', 0, 10_000)
  await startFloorMaster(aedes, ns, node)
  const port = (server.address() as { port: number }).port
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async close() {
      await closeServer(server).catch(() => {})
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
    },
  }
}

/**
 * The real broker-master with the SQLite store on, in a temp dir (the durable store must be on).
 * `metrics`: its HTTP listener on, and /metrics scraped every `scrapeMs` meanwhile.
 */
export async function edgerunBroker(
  ns: string,
  port = 0,
  dataDir?: string,
  store: 'sqlite' | 'memory' | 'postgres' = 'sqlite',
  postgresUrl?: string,
  options: { metrics?: boolean; scrapeMs?: number } = {},
): Promise<BenchBroker & { dataDir: string; scrapes: () => number }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'edgerun-bench-'))
  const broker = await startBroker({ port, store, dataDir: dir, ...(postgresUrl ? { postgresUrl } : {}), master: { namespace: ns }, ...(options.metrics ? { http: { port: 0 } } : {}) })
  let scrapes = 0
  const scraper = broker.http
    ? setInterval(() => {
        void fetch(`${broker.http!.url}/metrics`)
          .then((response) => response.text())
          .then(() => scrapes++, () => {})
      }, options.scrapeMs ?? 1000)
    : undefined
  return {
    scrapes: () => scrapes,
    url: broker.url,
    port: broker.port,
    dataDir: dir,
    edgerun: broker,
    async close() {
      if (scraper) clearInterval(scraper)
      await broker.close()
      if (!dataDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A real `edgerun worker` process. Resolves once it is online. */
export async function edgerunWorker(url: string, ns: string, id: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...childExecArgv(), BIN, 'worker', '--url', url, '--namespace', ns, '--id', id, '--log-level', 'silent', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stderr!.on('data', (chunk) => (out += chunk))
  child.stdout!.on('data', (chunk) => (out += chunk))
  const until = Date.now() + 20_000
  while (!out.includes('online')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`worker ${id} did not start: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return child
}

export function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}
