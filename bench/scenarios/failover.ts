import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { MasterGroup } from '../../test/helpers/masters.js'
import { PlainSubmitter } from '../../test/helpers/plain-submitter.js'
import { startPostgres } from '../../test/helpers/postgres.js'
import { edgerunBroker, edgerunWorker, stop } from '../lib/cluster.js'
import { percentile, round } from '../lib/stats.js'

export interface FailoverFigures {
  kills: number
  /** kill -9 of the active master → the next one's `online` on master/state. */
  takeoverP50Ms: number
  takeoverP99Ms: number
  /** kill -9 → the first result after the takeover: results flow again. */
  resumeP50Ms: number
  resumeP99Ms: number
  /** SIGTERM of the active master → the next one's `online`. */
  handovers: number
  handoverP50Ms: number
  handoverMaxMs: number
  jobs: number
  lost: number
  duplicated: number
}

/**
 * Two `edgerun master --store postgres://…` behind the broker, two workers, and a plain mqtt.js
 * submitter sending 200 jobs a second throughout. The active master (the pid on master/state) is
 * killed -9 `kills` times and restarted as a standby each time; then stopped with SIGTERM
 * `handovers` times. At the end, every job submitted must have exactly one result.
 */
export async function measureFailover(kills = 5, handovers = 3, log: (line: string) => void = () => {}): Promise<FailoverFigures> {
  const hex = randomBytes(3).toString('hex')
  const ns = `failover-${hex}`
  const server = await startPostgres()
  const broker = await edgerunBroker(`idle-${hex}`, 0, undefined, 'memory')
  const workers: ChildProcess[] = []
  let masters: MasterGroup | undefined
  let submitter: PlainSubmitter | undefined
  let load: NodeJS.Timeout | undefined
  try {
    masters = await MasterGroup.start(broker.url, ns, await server.createSchema(), 2)
    for (let i = 0; i < 2; i++) workers.push(await edgerunWorker(broker.url, ns, `fw${i}`, ['--slots', '8', '--no-judge']))
    const sub = (submitter = await PlainSubmitter.connect(broker.url, ns, 'bench'))
    const resultTimes: number[] = []
    sub.client.on('message', (_topic, payload) => {
      if (payload.includes('"type":"result"')) resultTimes.push(Date.now())
    })
    const ids: string[] = []
    load = setInterval(() => {
      const id = `f${ids.length}`
      ids.push(id)
      sub.submit({ id, kind: 'noop', sleepMs: 5 })
    }, 5)
    const takeover: number[] = []
    const resume: number[] = []
    const handover: number[] = []
    await masters.waitActive()
    for (let k = 0; k < kills + handovers; k++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      // Whoever is active now: a master may also have stepped down by itself meanwhile.
      const active = await masters.waitActive(0)
      const victim = masters.processOf(active.pid)
      if (!victim) throw new Error(`failover bench: pid ${active.pid} on master/state is none of ours`)
      const clean = k >= kills
      const at = Date.now()
      victim.kill(clean ? 'SIGTERM' : 'SIGKILL')
      const next = await masters.waitActive(active.term ?? 0, 15_000)
      if (clean) handover.push(next.at - at)
      else {
        takeover.push(next.at - at)
        const first = await waitUntil(() => resultTimes.find((t) => t >= next.at), 15_000)
        resume.push(first - at)
      }
      log(`  ${clean ? 'SIGTERM' : 'kill -9'} ${k + 1}: term ${active.term} → ${next.term} in ${next.at - at} ms`)
      await victim.exited
      await masters.spawn()
    }
    clearInterval(load)
    load = undefined
    await waitUntil(() => ids.every((id) => sub.resultOf(id)) || undefined, 60_000).catch(() => {})
    const wrong = ids.filter((i) => sub.resultsOf(i).length !== 1)
    for (const id of wrong.slice(0, 10)) log(`  not exactly one result: ${id} ${JSON.stringify(sub.repliesOf(id))}`)
    const deposed = masters.processes.map((p) => p.output().match(/deposed from term \d+ \([^)]*\)/g) ?? []).flat()
    if (deposed.length > 0) log(`  stepped down by themselves: ${deposed.join('; ')}`)
    return {
      kills,
      takeoverP50Ms: round(percentile(takeover, 50), 1),
      takeoverP99Ms: round(percentile(takeover, 99), 1),
      resumeP50Ms: round(percentile(resume, 50), 1),
      resumeP99Ms: round(percentile(resume, 99), 1),
      handovers,
      handoverP50Ms: round(percentile(handover, 50), 1),
      handoverMaxMs: round(Math.max(0, ...handover), 1),
      jobs: ids.length,
      lost: ids.filter((id) => sub.resultsOf(id).length === 0).length,
      duplicated: ids.filter((id) => sub.resultsOf(id).length > 1).length,
    }
  } finally {
    if (load) clearInterval(load)
    await submitter?.close()
    await masters?.close()
    await Promise.all(workers.map((w) => stop(w)))
    await broker.close()
    await server.dispose()
  }
}

async function waitUntil<T>(value: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = value()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error('failover bench: timed out')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
