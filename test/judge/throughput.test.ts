import { expect, test } from 'vitest'
import { runJudge } from '../../src/judge/index.js'
import type { JudgeJobSpec } from '../../src/protocol/index.js'

const TESTS = Number(process.env.EDGERUN_JUDGE_BENCH_TESTS ?? 200)

test('throughput', async () => {
  const tests = Array.from({ length: TESTS }, (_, i) => ({ input: `${i} ${i}\n`, expected: `${2 * i}\n` }))
  const job: JudgeJobSpec = { kind: 'judge', id: 'bench', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, timeLimitMs: 1000, memoryLimitMb: 64, checker: 'tokens', language: 'c', tests,
    source: '#include <stdio.h>\nint main(){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);}' }
  const stamps: number[] = []
  const t0 = performance.now()
  const outs = await Promise.all([0, 1].map(() => runJudge(job, { onTest: () => stamps.push(performance.now()) })))
  const total = performance.now() - t0
  stamps.sort((a, b) => a - b)
  const rate = (stamps.length - 1) / ((stamps.at(-1)! - stamps[0]!) / 1000)
  console.log(`tests=${stamps.length} total=${Math.round(total)}ms overall=${(stamps.length / (total / 1000)).toFixed(1)}/s steady=${rate.toFixed(1)}/s`)
  for (const out of outs) expect(out.verdict).toBe('AC')
}, 120_000)
