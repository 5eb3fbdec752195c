import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { runCli } from '../helpers/run-command.js'
import { waitFor } from '../helpers/wait.js'

/** `edgerun nodes` on a fleet too wide for one screen, and nodes.list paged by id (docs/protocol.md §6). */
let cluster: TestCluster | undefined

afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

function nodeState(id: string, state: 'online' | 'offline', label: string): string {
  return JSON.stringify({ v: 1, type: 'node', state, epoch: `${id}x.1`, slots: 2, labels: [label], capabilities: { languages: ['c'], commands: [] }, running: [], version: 't', ts: Date.now() })
}

describe('a fleet-sized node view', () => {
  it('pages nodes.list by cursor, summarises above 50 nodes and lists every node with --all', async () => {
    cluster = await TestCluster.start()
    const ns = cluster.namespace
    // One plain mqtt.js client announcing 60 nodes: without --auth nothing ties a node to a connection.
    const announcer = await mqtt.connectAsync(cluster.url, { protocolVersion: 4, reconnectPeriod: 0 })
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `edge-${String(i).padStart(3, '0')}`)
      for (const [i, id] of ids.entries()) await announcer.publishAsync(topics.nodeState(ns, id), nodeState(id, 'online', i % 3 === 0 ? 'site-a' : 'site-b'), { qos: 1, retain: true })
      for (const id of ids.slice(0, 3)) await announcer.publishAsync(topics.nodeState(ns, id), nodeState(id, 'offline', 'site-a'), { qos: 1, retain: true })
      await waitFor(() => cluster!.broker.master.nodesOnline() === 57, { what: '57 of 60 online' })

      const client = await cluster.client()
      const first = await client.listNodes({ limit: 25 })
      const second = await client.listNodes({ limit: 25, cursor: first.at(-1)!.id })
      const third = await client.listNodes({ limit: 25, cursor: second.at(-1)!.id })
      expect([...first, ...second, ...third].map((node) => node.id)).toEqual(ids)
      expect(third).toHaveLength(10)
      expect(await client.listNodes()).toHaveLength(60)

      const summary = await runCli(['nodes', '--url', cluster.url, '--namespace', ns])
      expect(summary.exitCode).toBe(0)
      expect(summary.stdout).toContain('60 nodes: online 57, offline 3; 0 of 114 slots busy')
      expect(summary.stdout).toContain('labels:    site-b 40, site-a 20')
      expect(summary.stdout).toContain('languages: c 60')
      expect(summary.stdout).toContain('3 need attention')
      expect(summary.stdout.split('\n').filter((line) => line.startsWith('edge-'))).toHaveLength(3)

      const all = await runCli(['nodes', '--all', '--url', cluster.url, '--namespace', ns])
      expect(all.stdout.split('\n').filter((line) => line.startsWith('edge-'))).toHaveLength(60)
      const json = await runCli(['nodes', '--json', '--url', cluster.url, '--namespace', ns])
      expect((JSON.parse(json.stdout) as unknown[]).length).toBe(60)
    } finally {
      await announcer.endAsync(true)
    }
  })
})
