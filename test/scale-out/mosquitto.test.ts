import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EdgerunClient } from '../../src/client/client.js'
import { Worker } from '../../src/worker/worker.js'
import { requireBinary } from '../helpers/binaries.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { freePort } from '../helpers/ports.js'
import { spawnCli, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

describe('scale-out: edgerun master on a real Mosquitto', () => {
  const children: Array<ChildProcess | CliProcess> = []
  const closers: Array<() => Promise<void>> = []
  let dir: string
  afterEach(async () => {
    for (const close of closers.splice(0)) await close().catch(() => {})
    for (const child of children.splice(0)) child.kill('SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('runs jobs, sees a killed worker through its will, and requeues its job', async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgerun-mosq-'))
    const port = await freePort()
    children.push(await startMosquitto(port, dir, requireBinary('mosquitto')))
    const url = `mqtt://127.0.0.1:${port}`
    const ns = uniqueNamespace('mosq')
    const master = spawnCli(['master', '--url', url, '--namespace', ns, '--data-dir', join(dir, 'data'), '--log-level', 'silent'])
    children.push(master)
    await waitFor(() => master.output().includes('serving'), { timeoutMs: 15_000, what: `master up: ${master.output()}` })
    const victim = await spawnWorker(url, ns, 'victim', ['--slots', '1'])
    children.push(victim)
    const client = await EdgerunClient.connect({ url, namespace: ns })
    closers.push(() => client.close())
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'victim' })

    const events: string[] = []
    const slow = client.submit({ id: 'survives', kind: 'noop', sleepMs: 2000 }, { onEvent: (e) => events.push(e.type === 'progress' ? e.state : e.type) })
    await waitFor(() => events.includes('running'), { what: 'running on the victim' })
    victim.kill('SIGKILL')
    await waitFor(() => events.includes('requeued'), { timeoutMs: 5000, what: 'requeued after the will' })
    const rescuer = await Worker.start({ url, namespace: ns, id: 'rescuer', judge: false }, { languages: [] })
    closers.push(() => rescuer.close({ drainTimeoutMs: 0 }))
    expect(await slow).toMatchObject({ type: 'result', state: 'succeeded', node: 'rescuer', attempts: 1, lost: 1 })
  }, 60_000)
})
