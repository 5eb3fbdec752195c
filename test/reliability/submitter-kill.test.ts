import { runCommand } from '@oclif/test'
import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { ROOT, spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

describe('a submitter killed while its job runs', () => {
  let cluster: TestCluster
  const processes: CliProcess[] = []
  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill()
    await cluster?.close()
  })

  it('leaves the job to finish; jobs show and jobs follow find its result afterwards', async () => {
    cluster = await TestCluster.start()
    await cluster.worker()
    const submitter = spawnCli(['submit', '--noop', '--sleep', '800', '--id', 'orphaned-submit', '--url', cluster.url, '--namespace', cluster.namespace])
    processes.push(submitter)
    await waitFor(() => submitter.output().includes('running'), { timeoutMs: 10_000, what: `running: ${submitter.output()}` })
    submitter.kill('SIGKILL')
    await submitter.exited
    const before = process.exitCode
    const follow = await runCommand(['jobs', 'follow', 'orphaned-submit', '--json', '--url', cluster.url, '--namespace', cluster.namespace], { root: ROOT })
    expect(JSON.parse(follow.stdout)).toMatchObject({ type: 'result', jobId: 'orphaned-submit', state: 'succeeded' })
    const show = await runCommand(['jobs', 'show', 'orphaned-submit', '--json', '--url', cluster.url, '--namespace', cluster.namespace], { root: ROOT })
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'orphaned-submit', state: 'succeeded', attempts: 1 })
    process.exitCode = before
  })
})
