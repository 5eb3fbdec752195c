/**
 * Two judges at once on each launcher, many tests of a trivial C solution: every test is judged
 * AC and reported. The rate is printed for a glance, never asserted: speed belongs in
 * `npm run bench -- --only judge`, which holds the target as a ratio measured in one run.
 * EDGERUN_JUDGE_BENCH_TESTS sets the tests per judge (default 200).
 */
import { describe, expect, it } from 'vitest'
import { detectLanguages, runJudge } from '../../src/judge/index.js'
import { probeSandbox, sandboxCapabilities, type SandboxCapabilities } from '../../src/judge/sandbox/probe.js'
import { requireLanguage } from '../helpers/binaries.js'
import { judgeJob } from './judge-helpers.js'

const TESTS = Number(process.env.EDGERUN_JUDGE_BENCH_TESTS ?? 200)
const JUDGES = 2
const languages = await detectLanguages()

const launchers: [string, SandboxCapabilities][] = [['default', sandboxCapabilities()]]
const chain = probeSandbox({ launcher: 'chain' })
if (!chain.unusable && chain.launcher !== sandboxCapabilities().launcher) launchers.push(['util-linux chain', chain])

describe('judge under steady load', () => {
  it.each(launchers)('%s launcher, two judges at once', { timeout: 300_000 }, async (name, caps) => {
    requireLanguage(languages, 'c')
    const tests = Array.from({ length: TESTS }, (_, i) => ({ input: `${i} ${i}\n`, expected: `${2 * i}\n` }))
    const source = '#include <stdio.h>\nint main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 1; printf("%ld\\n", a + b); return 0; }'
    const job = judgeJob('c', source, { tests })
    const finished: number[] = []
    const started = performance.now()
    const outputs = await Promise.all(
      Array.from({ length: JUDGES }, () => runJudge(job, { sandbox: caps, onTest: () => finished.push(performance.now()) })),
    )
    const total = (performance.now() - started) / 1000
    for (const output of outputs) expect(output.verdict).toBe('AC')
    expect(finished).toHaveLength(JUDGES * TESTS)
    finished.sort((a, b) => a - b)
    // Steady state: from the first finished test to the last, compile time excluded.
    const steady = (finished.length - 1) / ((finished.at(-1)! - finished[0]!) / 1000)
    console.info(`[judge throughput] ${name}: ${finished.length} tests, ${steady.toFixed(0)} tests/s steady, ${(finished.length / total).toFixed(0)} tests/s including compilation`)
  })
})
