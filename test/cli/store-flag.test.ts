import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { usePostgres } from '../helpers/postgres.js'
import { spawnCli, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `--store URL` on the real CLI (docs/storage.md): its shorthands' conflicts, an unreachable
 * Postgres at start, and `edgerun broker` / `edgerun master` keeping jobs in a real PostgreSQL.
 */
const started: CliProcess[] = []
const submitters: PlainSubmitter[] = []

afterEach(async () => {
  await Promise.all(submitters.splice(0).map((s) => s.close()))
  for (const proc of started.splice(0)) proc.kill('SIGKILL')
})

function cli(args: string[]): CliProcess {
  const proc = spawnCli(args)
  started.push(proc)
  return proc
}

async function finished(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = cli(args)
  const code = await proc.exited
  return { code, output: proc.output() }
}

describe('--store flag errors', () => {
  it('--store with --memory or --data-dir is one BAD_FLAG line (exit 2)', async () => {
    for (const args of [
      ['broker', '--port', '0', '--store', 'memory', '--memory'],
      ['broker', '--port', '0', '--store', 'memory', '--data-dir', '/tmp/x'],
      ['master', '--url', 'mqtt://127.0.0.1:1', '--store', 'sqlite:/tmp/x', '--memory'],
    ]) {
      const run = await finished(args)
      expect(run.code, run.output).toBe(2)
      expect(run.output.trim().split('\n'), run.output).toHaveLength(1)
      expect(run.output).toMatch(/^error: --(memory|data-dir) and --store cannot be used together/)
    }
    // EDGERUN_DATA_DIR is a lower layer: it gives way to --store instead of clashing.
    const layered = spawnCli(['broker', '--port', '0', '--store', 'memory', '--log-level', 'silent'], { EDGERUN_DATA_DIR: '/nonexistent/edgerun' })
    started.push(layered)
    await waitFor(() => layered.output().includes('listening') || layered.child.exitCode !== null, { timeoutMs: 20_000, what: 'broker listening' })
    expect(layered.output()).toContain('jobs in memory')
    const bad = await finished(['broker', '--store', 'mysql://x', '--port', '0'])
    expect(bad.code).toBe(2)
    expect(bad.output.trim()).toBe('error: --store mysql://x: must be sqlite:DIR, memory or postgres://user:pass@host:port/db')
  }, 90_000)

  it('an unreachable Postgres at start is one line naming the URL, password masked, exit 69', async () => {
    const port = await freePort()
    const url = `postgres://edgerun:hunter2@127.0.0.1:${port}/jobs`
    for (const args of [
      ['broker', '--port', '0', '--store', url],
      ['master', '--url', 'mqtt://127.0.0.1:1', '--store', url],
    ]) {
      const run = await finished(args)
      expect(run.code, run.output).toBe(69)
      expect(run.output.trim().split('\n'), run.output).toHaveLength(1)
      expect(run.output.trim()).toMatch(new RegExp(`^error: cannot connect to Postgres at postgres://edgerun:\\*\\*\\*@127\\.0\\.0\\.1:${port}/jobs: `))
      expect(run.output).not.toContain('hunter2')
    }
  }, 90_000)
})

describe('jobs in a real PostgreSQL', () => {
  const server = usePostgres()

  async function rows(url: string, ns: string): Promise<Array<{ id: string; state: string }>> {
    const client = new pg.Client(url)
    await client.connect()
    try {
      return (await client.query<{ id: string; state: string }>('SELECT id, state FROM edgerun_jobs WHERE ns = $1 ORDER BY seq', [ns])).rows
    } finally {
      await client.end()
    }
  }

  it('edgerun broker --store postgres://…: an accepted job is a row, and a restarted broker runs it', async () => {
    const url = await server.createDatabase()
    const ns = 'pgbroker'
    const port = await freePort()
    const args = ['broker', '--port', String(port), '--namespace', ns, '--store', url, '--log-level', 'silent']
    let broker = cli(args)
    await waitFor(() => broker.output().includes('listening') || broker.child.exitCode !== null, { timeoutMs: 20_000, what: 'broker listening' })
    expect(broker.output()).toContain(`jobs in postgres://postgres@127.0.0.1:${server.port}/`)
    const mqttUrl = `mqtt://127.0.0.1:${port}`
    const submitter = await PlainSubmitter.connect(mqttUrl, ns, 'plain')
    submitters.push(submitter)
    // No worker yet: the jobs stay queued, and `accepted` says they are stored.
    for (let i = 0; i < 5; i++) submitter.submit({ id: `pg-${i}`, kind: 'noop' })
    await waitFor(() => [0, 1, 2, 3, 4].every((i) => submitter.repliesOf(`pg-${i}`).some((r) => r.type === 'accepted')), { timeoutMs: 10_000, what: 'accepted' })
    expect(await rows(url, ns)).toEqual([0, 1, 2, 3, 4].map((i) => ({ id: `pg-${i}`, state: 'queued' })))

    broker.kill('SIGKILL')
    await broker.exited
    broker = cli(args)
    await waitFor(() => broker.output().includes('listening'), { timeoutMs: 20_000, what: `broker listening again: ${broker.output()}` })
    started.push(await spawnWorker(mqttUrl, ns, 'w1'))
    await waitFor(async () => (await rows(url, ns)).every((row) => row.state === 'succeeded'), { timeoutMs: 20_000, what: 'the stored jobs ran' })
    await waitFor(() => [0, 1, 2, 3, 4].every((i) => submitter.resultOf(`pg-${i}`)?.state === 'succeeded'), { timeoutMs: 20_000, what: 'results' })
  }, 90_000)

  it('a Postgres outage under load: the broker lives on, nothing acknowledged is lost or doubled, and jobs flow again by themselves', async () => {
    const url = await server.createDatabase()
    const ns = 'pgoutage'
    const port = await freePort()
    const broker = cli(['broker', '--port', String(port), '--namespace', ns, '--store', url, '--log-level', 'silent'])
    await waitFor(() => broker.output().includes('listening'), { timeoutMs: 20_000, what: 'broker listening' })
    const mqttUrl = `mqtt://127.0.0.1:${port}`
    started.push(await spawnWorker(mqttUrl, ns, 'w1', ['--slots', '4']))
    const submitter = await PlainSubmitter.connect(mqttUrl, ns, 'plain')
    submitters.push(submitter)
    const ids = (prefix: string, n: number) => [...Array(n).keys()].map((i) => `${prefix}-${i}`)
    // Jobs running when the server goes: their results are written when it is back.
    for (const id of ids('before', 40)) submitter.submit({ id, kind: 'noop', sleepMs: 20 })
    await waitFor(() => ids('before', 40).some((id) => submitter.resultOf(id)), { timeoutMs: 10_000, what: 'the first results' })
    await server.stop('immediate')
    try {
      // What is submitted while the store is gone is not acknowledged (how the master answers it is not settled yet).
      for (const id of ids('during', 20)) submitter.submit({ id, kind: 'noop' })
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(broker.child.exitCode).toBeNull()
    } finally {
      await server.start()
    }
    for (const id of ids('after', 40)) submitter.submit({ id, kind: 'noop' })
    const acknowledged = () => [...ids('before', 40), ...ids('during', 20), ...ids('after', 40)].filter((id) => submitter.repliesOf(id).some((r) => r.type === 'accepted'))
    await waitFor(() => ids('after', 40).every((id) => submitter.resultOf(id)), { timeoutMs: 30_000, what: 'the jobs submitted after the outage' })
    await waitFor(() => acknowledged().every((id) => submitter.resultOf(id)), { timeoutMs: 30_000, what: 'a result for every acknowledged job' })
    for (const id of acknowledged()) expect(submitter.resultsOf(id), id).toHaveLength(1)
    expect(broker.child.exitCode).toBeNull()
  }, 120_000)

  it('edgerun master --store postgres://… on an external broker', async () => {
    const url = await server.createDatabase()
    const ns = 'pgmaster'
    const port = await freePort()
    // Any MQTT broker will do; this one's own master serves another namespace.
    const broker = cli(['broker', '--port', String(port), '--namespace', 'elsewhere', '--memory', '--log-level', 'silent'])
    await waitFor(() => broker.output().includes('listening'), { timeoutMs: 20_000, what: 'broker listening' })
    const mqttUrl = `mqtt://127.0.0.1:${port}`
    const master = cli(['master', '--url', mqttUrl, '--namespace', ns, '--store', url, '--log-level', 'silent'])
    await waitFor(() => master.output().includes('serving namespace'), { timeoutMs: 20_000, what: `master up: ${master.output()}` })
    started.push(await spawnWorker(mqttUrl, ns, 'w1'))
    const submitter = await PlainSubmitter.connect(mqttUrl, ns, 'plain')
    submitters.push(submitter)
    for (let i = 0; i < 10; i++) submitter.submit({ id: `m-${i}`, kind: 'noop' })
    await waitFor(() => submitter.resultsOf('m-9').length > 0 && [...Array(10).keys()].every((i) => submitter.resultOf(`m-${i}`)), { timeoutMs: 20_000, what: 'results' })
    await waitFor(async () => (await rows(url, ns)).filter((row) => row.state === 'succeeded').length === 10, { timeoutMs: 10_000, what: 'rows' })
  }, 90_000)
})
