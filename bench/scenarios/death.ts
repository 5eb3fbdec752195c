import { randomBytes } from 'node:crypto'
import { EdgerunClient } from '../../src/client/client.js'
import type { JobReply } from '../../src/protocol/index.js'
import { edgerunBroker, edgerunWorker, stop } from '../lib/cluster.js'
import { percentile, round } from '../lib/stats.js'

export interface DeathFigures {
  repeats: number
  jobs: number
  requeueP50Ms: number
  requeueP99Ms: number
  resultsP50Ms: number
  jobSleepMs: number
}

/**
 * kill -9 of a worker holding 50 running jobs: how long until the master has requeued all 50
 * (the will, not a heartbeat, tells it), and until all 50 results are in from another worker.
 */
export async function measureDeath(repeats = 5, jobs = 50, sleepMs = 1500): Promise<DeathFigures> {
  const ns = `death-${randomBytes(3).toString('hex')}`
  const broker = await edgerunBroker(ns)
  const client = await EdgerunClient.connect({ url: broker.url, namespace: ns })
  const requeue: number[] = []
  const results: number[] = []
  try {
    for (let r = 0; r < repeats; r++) {
      const victim = await edgerunWorker(broker.url, ns, 'victim', ['--slots', String(jobs), '--no-judge'])
      const running = new Set<string>()
      const requeued = new Set<string>()
      const done = new Set<string>()
      let killedAt = 0
      let allRequeuedAt = 0
      let allDoneAt = 0
      const onEvent = (id: string) => (e: JobReply) => {
        if (e.type === 'progress' && e.state === 'running') running.add(id)
        if (e.type === 'progress' && e.state === 'requeued' && killedAt) {
          requeued.add(id)
          if (requeued.size === jobs) allRequeuedAt = performance.now()
        }
      }
      const submitted = Array.from({ length: jobs }, (_, i) => {
        const id = `d${r}-${i}`
        return client.submit({ id, kind: 'noop', sleepMs }, { onEvent: onEvent(id) }).then(() => {
          done.add(id)
          if (done.size === jobs) allDoneAt = performance.now()
        })
      })
      await until(() => running.size === jobs, 20_000)
      const rescuer = await edgerunWorker(broker.url, ns, 'rescuer', ['--slots', String(jobs), '--no-judge'])
      killedAt = performance.now()
      victim.kill('SIGKILL')
      await Promise.all(submitted)
      requeue.push(allRequeuedAt - killedAt)
      results.push(allDoneAt - killedAt)
      await stop(rescuer, 'SIGKILL')
      await until(async () => (await client.listNodes()).every((n) => n.state === 'offline'), 10_000)
    }
    return {
      repeats,
      jobs,
      jobSleepMs: sleepMs,
      requeueP50Ms: round(percentile(requeue, 50), 1),
      requeueP99Ms: round(percentile(requeue, 99), 1),
      resultsP50Ms: round(percentile(results, 50), 1),
    }
  } finally {
    await client.close()
    await broker.close()
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('death bench: timed out')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
