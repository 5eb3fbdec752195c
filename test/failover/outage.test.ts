import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { MasterGroup } from '../helpers/masters.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { usePostgres } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Postgres lost under elected masters (docs/protocol.md §7a, docs/storage.md "Lease"): every
 * lease runs out, the active master steps down and says so; when Postgres is back one master
 * wins, the jobs acknowledged before the outage finish, and the jobs submitted during it are
 * admitted then: each with one result, none rejected, none dropped.
 */
const server = usePostgres()

describe('a Postgres outage under two masters', () => {
  let cluster: TestCluster | undefined
  let masters: MasterGroup | undefined
  let submitter: PlainSubmitter | undefined
  afterEach(async () => {
    await submitter?.close()
    await masters?.close()
    await cluster?.close()
  })

  it('the active master steps down, submits wait for the next master however long the outage, and work resumes by itself when Postgres is back', async () => {
    cluster = await TestCluster.start()
    const ns = uniqueNamespace('outage')
    masters = await MasterGroup.start(cluster.url, ns, await server.createSchema(), 2)
    await cluster.worker({ namespace: ns, id: 'w0', slots: 4 })
    submitter = await PlainSubmitter.connect(cluster.url, ns, 'sub')
    const first = await masters.waitActive()
    const ids = Array.from({ length: 200 }, (_, i) => `o${i}`)
    for (const id of ids) submitter.submit({ id, kind: 'noop', sleepMs: 20 })
    await waitFor(() => ids.every((id) => submitter!.repliesOf(id).length > 0), { timeoutMs: 20_000, what: 'every job accepted' })
    await server.stop('immediate')
    const active = masters.processOf(first.pid)!
    // Submits throughout the outage, longer than the standbys' buffer window (ttl + poll + 5 s):
    // the buffer ages only while Postgres answers, so each one waits for the next master.
    const outageEnds = Date.now() + 8_000
    while (Date.now() < outageEnds) {
      const id = `d${ids.length}`
      ids.push(id)
      submitter!.submit({ id, kind: 'noop', sleepMs: 5 })
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await waitFor(() => /deposed from term \d+/.test(active.output()), { timeoutMs: 10_000, what: `the active master stepping down; ${masters.outputs()}` })
    await server.start()
    await masters.waitActive(first.term, 30_000)
    await waitFor(() => ids.every((id) => submitter!.resultOf(id)), { timeoutMs: 60_000, what: `every result; ${masters.outputs()}` })
    const wrong = ids.filter((id) => submitter!.resultsOf(id).length !== 1)
    expect(Object.fromEntries(wrong.map((id) => [id, submitter!.repliesOf(id)])), masters.outputs()).toEqual({})
    expect(ids.filter((id) => submitter!.resultOf(id)!.state !== 'succeeded')).toEqual([])
  }, 120_000)
})
