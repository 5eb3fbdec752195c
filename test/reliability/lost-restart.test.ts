import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/broker.js'
import { EdgerunClient, type FinalReply } from '../../src/client/client.js'
import { uniqueNamespace } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { freePort } from '../helpers/ports.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A loss is resolved by what the master next hears from the node (docs/protocol.md §10). The
 * open loss is stored with the job, so a master restarted in between still resolves it.
 */
describe('an open loss survives a master restart', () => {
  const closers: Array<() => Promise<unknown>> = []
  let dataDir: string | undefined
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {})
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  async function lostBeforeRestart() {
    dataDir = await mkdtemp(join(tmpdir(), 'edgerun-lost-'))
    const port = await freePort()
    const namespace = uniqueNamespace('lost')
    const start = () => startBroker({ port, dataDir, store: 'sqlite', master: { namespace } })
    let broker: BrokerHandle = await start()
    closers.push(() => broker.close())
    const fake = new FakeWorker(broker.url, namespace, 'fake-a')
    closers.push(() => fake.stop())
    await fake.connect()
    const client = await EdgerunClient.connect({ url: broker.url, namespace })
    closers.push(() => client.close())
    await waitFor(async () => (await client.listNodes()).some((n) => n.id === 'fake-a' && n.state === 'online'), { what: 'fake online' })
    const done = client.submit({ id: 'across', kind: 'noop', maxAttempts: 1 }) as Promise<FinalReply>
    const assign = await fake.nextAssign()
    await fake.accept(assign)
    await waitFor(async () => (await client.getJob('across')).state === 'running', { what: 'running' })
    fake.die()
    await waitFor(async () => (await client.getJob('across')).state === 'queued', { what: 'requeued, the loss open' })
    await broker.close()
    broker = await start()
    return { broker, namespace, fake, client, done }
  }

  it('the same worker process back after the restart: the link lost it, maxAttempts is not charged', async () => {
    const { fake, done } = await lostBeforeRestart()
    await fake.connect()
    const again = await waitFor(() => fake.assigns[1], { timeoutMs: 10_000, what: 'assigned again after the restart' })
    await fake.accept(again)
    await fake.result(again)
    expect(await done).toMatchObject({ type: 'result', state: 'succeeded', attempts: 1, lost: 1, node: 'fake-a' })
  })

  it('another process under the node id after the restart: the old one died, maxAttempts 1 is spent', async () => {
    const { broker, namespace, fake, done } = await lostBeforeRestart()
    const restarted = new FakeWorker(broker.url, namespace, 'fake-a')
    closers.push(() => restarted.stop())
    await restarted.connect()
    const result = await done
    expect(result).toMatchObject({ type: 'result', state: 'failed', code: 'MAX_ATTEMPTS', attempts: 1, lost: 1, node: 'fake-a' })
    expect(result.type === 'result' && result.error).toMatch(/its worker process died once while running it/)
    expect(restarted.assigns).toHaveLength(0)
    expect(fake.assigns).toHaveLength(1)
  })
})
