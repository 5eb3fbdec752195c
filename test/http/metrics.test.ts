import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { spawnWorker } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { get, has, parseMetrics, total } from './scrape.js'

/** /metrics after real work through a real cluster: docs/metrics.md, "Metrics". */
describe('/metrics', () => {
  let cluster: TestCluster | undefined
  afterEach(async () => {
    await cluster?.close()
    cluster = undefined
  })

  const scrape = async () => {
    const { status, text, headers } = await get(`${cluster!.broker.http!.url}/metrics`)
    expect(status).toBe(200)
    expect(headers.get('content-type')).toContain('text/plain')
    return parseMetrics(text)
  }

  it('after N jobs the counters say N and the gauges say what the store and node table say', async () => {
    cluster = await TestCluster.start({ http: { port: 0 } })
    const w1 = await cluster.worker({ slots: 4 })
    const w2 = await cluster.worker({ slots: 3, commands: { true: '/bin/true' } })
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).filter((n) => n.state === 'online').length === 2, { what: 'two workers online' })
    const N = 40
    const results = await Promise.all([
      ...Array.from({ length: N - 5 }, (_, i) => client.submit({ id: `noop-${i}`, kind: 'noop' })),
      ...Array.from({ length: 5 }, (_, i) => client.submit({ id: `cmd-${i}`, kind: 'command', name: 'true' })),
    ])
    expect(results.every((r) => r.type === 'result' && r.state === 'succeeded')).toBe(true)
    // A rejection is no job: it is counted by its code.
    expect(await client.submit({ id: 'nowhere', kind: 'command', name: 'absent', wait: false })).toMatchObject({ type: 'rejected', code: 'UNSUPPORTED' })

    const samples = await scrape()
    expect(total(samples, 'edgerun_jobs_submitted_total')).toBe(N)
    expect(total(samples, 'edgerun_jobs_submitted_total', { kind: 'noop' })).toBe(N - 5)
    expect(total(samples, 'edgerun_jobs_submitted_total', { kind: 'command' })).toBe(5)
    expect(total(samples, 'edgerun_jobs_finished_total')).toBe(N)
    expect(total(samples, 'edgerun_jobs_finished_total', { state: 'succeeded' })).toBe(N)
    expect(total(samples, 'edgerun_jobs_finished_total', { kind: 'command', state: 'succeeded' })).toBe(5)
    expect(total(samples, 'edgerun_job_wait_seconds_count')).toBe(N)
    expect(total(samples, 'edgerun_job_duration_seconds_count')).toBe(N)
    expect(total(samples, 'edgerun_job_duration_seconds_count', { kind: 'command' })).toBe(5)
    expect(total(samples, 'edgerun_attempts_requeued_total')).toBe(0)
    expect(total(samples, 'edgerun_rejections_total', { code: 'UNSUPPORTED' })).toBe(1)
    expect(total(samples, 'edgerun_store_commit_seconds_count')).toBeGreaterThan(0)
    const counts = cluster.broker.store.counts()
    for (const state of ['queued', 'assigned', 'running'] as const) expect(total(samples, 'edgerun_jobs', { state })).toBe(counts[state])
    expect(total(samples, 'edgerun_queue_oldest_age_seconds')).toBe(0)
    expect(total(samples, 'edgerun_nodes', { state: 'online' })).toBe(2)
    expect(total(samples, 'edgerun_node_slots', { node: w1.id })).toBe(4)
    expect(total(samples, 'edgerun_node_slots', { node: w2.id })).toBe(3)
    expect(total(samples, 'edgerun_node_busy_slots')).toBe(0)
    // One per client: two workers and the submitter.
    expect(total(samples, 'edgerun_mqtt_connections')).toBe(3)
    expect(has(samples, 'process_cpu_seconds_total')).toBe(true)
    expect(has(samples, 'nodejs_eventloop_lag_seconds')).toBe(true)
  })

  it('queued and running jobs: the gauges follow the store, the oldest queued job ages', async () => {
    cluster = await TestCluster.start({ http: { port: 0 } })
    const client = await cluster.client()
    // No worker yet: three jobs wait in the queue.
    const queued = ['q-1', 'q-2', 'q-3'].map((id) => client.submit({ id, kind: 'noop', sleepMs: 30_000 }))
    await waitFor(() => cluster!.broker.store.counts().queued === 3, { what: 'three queued' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    let samples = await scrape()
    expect(total(samples, 'edgerun_jobs', { state: 'queued' })).toBe(3)
    expect(total(samples, 'edgerun_queue_oldest_age_seconds')).toBeGreaterThan(0.04)
    expect(total(samples, 'edgerun_nodes', { state: 'online' })).toBe(0)

    // A worker with two slots takes two; they run, one stays queued.
    const worker = await cluster.worker({ slots: 2 })
    await waitFor(async () => total(parseMetrics((await get(`${cluster!.broker.http!.url}/metrics`)).text), 'edgerun_jobs', { state: 'running' }) === 2, { timeoutMs: 10_000, what: 'two running' })
    samples = await scrape()
    const counts = cluster.broker.store.counts()
    expect(total(samples, 'edgerun_jobs', { state: 'queued' })).toBe(counts.queued)
    expect(total(samples, 'edgerun_jobs', { state: 'queued' })).toBe(1)
    // The store does not write the step to running: its assigned count is both together.
    expect(total(samples, 'edgerun_jobs', { state: 'assigned' }) + total(samples, 'edgerun_jobs', { state: 'running' })).toBe(counts.assigned + counts.running)
    expect(total(samples, 'edgerun_node_busy_slots', { node: worker.id })).toBe(2)
    expect(total(samples, 'edgerun_job_wait_seconds_count')).toBe(2)

    // Canceled: counted as finished, by state.
    for (const id of ['q-1', 'q-2', 'q-3']) await client.cancelJob(id)
    await Promise.allSettled(queued)
    await waitFor(async () => total(parseMetrics((await get(`${cluster!.broker.http!.url}/metrics`)).text), 'edgerun_jobs_finished_total', { state: 'canceled' }) === 3, { what: 'three canceled' })
    samples = await scrape()
    expect(total(samples, 'edgerun_jobs', { state: 'queued' }) + total(samples, 'edgerun_jobs', { state: 'running' })).toBe(0)
    expect(total(samples, 'edgerun_queue_oldest_age_seconds')).toBe(0)
  })

  it('a requeued attempt is counted by its reason', async () => {
    cluster = await TestCluster.start({ http: { port: 0 } })
    const client = await cluster.client()
    const doomed = await spawnWorker(cluster.url, cluster.namespace, 'doomed')
    try {
      const done = client.submit({ id: 'moved', kind: 'noop', sleepMs: 200 })
      await waitFor(async () => (await client.getJob('moved')).state === 'running', { timeoutMs: 10_000, what: 'running on the doomed worker' })
      // kill -9: its will says offline, the attempt is lost and the job runs elsewhere.
      doomed.kill('SIGKILL')
      await doomed.exited
      await cluster.worker({ slots: 1 })
      expect(await done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1 })
    } finally {
      doomed.kill('SIGKILL')
    }
    const samples = await scrape()
    expect(total(samples, 'edgerun_attempts_requeued_total', { reason: 'offline' })).toBe(1)
    expect(total(samples, 'edgerun_attempts_requeued_total')).toBe(1)
    expect(total(samples, 'edgerun_jobs_finished_total')).toBe(1)
    // Two runs started, each timed from when it was queued.
    expect(total(samples, 'edgerun_job_wait_seconds_count')).toBe(2)
  }, 30_000)
})
