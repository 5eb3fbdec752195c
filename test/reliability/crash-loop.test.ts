import { afterEach, describe, expect, it } from 'vitest'
import type { FinalReply } from '../../src/client/client.js'
import { TestCluster } from '../helpers/cluster.js'
import { spawnWorker, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

/**
 * docs/protocol.md §10: a lost connection is not a failed attempt, but a job that keeps killing
 * its worker process still fails after maxAttempts crashes. A real `edgerun worker` process runs
 * a command that kills it (`kill -9 $PPID`); the test restarts it each time, as a supervisor
 * would, and the restarted process (another instance) is what tells the master it was a crash.
 */
describe('a job that kills its worker process', () => {
  let cluster: TestCluster | undefined
  const workers: CliProcess[] = []
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.kill()
    await cluster?.close()
  })

  it('fails MAX_ATTEMPTS after maxAttempts crashes, with an error that says its worker died', async () => {
    cluster = await TestCluster.start()
    const start = async () => {
      const worker = await spawnWorker(cluster!.url, cluster!.namespace, 'victim', ['--command', 'sh=/bin/sh'])
      workers.push(worker)
      return worker
    }
    let worker = await start()
    const client = await cluster.client()
    let result: FinalReply | undefined
    const done = (client.submit({ id: 'kills-its-worker', kind: 'command', name: 'sh', args: ['-c', 'kill -9 $PPID'], maxAttempts: 2 }) as Promise<FinalReply>).then(
      (reply) => (result = reply),
    )
    let crashes = 0
    while (!result) {
      const exit = await Promise.race([worker.exited.then(() => 'exited' as const), done.then(() => 'done' as const)])
      if (exit === 'done') break
      crashes++
      expect(crashes, 'the job should have failed by now').toBeLessThanOrEqual(2)
      // Its will first: while the dead process still shows online, the id is taken (DUPLICATE_NODE).
      await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'victim')?.state === 'offline', { what: 'the will of the killed worker' })
      worker = await start()
    }
    expect(crashes).toBe(2)
    expect(result).toMatchObject({ type: 'result', state: 'failed', code: 'MAX_ATTEMPTS', attempts: 2, lost: 2, output: null, node: 'victim' })
    expect(result!.type === 'result' && result!.error).toMatch(/^gave up after 2 charged attempt\(s\) \(maxAttempts 2\): its worker process died 2 times while running it; last: node victim went offline/)
    // The restarted worker lives on and runs other jobs.
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'victim' })
  }, 60_000)
})
