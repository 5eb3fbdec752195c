import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { PostgresJobStore } from '../../broker/store/postgres-store.js'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { MasterGroup } from '../helpers/masters.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { runCli } from '../helpers/run-command.js'
import { usePostgres } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Standby masters (docs/protocol.md §7a): real `edgerun master --store postgres://…` processes on a
 * real PostgreSQL, behind a real Aedes broker, real workers, and a submitter that speaks plain
 * mqtt.js and never resubmits (it stays connected throughout: `connects` stays 1).
 */
const server = usePostgres()

describe('failover between masters on a Postgres store', () => {
  let cluster: TestCluster | undefined
  let masters: MasterGroup | undefined
  let submitter: PlainSubmitter | undefined
  afterEach(async () => {
    await submitter?.close()
    await masters?.close()
    await cluster?.close()
    submitter = masters = cluster = undefined
  })

  async function setUp(workers: number): Promise<{ ns: string; storeUrl: string }> {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('fo')
    const storeUrl = await server.createSchema()
    masters = await MasterGroup.start(cluster.url, ns, storeUrl, 2)
    for (let i = 0; i < workers; i++) await cluster.worker({ namespace: ns, id: `w${i}`, slots: 4 })
    submitter = await PlainSubmitter.connect(cluster.url, ns, 'sub')
    return { ns, storeUrl }
  }

  /** Every job has exactly one result, succeeded; returns how many results arrived. */
  function checkExactlyOnce(ids: string[]): void {
    const missing = ids.filter((id) => submitter!.resultsOf(id).length === 0)
    const twice = ids.filter((id) => submitter!.resultsOf(id).length > 1)
    const failed = ids.filter((id) => submitter!.resultOf(id) && submitter!.resultOf(id)!.state !== 'succeeded')
    expect({ missing: missing.length, duplicated: twice.length, failed: failed.length }).toEqual({ missing: 0, duplicated: 0, failed: 0 })
  }

  it('kill -9 of the active master under load: a standby takes over, and every job ends with one result', async () => {
    await setUp(3)
    const first = await masters!.waitActive()
    const ids = Array.from({ length: 600 }, (_, i) => `j${i}`)
    for (const id of ids) submitter!.submit({ id, kind: 'noop', sleepMs: 15 })
    await waitFor(() => ids.filter((id) => submitter!.resultOf(id)).length >= 150, { timeoutMs: 30_000, what: 'results flowing' })
    const victim = masters!.processOf(first.pid)
    expect(victim, 'the pid in master/state is one of ours').toBeDefined()
    const killedAt = Date.now()
    victim!.kill('SIGKILL')
    // Submits while no master is active (nobody subscribes to submit then): the new master admits them.
    for (let i = 0; i < 100; i++) {
      const id = `g${i}`
      ids.push(id)
      submitter!.submit({ id, kind: 'noop', sleepMs: 15 })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const second = await masters!.waitActive(first.term, 10_000)
    expect(second.pid).not.toBe(first.pid)
    await waitFor(() => ids.every((id) => submitter!.resultOf(id)), {
      timeoutMs: 60_000,
      what: `every result; workers ${cluster!.workers.map((w) => `${w.id}:${w.masterInstance}/${w.masterTerm}/${w.staleTermDrops}/${w.runningCount}`).join(' ')}; missing ${ids.filter((id) => !submitter!.resultOf(id)).length}: ${ids.filter((id) => !submitter!.resultOf(id)).map((id) => `${id}:${JSON.stringify(submitter!.repliesOf(id))}`).slice(0, 5).join(' ')} ${masters!.outputs()}`,
    })
    checkExactlyOnce(ids)
    // No resubmission: the submitter's one connection never dropped.
    expect(submitter!.connects).toBe(1)
    expect(second.at).toBeGreaterThan(killedAt)
    const standby = masters!.processes.find((p) => p !== victim)!
    expect(standby.output()).toMatch(/serving namespace .* \(active, term \d+\)/)
  }, 120_000)

  it('a master paused past its lease (SIGSTOP) wakes deposed: it sends nothing under its old term, and every job ends with one result', async () => {
    const { ns } = await setUp(2)
    // What masters send to workers, with the term each carries, as a plain client sees it.
    const spy = await mqtt.connectAsync(cluster!.url, { clientId: `spy-${ns}` })
    const toWorkers: Array<{ term: number | undefined; at: number }> = []
    spy.on('message', (_topic, payload) => toWorkers.push({ term: (JSON.parse(payload.toString()) as { term?: number }).term, at: Date.now() }))
    await spy.subscribeAsync([`${ns}/nodes/+/assign`, `${ns}/nodes/+/control`], { qos: 1 })
    try {
      const first = await masters!.waitActive()
      const ids: string[] = []
      const load = setInterval(() => {
        const id = `p${ids.length}`
        ids.push(id)
        submitter!.submit({ id, kind: 'noop', sleepMs: 5 })
      }, 5)
      try {
        await waitFor(() => ids.filter((id) => submitter!.resultOf(id)).length >= 100, { timeoutMs: 30_000, what: 'results flowing' })
        const paused = masters!.processOf(first.pid)!
        paused.kill('SIGSTOP')
        const second = await masters!.waitActive(first.term, 15_000).finally(() => {
          if (!masters!.current || masters!.current.term === first.term) paused.kill('SIGCONT')
        })
        // Work flows under the new master before the old one wakes, with its queue of old events.
        const done = () => ids.filter((id) => submitter!.resultOf(id)).length
        const before = done()
        await waitFor(() => done() > before + 50, { timeoutMs: 15_000, what: 'results under the new master' })
        const wokeAt = Date.now()
        paused.kill('SIGCONT')
        await waitFor(() => /deposed from term \d+/.test(paused.output()), { timeoutMs: 10_000, what: `the woken master stepping down; ${masters!.outputs()}` })
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect(toWorkers.filter((m) => m.term === first.term && m.at >= wokeAt)).toEqual([])
        expect(masters!.history.filter((m) => m.at >= wokeAt && m.term === first.term && m.state === 'online')).toEqual([])
        expect(masters!.current?.term).toBe(second.term)
      } finally {
        clearInterval(load)
      }
      await waitFor(() => ids.every((id) => submitter!.resultOf(id)), {
        timeoutMs: 60_000,
        what: `every result; missing ${ids.filter((id) => !submitter!.resultOf(id)).length} ${masters!.outputs()}`,
      })
      checkExactlyOnce(ids)
      expect(submitter!.connects).toBe(1)
    } finally {
      await spy.endAsync(true)
    }
  }, 120_000)

  it('a result the dying master committed but never sent, its worker dead too, reaches the submitter once from the new master', async () => {
    const { ns, storeUrl } = await setUp(1)
    const first = await masters!.waitActive()
    // A standby says so once it watches every result: from then on it knows what was sent.
    await waitFor(() => [...masters!.own.values()].some((own) => own.state === 'standby'), { what: 'a standby' })
    submitter!.submit({ id: 'sent', kind: 'noop' })
    await waitFor(() => submitter!.resultOf('sent'), { what: 'a result sent as usual' })
    // What the active master's last commit left: a job ended, its reply never sent, and no
    // worker outbox that will bring its result back.
    const writer = await PostgresJobStore.open({ url: storeUrl, namespace: ns })
    const now = Date.now()
    writer.save({
      id: 'unsent',
      spec: { kind: 'noop', id: 'unsent', priority: 0, timeoutMs: 60_000, maxAttempts: 3, requires: { labels: [] }, wait: true },
      state: 'succeeded',
      finalState: 'succeeded',
      attempts: 1,
      output: { ok: true },
      replyTo: submitter!.replyTo,
      owner: 'sub',
      priority: 0,
      seq: 1_000_000,
      createdAt: now - 50,
      updatedAt: now,
      attempt: 1,
      charged: 0,
      node: 'gone',
      epoch: 'gone.1',
      history: [{ attempt: 1, node: 'gone', epoch: 'gone.1', at: now - 40 }],
    })
    await writer.flush()
    await writer.close()
    masters!.processOf(first.pid)!.kill('SIGKILL')
    await masters!.waitActive(first.term, 15_000)
    await waitFor(() => submitter!.resultOf('unsent'), { timeoutMs: 15_000, what: `the unsent result; ${masters!.outputs()}` })
    // A marker behind it: once answered, anything else the new master would send has been sent.
    submitter!.submit({ id: 'marker', kind: 'noop' })
    await waitFor(() => submitter!.resultOf('marker'), { timeoutMs: 15_000, what: 'the marker' })
    expect(submitter!.resultsOf('unsent')).toEqual([expect.objectContaining({ jobId: 'unsent', state: 'succeeded', node: 'gone' })])
    expect(submitter!.resultsOf('sent')).toHaveLength(1)
    expect(submitter!.connects).toBe(1)
  }, 60_000)

  it('SIGTERM of the active master hands over to the standby at once', async () => {
    const { ns } = await setUp(1)
    const first = await masters!.waitActive()
    // `edgerun nodes` tells the active master from the standby.
    await waitFor(() => masters!.own.size === 2, { what: 'both masters\' own states' })
    const nodes = await runCli(['nodes', '--url', cluster!.url, '--namespace', ns])
    expect(nodes.stdout).toMatch(new RegExp(`master ${first.instance}  active \\(term ${first.term}\\)`))
    expect(nodes.stdout).toMatch(/master \S+  standby/)
    const ids = Array.from({ length: 100 }, (_, i) => `t${i}`)
    for (const id of ids) submitter!.submit({ id, kind: 'noop', sleepMs: 10 })
    await waitFor(() => ids.filter((id) => submitter!.resultOf(id)).length >= 20, { timeoutMs: 30_000, what: 'results flowing' })
    const victim = masters!.processOf(first.pid)!
    victim.kill('SIGTERM')
    await waitFor(() => masters!.history.some((m) => m.state === 'offline' && m.term === first.term), { what: 'offline said' })
    const offline = masters!.history.find((m) => m.state === 'offline' && m.term === first.term)!
    const second = await masters!.waitActive(first.term, 10_000)
    // Handed over by the release (NOTIFY), not by the lease running out; how fast is the
    // `failover` benchmark's to say (docs/storage.md, "Lease").
    expect(second.at).toBeGreaterThanOrEqual(offline.at)
    expect(victim.output()).not.toMatch(/could not release the lease/)
    expect(await victim.exited).toBe(0)
    await waitFor(() => ids.every((id) => submitter!.resultOf(id)), {
      timeoutMs: 30_000,
      what: `every result; missing ${ids.filter((id) => !submitter!.resultOf(id)).map((id) => `${id}:${JSON.stringify(submitter!.repliesOf(id))}`).slice(0, 5).join(' ')} ${masters!.outputs()}`,
    })
    checkExactlyOnce(ids)
    expect(submitter!.connects).toBe(1)
  }, 90_000)
})
