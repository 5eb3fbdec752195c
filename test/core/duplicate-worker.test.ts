import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'

describe('a refused duplicate worker leaves the live one alone', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('keeps the first holder\'s epoch in the node table, and jobs still run on it', async () => {
    cluster = await TestCluster.start()
    const first = await cluster.worker({ id: 'twin', claimWaitMs: 100 })
    const client = await cluster.client()
    await waitFor(async () => (await client.listNodes()).find((n) => n.id === 'twin')?.epoch === first.epoch, { what: 'first online' })
    await expect(cluster.worker({ id: 'twin', claimWaitMs: 300 })).rejects.toMatchObject({ code: 'DUPLICATE_NODE' })
    // Whatever the refused process might still have sent has arrived by the time a round trip has.
    await client.stats()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await client.listNodes()).find((n) => n.id === 'twin')?.epoch).toBe(first.epoch)
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'twin' })
  })

  it('a duplicate submit from another client still gets the result', async () => {
    cluster = await TestCluster.start()
    const a = await cluster.client()
    const b = await cluster.client()
    const first = a.submit({ id: 'shared', kind: 'noop', sleepMs: 300 })
    await waitFor(async () => (await a.getJob('shared').catch(() => undefined))?.state === 'queued', { what: 'queued' })
    const second = b.submit({ id: 'shared', kind: 'noop' })
    await cluster.worker()
    expect(await first).toMatchObject({ type: 'result', state: 'succeeded' })
    expect(await second).toMatchObject({ type: 'result', jobId: 'shared', state: 'succeeded' })
  })
})
