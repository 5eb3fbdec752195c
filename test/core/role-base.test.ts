import { describe, expect, it } from 'vitest'
import { EdgerunClient } from '../../src/client/client.js'
import type { NodeStateMessage } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { waitFor } from '../helpers/wait.js'

/** What the worker and the client share (src/roles/role-base.ts), seen from outside. */
describe('the roles’ common base', () => {
  it('close() is idempotent: every call gets the first one’s promise', async () => {
    const cluster = await TestCluster.start()
    try {
      const worker = await cluster.worker()
      const client = await cluster.client()
      const closing = worker.close({ drainTimeoutMs: 0 })
      expect(worker.close()).toBe(closing)
      const closingClient = client.close()
      expect(client.close()).toBe(closingClient)
      await Promise.all([closing, closingClient])
    } finally {
      await cluster.close()
    }
  })

  it('a subscription taken on demand is shared by its holders and taken again on a new connection', async () => {
    const cluster = await TestCluster.start()
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: cluster.broker.port } })
    const client = await EdgerunClient.connect({ url: proxy.url(), namespace: cluster.namespace })
    try {
      const worker = await cluster.worker()
      const heard = (list: Array<NodeStateMessage | undefined>) => list.filter((state) => state?.epoch === worker.epoch).length
      const first: Array<NodeStateMessage | undefined> = []
      const second: Array<NodeStateMessage | undefined> = []
      const stopFirst = await client.watchNodes((_id, state) => first.push(state))
      await client.watchNodes((_id, state) => second.push(state))
      // Each subscribe replays the retained birth; the second holder's replay reaches both.
      await waitFor(() => heard(second) >= 1, { what: 'the retained birth' })
      await stopFirst()
      const before = heard(second)
      const reconnected = new Promise<void>((resolve) => client.once('online', resolve))
      proxy.cut()
      await reconnected
      // The new connection subscribed again, so the broker replayed the retained birth once more.
      await waitFor(() => heard(second) > before, { what: 'the retained birth after the reconnect' })
    } finally {
      await client.close()
      await proxy.close()
      await cluster.close()
    }
  })
})
