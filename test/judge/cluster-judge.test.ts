import { afterEach, describe, expect, it } from 'vitest'
import mqtt from 'mqtt'
import { judgeVerdicts, topics, type JobReply, type JudgeOutput } from '../../src/protocol/index.js'
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

  it('reports every judged test in progress events, then the verdict', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ judge: true })
    const client = await cluster.client()
    const events: JobReply[] = []
    const result = await client.submit({ kind: 'judge', language: 'python3', source, tests }, { onEvent: (e) => events.push(e) })
    expect(result).toMatchObject({ type: 'result', state: 'succeeded' })
    const output = (result as { output: JudgeOutput }).output
    expect(output.verdict).toBe('AC')
    expect(output.tests.map((t) => t.verdict)).toEqual(['AC', 'AC', 'AC'])
    // One event per test or several verdicts per event: every verdict, in order.
    const verdicts = events.flatMap((e) => (e.type === 'progress' ? judgeVerdicts(e) : []))
    expect(verdicts.map((t) => [t.index, t.name, t.verdict, t.total])).toEqual([[0, '1', 'AC', 3], [1, '2', 'AC', 3], [2, '3', 'AC', 3]])
  })

  it('every verdict of a long job reaches a plain subscriber of jobs/{id}/events and the replyTo, in order', { timeout: 60_000 }, async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ judge: true })
    const client = await cluster.client()
    const many = Array.from({ length: 60 }, (_, i) => ({ name: `t${i}`, input: `${i} ${i}\n`, expected: `${2 * i}\n` }))
    const id = 'judge-many-1'
    // A third party speaking only docs/protocol.md: raw mqtt.js, no edgerun code.
    const plain = await mqtt.connectAsync(cluster.url, { clientId: `plain-${id}` })
    const seen: { state: string; detail?: unknown }[] = []
    plain.on('message', (_topic, payload) => {
      const message = JSON.parse(payload.toString()) as { type: string; state: string; detail?: unknown }
      if (message.type === 'progress') seen.push(message)
    })
    await plain.subscribeAsync(topics.jobEvents(cluster.namespace, id), { qos: 1 })
    try {
      const fromClient: number[] = []
      const result = await client.submit({ id, kind: 'judge', language: 'python3', source, tests: many }, { onTest: (t) => fromClient.push(t.index) })
      expect((result as { output: JudgeOutput }).output.verdict).toBe('AC')
      const all = Array.from({ length: 60 }, (_, i) => i)
      expect(fromClient).toEqual(all)
      const { waitFor } = await import('../helpers/wait.js')
      await waitFor(() => seen.flatMap((e) => judgeVerdicts(e)).length >= 60, { what: 'every verdict on jobs/{id}/events' })
      expect(seen.flatMap((e) => judgeVerdicts(e)).map((t) => t.index)).toEqual(all)
      // Only the grouped form or the single one: nothing else carries verdicts.
      for (const event of seen) if (judgeVerdicts(event).length > 0) expect(['test', 'tests']).toContain(event.state)
    } finally {
      await plain.endAsync()
    }
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
