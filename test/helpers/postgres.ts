import { afterAll, beforeAll } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './ports.js'

/**
 * A real PostgreSQL server of the test's own (docs/storage.md, "Postgres"): Debian's `postgresql`
 * package, started by hand rather than as the system's service.
 *
 * - Its binaries are in /usr/lib/postgresql/<version>/bin, off PATH: the newest version is used.
 * - The server refuses to run as root: as root, `initdb` and `postgres` run as the `postgres` user,
 *   in a temp dir chowned to it.
 * - It listens on a free loopback port, with its Unix socket in the temp dir (`-k`), never in
 *   /var/run/postgresql, so it shares nothing with a system cluster or another test's server.
 * - fsync and synchronous_commit stay at their defaults (on): the store's guarantees are measured
 *   as a user gets them.
 *
 * A server that cannot start throws with the reason and the server's own output: a suite that
 * needs Postgres fails, it never skips (`npm test` installs the package first).
 *
 * Not test/setup/system-packages.mjs's finder: the benchmark runs this file from dist/.
 */
export interface PostgresServer {
  readonly port: number
  readonly binDir: string
  /** `postgres://postgres@127.0.0.1:PORT/DB` (trust authentication on loopback; default DB postgres). */
  url(database?: string): string
  /** A new, empty database with a unique name; returns its URL. */
  createDatabase(prefix?: string): Promise<string>
  /**
   * A new, empty schema with a unique name in the default database; returns a URL whose
   * connections use it (`options=-c search_path=…`). Much cheaper than a database per test.
   */
  createSchema(prefix?: string): Promise<string>
  /** Whether the server process is running now. */
  readonly running: boolean
  /**
   * `fast` (SIGINT): open transactions are rolled back, the rest is checkpointed. `immediate`
   * (SIGQUIT): every process quits at once, as at a crash; the next start recovers from the WAL,
   * and what was committed is still there.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>
  /** Everything the server printed since it was started. */
  output(): string
  /** Stops it and removes its directory. Safe to call more than once. */
  dispose(): Promise<void>
}

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, or undefined. */
export function postgresBinDir(root = '/usr/lib/postgresql'): string | undefined {
  const override = process.env.EDGERUN_PG_BIN
  if (override) return override
  let versions: string[]
  try {
    versions = readdirSync(root)
  } catch {
    return undefined
  }
  return versions
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
    .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')))
}

/** uid and gid of the `postgres` user, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':')
      if (name === 'postgres') return { uid: Number(uid), gid: Number(gid) }
    }
  } catch {
    // no passwd file: no such user
  }
  return undefined
}

let counter = 0

export async function startPostgres(options: { startTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const binDir = postgresBinDir()
  if (!binDir) {
    const asRoot = process.getuid?.() === 0
    throw new Error(
      `PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin with initdb and postgres): ` +
        `npm test installs it before the run (test/setup/system-packages.mjs); or run  ${asRoot ? '' : 'sudo '}apt-get install -y postgresql`,
    )
  }
  const asRoot = process.getuid?.() === 0
  const user = asRoot ? postgresUser() : undefined
  if (asRoot && !user) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (the server refuses root)')
  const ids = user ? { uid: user.uid, gid: user.gid } : {}

  const dir = await mkdtemp(join(tmpdir(), 'edgerun-pg-'))
  const dataDir = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  mkdirSync(socketDir)
  if (user) {
    chownSync(dir, user.uid, user.gid)
    chownSync(socketDir, user.uid, user.gid)
  }
  // --no-sync: only for initdb's own files, which a test never needs to survive a power cut.
  const init = spawnSync(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
    ...ids,
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true })
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status ?? init.signal}`}): ${init.stderr || init.stdout}`)
  }

  const port = await freePort()
  let child: ChildProcess | undefined
  let out = ''
  let disposed = false

  const start = async (): Promise<void> => {
    if (child) return
    out = ''
    const proc = spawn(
      join(binDir, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir, '-c', 'max_connections=200', '-c', 'logging_collector=off'],
      { ...ids, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = proc
    proc.stdout!.on('data', (chunk) => (out += chunk))
    proc.stderr!.on('data', (chunk) => (out += chunk))
    let gone: string | undefined
    proc.on('error', (error) => (gone = error.message))
    proc.on('exit', (code, signal) => {
      gone ??= `exited with ${signal ?? code}`
      if (child === proc) child = undefined
    })
    const until = Date.now() + (options.startTimeoutMs ?? 30_000)
    for (;;) {
      if (gone !== undefined) throw new Error(`postgres did not start: ${gone}\n${out}`)
      const client = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 1000 })
      try {
        await client.connect()
        await client.query('SELECT 1')
        return
      } catch {
        // not up yet
      } finally {
        await client.end().catch(() => {})
      }
      if (Date.now() > until) {
        proc.kill('SIGKILL')
        throw new Error(`postgres did not accept connections on 127.0.0.1:${port} within ${options.startTimeoutMs ?? 30_000} ms\n${out}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child = undefined
      return
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill(signal)
    // A fast shutdown's checkpoint can take long on a loaded disk; past a minute, quit at once
    // (SIGQUIT stops the backends too, which a SIGKILL of the postmaster alone would leave behind).
    const timer = setTimeout(() => proc.kill('SIGQUIT'), 60_000)
    await exited
    clearTimeout(timer)
    child = undefined
  }

  const server: PostgresServer = {
    port,
    binDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(prefix = 'edgerun_test') {
      const name = `${prefix}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase()
      const client = new pg.Client({ connectionString: server.url() })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE "${name}"`)
      } finally {
        await client.end()
      }
      return server.url(name)
    },
    get running() {
      return child !== undefined
    },
    async createSchema(prefix = 'edgerun_test') {
      const name = `${prefix}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase()
      const client = new pg.Client({ connectionString: server.url() })
      await client.connect()
      try {
        await client.query(`CREATE SCHEMA "${name}"`)
      } finally {
        await client.end()
      }
      return `${server.url()}?options=${encodeURIComponent(`-c search_path=${name}`)}`
    },
    stop: (mode = 'fast') => stopWith(mode === 'fast' ? 'SIGINT' : 'SIGQUIT'),
    start,
    output: () => out,
    async dispose() {
      if (disposed) return
      disposed = true
      await stopWith('SIGINT')
      await rm(dir, { recursive: true, force: true })
    },
  }

  try {
    await start()
  } catch (error) {
    await server.dispose()
    throw error
  }
  return server
}

/**
 * A PostgreSQL server for the calling test file (or describe block): started before its tests,
 * disposed after them. What it returns stands for the server once it has started; used earlier
 * (outside a test or hook), it throws rather than hand out a server that is not there.
 */
export function usePostgres(): PostgresServer {
  let server: PostgresServer | undefined
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    await server?.dispose()
  }, 30_000)
  return new Proxy({} as PostgresServer, {
    get(_target, key) {
      if (!server) throw new Error('usePostgres(): the server starts in beforeAll; use it in a test or a later hook')
      const value = server[key as keyof PostgresServer]
      return typeof value === 'function' ? value.bind(server) : value
    },
  })
}
