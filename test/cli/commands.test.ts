import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'
import { freePort } from '../helpers/ports.js'
import { spawnCli } from '../helpers/processes.js'
import { runCli } from '../helpers/run-command.js'

const run = runCli

describe('CLI (oclif runCommand)', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('submit --json prints the final result and exits 0', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const { stdout, exitCode } = await run(['submit', '--noop', '--json', '--id', 'cli-1', '--url', cluster.url, '--namespace', cluster.namespace])
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({ v: 1, type: 'result', jobId: 'cli-1', state: 'succeeded', output: { ok: true } })
    expect(exitCode).toBe(0)
  })

  it('submit --no-wait with no node prints the rejection and exits 1', async () => {
    cluster = await TestCluster.start()
    const { stdout, exitCode } = await run(['submit', '--noop', '--no-wait', '--json', '--url', cluster.url, '--namespace', cluster.namespace])
    expect(JSON.parse(stdout)).toMatchObject({ type: 'rejected', code: 'NO_NODE' })
    expect(exitCode).toBe(1)
  })

  it('submit of a command no node supports says so in one line', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const { stderr, exitCode } = await run(['submit', '--command', 'frobnicate', '--no-wait', '--url', cluster.url, '--namespace', cluster.namespace])
    expect(stderr).toContain('UNSUPPORTED: no online node supports command "frobnicate"')
    expect(exitCode).toBe(1)
  })

  it('nodes --json lists the live nodes', async () => {
    cluster = await TestCluster.start()
    const worker = await cluster.worker({ slots: 3, labels: ['fast'] })
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).length === 1, { what: 'node known' })
    const { stdout, exitCode } = await run(['nodes', '--json', '--url', cluster.url, '--namespace', cluster.namespace])
    const nodes = JSON.parse(stdout)
    expect(nodes).toEqual([expect.objectContaining({ id: worker.id, state: 'online', slots: 3, labels: ['fast'] })])
    expect(exitCode).toBe(0)
  })

  it('jobs show and jobs cancel work through the rpc', async () => {
    cluster = await TestCluster.start()
    const client = await cluster.client()
    void client.submit({ id: 'to-cancel', kind: 'noop' })
    await waitFor(async () => (await client.getJob('to-cancel').catch(() => undefined))?.state === 'queued', { what: 'queued' })
    const cancel = await run(['jobs', 'cancel', 'to-cancel', '--json', '--url', cluster.url, '--namespace', cluster.namespace])
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id: 'to-cancel', state: 'canceled' })
    const show = await run(['jobs', 'show', 'to-cancel', '--json', '--url', cluster.url, '--namespace', cluster.namespace])
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'to-cancel', state: 'canceled' })
    const missing = await run(['jobs', 'show', 'nope', '--url', cluster.url, '--namespace', cluster.namespace])
    expect(missing.stderr).toContain('no job with id nope')
    expect(missing.exitCode).toBe(1)
  })

  it('an unreachable broker is one clear line naming the URL', async () => {
    const { stderr, exitCode } = await run(['nodes', '--url', 'mqtt://127.0.0.1:1'])
    expect(stderr.trim()).toMatch(/^error: cannot reach the broker at mqtt:\/\/127\.0\.0\.1:1/)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(exitCode).toBe(69)
  })

  it('the real process exits after an unreachable broker, for every kind of client command', async () => {
    // In-process runs cannot see a timer left behind; a child that never exits can.
    const url = `mqtt://127.0.0.1:${await freePort()}`
    for (const args of [['nodes'], ['submit', '--noop'], ['jobs', 'list', '--json']]) {
      const child = spawnCli([...args, '--url', url])
      const code = await Promise.race([child.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))])
      child.kill()
      expect(code, `edgerun ${args.join(' ')}: ${child.output()}`).toBe(69)
      expect(child.output()).toContain(`cannot reach the broker at ${url}`)
    }
  }, 70_000)

  it('a port in use is one clear line with the hint', async () => {
    cluster = await TestCluster.start()
    const { stderr, exitCode } = await run(['broker', '--memory', '--port', String(cluster.broker.port)])
    expect(stderr).toContain('is another MQTT broker running? use --port')
    expect(exitCode).toBe(69)
  })

  it('a bad flag is one clear line and exit 2', async () => {
    const { stderr, exitCode } = await run(['submit', '--frobnicate'])
    expect(stderr).toMatch(/^error: .*frobnicate/m)
    expect(exitCode).toBe(2)
  })
})

describe('submit --count', () => {
  it('runs N copies and reports each final once', async () => {
    const cluster = await TestCluster.start()
    try {
      await cluster.worker({ slots: 8 })
      await cluster.worker({ slots: 8 })
      const { stdout, exitCode } = await run(['submit', '--noop', '--count', '1000', '--id', 'bulk', '--json', '--url', cluster.url, '--namespace', cluster.namespace])
      expect(JSON.parse(stdout)).toMatchObject({ total: 1000, succeeded: 1000, failed: 0, rejected: 0 })
      expect(exitCode).toBe(0)
      const client = await cluster.client()
      expect((await client.stats()).jobs.succeeded).toBe(1000)
    } finally {
      await cluster.close()
    }
  })
})
