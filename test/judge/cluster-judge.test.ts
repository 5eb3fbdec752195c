import { afterEach, describe, expect, it } from 'vitest'
import type { JobReply, JudgeOutput } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'

const tests = [
  { name: '1', input: '1 2\n', expected: '3\n' },
  { name: '2', input: '5 7\n', expected: '12\n' },
  { name: '3', input: '10 -4\n', expected: '6\n' },
]
const source = 'a, b = map(int, input().split())\nprint(a + b)\n'

describe('judge jobs through the cluster', () => {
  let cluster: TestCluster
  afterEach(async () => {
    await cluster?.close()
  })

  it('reports each judged test as a progress event, then the verdict', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ judge: true })
    const client = await cluster.client()
    const events: JobReply[] = []
    const result = await client.submit({ kind: 'judge', language: 'python3', source, tests }, { onEvent: (e) => events.push(e) })
    expect(result).toMatchObject({ type: 'result', state: 'succeeded' })
    const output = (result as { output: JudgeOutput }).output
    expect(output.verdict).toBe('AC')
    expect(output.tests.map((t) => t.verdict)).toEqual(['AC', 'AC', 'AC'])
    const perTest = events.filter((e) => e.type === 'progress' && e.state === 'test')
    expect(perTest).toHaveLength(3)
  })

  it('a language no online node has: UNSUPPORTED with --no-wait, waiting by default', async () => {
    cluster = await TestCluster.start()
    await cluster.worker() // judge disabled: advertises no languages
    const client = await cluster.client()
    const reply = await client.submit({ kind: 'judge', language: 'python3', source, tests, wait: false })
    expect(reply).toMatchObject({ type: 'rejected', code: 'UNSUPPORTED' })
    const events: JobReply[] = []
    void client.submit({ id: 'judge-waits', kind: 'judge', language: 'python3', source, tests }, { onEvent: (e) => events.push(e) })
    const { waitFor } = await import('../helpers/wait.js')
    await waitFor(() => events.find((e) => e.type === 'progress' && e.state === 'waiting'), { what: 'waiting notice' })
    expect(JSON.stringify(events)).toContain('no online node supports language \\"python3\\"')
  })
})
