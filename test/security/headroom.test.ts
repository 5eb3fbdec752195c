import { afterEach, describe, expect, it } from 'vitest'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { runCli } from '../helpers/run-command.js'
import { waitFor } from '../helpers/wait.js'
import { fire, login, rawClient, tempDir, writeUsersFile, type RawClient } from './helpers.js'

/**
 * docs/security.md, "Connection limits": a fleet at `--max-workers` leaves the rest of
 * `--max-connections` to submitters and operators. Workers here are plain mqtt.js clients
 * speaking docs/protocol.md §8: a will on their node state, then a retained birth.
 */
let cluster: TestCluster | undefined
const raws: RawClient[] = []
let cleanup: (() => void) | undefined

afterEach(async () => {
  await Promise.all(raws.splice(0).map((raw) => raw.end()))
  await cluster?.close()
  cluster = undefined
  cleanup?.()
  cleanup = undefined
})

function nodeState(id: string, state: 'online' | 'offline'): string {
  return JSON.stringify({ v: 1, type: 'node', state, epoch: `${id}inst.1`, slots: 1, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: 'headroom', ts: Date.now() })
}

async function worker(ns: string, id: string, options: { will?: boolean; username?: string; password?: string } = {}): Promise<RawClient> {
  const raw = await rawClient(cluster!.url, {
    clientId: `${id}-c`,
    ...(options.username ? { username: options.username, password: options.password } : {}),
    ...(options.will === false ? {} : { will: { topic: topics.nodeState(ns, id), payload: Buffer.from(nodeState(id, 'offline')), qos: 1, retain: true } }),
  })
  raws.push(raw)
  return raw
}

function birth(raw: RawClient, ns: string, id: string): void {
  fire(raw, topics.nodeState(ns, id), nodeState(id, 'online'), { retain: true })
}

describe('connection headroom', () => {
  it('without --auth: a fleet at --max-workers still lets the CLI and a submitter in', async () => {
    cluster = await TestCluster.start({ maxConnections: 8, maxWorkers: 4 })
    const ns = cluster.namespace
    for (let i = 0; i < 4; i++) birth(await worker(ns, `n${i}`), ns, `n${i}`)
    await waitFor(() => cluster!.broker.master.nodesOnline() === 4, { what: '4 workers online' })
    // A fifth worker, known by its will, is refused at CONNECT (CONNACK 3).
    await expect(worker(ns, 'n4')).rejects.toThrow(/unavailable/i)
    // One without a will counts as a client until its birth, which closes it.
    const sneaky = await worker(ns, 'n5', { will: false })
    birth(sneaky, ns, 'n5')
    await sneaky.waitClosed('the birth over --max-workers closes the connection')
    expect(cluster.broker.security.counters.get('worker_limit')).toBe(2)
    const nodes = await runCli(['nodes', '--url', cluster.url, '--namespace', ns, '--json'])
    expect(nodes.exitCode).toBe(0)
    const client = await cluster.client()
    expect((await client.stats()).nodes).toEqual({ online: 4, total: 4 })
    // A slot freed by a worker is a worker's again.
    await raws[0]!.end()
    await waitFor(() => cluster!.broker.master.nodesOnline() === 3, { what: 'a worker gone' })
    await waitFor(async () => {
      const again = await worker(ns, 'n6').catch(() => undefined)
      if (again) birth(again, ns, 'n6')
      return again
    }, { what: 'a worker admitted again' })
    await waitFor(() => cluster!.broker.master.nodesOnline() === 4, { what: 'n6 online' })
  })

  it('with --auth: the role decides at CONNECT, and clients and admins still get in', async () => {
    const temp = tempDir()
    cleanup = temp.remove
    const authFile = await writeUsersFile(temp.dir)
    cluster = await TestCluster.start({ authFile, maxConnections: 6, maxWorkers: 1 })
    const ns = cluster.namespace
    birth(await worker(ns, 'w1', { ...login('w1') }), ns, 'w1')
    await waitFor(() => cluster!.broker.master.nodesOnline() === 1, { what: 'w1 online' })
    await expect(worker(ns, 'w2', { ...login('w2'), will: false })).rejects.toThrow(/unavailable/i)
    const admin = await cluster.client({ ...login('root') })
    expect((await admin.stats()).nodes.online).toBe(1)
    await cluster.client({ ...login('alice') })
    expect(cluster.broker.security.counters.get('worker_limit')).toBe(1)
  })
})
