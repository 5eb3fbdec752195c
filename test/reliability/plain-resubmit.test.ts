import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { uniqueNamespace } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { freePort } from '../helpers/ports.js'
import { spawnBroker, spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

const startBroker = (port: number, dataDir: string, namespace: string) => spawnBroker(port, dataDir, namespace, ['--reconcile-timeout', '1500'])

/**
 * A plain mqtt.js client (no EdgerunClient, no extension) loses its connection while the
 * broker-master is killed -9 and restarted under load. It resubmits every id it has no result
 * for, as docs/protocol.md §4 tells it to, and must end with exactly one result per id: jobs that
 * finished while it was away are answered with their stored result.
 */
describe('a plain client through a broker-master kill -9', () => {
  const processes: CliProcess[] = []
  let submitter: PlainSubmitter | undefined
  let dataDir: string | undefined
  afterEach(async () => {
    await submitter?.close()
    for (const p of processes.splice(0)) p.kill()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('gets exactly one result for every id it submitted', { timeout: 90_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgerun-plain-'))
    const port = await freePort()
    const ns = uniqueNamespace('plain-kill')
    const url = `mqtt://127.0.0.1:${port}`
    processes.push(await startBroker(port, dataDir, ns))
    processes.push(await spawnWorker(url, ns, 'w1', ['--slots', '16']))
    processes.push(await spawnWorker(url, ns, 'w2', ['--slots', '16']))
    submitter = await PlainSubmitter.connect(url, ns, 'plain')
    const total = 600
    const ids = Array.from({ length: total }, (_, i) => `p-${i}`)
    // Short jobs of varied length, so that some end in every phase of the kill.
    for (const [i, id] of ids.entries()) submitter.submit({ id, kind: 'noop', sleepMs: (i * 37) % 120 })
    const done = () => ids.filter((id) => submitter!.resultOf(id)).length
    await waitFor(() => done() >= total / 4, { timeoutMs: 30_000, what: 'a quarter of the results before the kill' })

    const broker = processes[0]!
    broker.kill('SIGKILL')
    await broker.exited
    processes[0] = await startBroker(port, dataDir, ns)

    await waitFor(() => done() === total, { timeoutMs: 60_000, intervalMs: 50, what: `every result (${done()} of ${total})` })
    // Anything still in flight arrives now, or never.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(submitter.connects).toBeGreaterThan(1)
    const counts = ids.map((id) => submitter!.resultsOf(id).length)
    expect(counts.filter((n) => n !== 1)).toEqual([])
    for (const id of ids) expect(submitter.resultOf(id)).toMatchObject({ type: 'result', jobId: id, state: 'succeeded' })
  })
})
