import { randomBytes } from 'node:crypto'
import { EdgerunClient } from '../../src/client/client.js'
import type { JudgeOutput } from '../../src/protocol/index.js'
import { edgerunBroker, edgerunWorker, stop } from '../lib/cluster.js'
import { round } from '../lib/stats.js'

export interface JudgeFigures {
  testsPerSec: number
  tests: number
  jobs: number
  slots: number
}

const SOURCE = '#include <stdio.h>\nint main(void){long long a,b;if(scanf("%lld %lld",&a,&b)!=2)return 1;printf("%lld\\n",a+b);return 0;}\n'

/** Test-case executions per second for a trivial C solution on one worker with 2 slots. */
export async function measureJudge(jobs = 8, testsPerJob = 100): Promise<JudgeFigures> {
  const ns = `judge-${randomBytes(3).toString('hex')}`
  const broker = await edgerunBroker(ns)
  const worker = await edgerunWorker(broker.url, ns, 'judge', ['--slots', '2'])
  const client = await EdgerunClient.connect({ url: broker.url, namespace: ns })
  try {
    const tests = Array.from({ length: testsPerJob }, (_, i) => ({ name: String(i), input: `${i} ${i * 2}\n`, expected: `${i * 3}\n` }))
    const spec = { kind: 'judge' as const, language: 'c' as const, source: SOURCE, tests, timeLimitMs: 1000, memoryLimitMb: 64 }
    // Warm up: compile caches, the sandbox launcher, the JIT.
    await client.submit(spec)
    const started = performance.now()
    const replies = await Promise.all(Array.from({ length: jobs }, () => client.submit(spec)))
    const elapsed = performance.now() - started
    for (const reply of replies) {
      const verdict = reply.type === 'result' ? (reply.output as JudgeOutput | null)?.verdict : undefined
      if (verdict !== 'AC') throw new Error(`judge bench: expected AC, got ${JSON.stringify(reply).slice(0, 300)}`)
    }
    return { testsPerSec: round(((jobs * testsPerJob) / elapsed) * 1000, 0), tests: jobs * testsPerJob, jobs, slots: 2 }
  } finally {
    await client.close()
    await stop(worker, 'SIGKILL')
    await broker.close()
  }
}
