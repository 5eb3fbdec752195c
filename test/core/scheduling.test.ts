import { afterEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Scheduling seen from outside (docs/protocol.md §10): a plain mqtt.js client speaking only the
 * documented protocol, three real workers, and the `node` of each result.
 */
describe('scheduling across nodes (docs/protocol.md §10)', () => {
  let cluster: TestCluster | undefined
  let submitter: PlainSubmitter | undefined
  afterEach(async () => {
    await submitter?.close()
    await cluster?.close()
  })

  async function setUp(): Promise<(id: string, extra?: Record<string, unknown>) => Promise<string>> {
    cluster = await TestCluster.start()
    for (let i = 0; i < 3; i++) await cluster.worker({ slots: 10 })
    submitter = await PlainSubmitter.connect(cluster.url, cluster.namespace, 'plain')
    return async (id, extra = {}) => {
      submitter!.submit({ id, kind: 'noop', ...extra })
      const result = await waitFor(() => submitter!.resultOf(id), { timeoutMs: 10_000, what: `the result of ${id}` })
      expect(result.state).toBe('succeeded')
      return String(result.node)
    }
  }

  it('one job at a time stays on one node while the nodes are tied (the one placed most recently)', async () => {
    const run = await setUp()
    const nodes: string[] = []
    for (let i = 0; i < 20; i++) nodes.push(await run(`seq-${i}`))
    // At random among three tied nodes, 20 jobs on one node would be a 1 in 3^19 chance.
    expect(new Set(nodes).size).toBe(1)
  })

  it('a burst still spreads: the node with the most free slots comes first', async () => {
    const run = await setUp()
    const nodes = await Promise.all(Array.from({ length: 9 }, (_, i) => run(`burst-${i}`, { sleepMs: 1_000 })))
    expect(new Set(nodes).size).toBe(3)
  })
})
