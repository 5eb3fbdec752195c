import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EdgerunClient } from '../../src/client/client.js'
import { detectToolchains } from '../../src/judge/languages.js'
import type { JudgeLanguage, JudgeOutput } from '../../src/protocol/index.js'
import { bareLauncher } from '../lib/bare-launcher.js'
import { edgerunBroker, edgerunWorker, stop } from '../lib/cluster.js'
import { round } from '../lib/stats.js'

export interface JudgeFigures {
  /** Trivial C: the judge's test executions/s, the bare launcher's runs/s, and judge ÷ bare. */
  testsPerSec: number
  bareCPerSec: number
  ratioC: number
  /** The same for Python: the judge's python3 on the same program, bare and judged. */
  pythonTestsPerSec: number
  barePythonPerSec: number
  ratioPython: number
  tests: number
  jobs: number
  slots: number
}

const C_SOURCE = '#include <stdio.h>\nint main(void){long long a,b;if(scanf("%lld %lld",&a,&b)!=2)return 1;printf("%lld\\n",a+b);return 0;}\n'
const PY_SOURCE = 'import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n'

/**
 * Test executions per second on one worker with 2 slots (8 jobs of 100 tests, submitted at once
 * after a warm-up job), beside a bare fork/exec/wait launcher running the same program 2 at a
 * time. The launcher runs right before and right after each judged batch, and the two are
 * averaged, so that a shared machine's drift hits both sides alike.
 */
export async function measureJudge(jobs = 8, testsPerJob = 100): Promise<JudgeFigures> {
  const ns = `judge-${randomBytes(3).toString('hex')}`
  const broker = await edgerunBroker(ns)
  const worker = await edgerunWorker(broker.url, ns, 'judge', ['--slots', '2'])
  const client = await EdgerunClient.connect({ url: broker.url, namespace: ns })
  const bare = bareLauncher('20 40\n')
  const pyDir = mkdtempSync(join(tmpdir(), 'edgerun-bench-py-'))
  try {
    const tests = Array.from({ length: testsPerJob }, (_, i) => ({ name: String(i), input: `${i} ${i * 2}\n`, expected: `${i * 3}\n` }))
    const judged = async (language: JudgeLanguage, source: string) => {
      const spec = { kind: 'judge' as const, language, source, tests, timeLimitMs: 1000, memoryLimitMb: 64 }
      // Warm up: compile caches, the sandbox launchers, the JIT.
      await client.submit(spec)
      const started = performance.now()
      const replies = await Promise.all(Array.from({ length: jobs }, () => client.submit(spec)))
      const elapsed = performance.now() - started
      for (const reply of replies) {
        const verdict = reply.type === 'result' ? (reply.output as JudgeOutput | null)?.verdict : undefined
        if (verdict !== 'AC') throw new Error(`judge bench: expected AC, got ${JSON.stringify(reply).slice(0, 300)}`)
      }
      return ((jobs * testsPerJob) / elapsed) * 1000
    }
    const beside = async (argv: string[], runs: number, judge: () => Promise<number>) => {
      await bare.rate(argv, Math.min(runs, 50)) // warm the page cache
      const before = await bare.rate(argv, runs)
      const rate = await judge()
      const after = await bare.rate(argv, runs)
      return { rate, bareRate: (before + after) / 2 }
    }
    const c = await beside([bare.compileC(C_SOURCE)], jobs * testsPerJob, () => judged('c', C_SOURCE))
    const python = (await detectToolchains()).get('python3')
    if (!python) throw new Error('judge bench: no python3 toolchain')
    writeFileSync(join(pyDir, 'main.py'), PY_SOURCE)
    const py = await beside(python.runArgv(pyDir, 64), (jobs * testsPerJob) / 2, () => judged('python3', PY_SOURCE))
    return {
      testsPerSec: round(c.rate, 0),
      bareCPerSec: round(c.bareRate, 0),
      ratioC: round(c.rate / c.bareRate, 2),
      pythonTestsPerSec: round(py.rate, 0),
      barePythonPerSec: round(py.bareRate, 0),
      ratioPython: round(py.rate / py.bareRate, 2),
      tests: jobs * testsPerJob,
      jobs,
      slots: 2,
    }
  } finally {
    bare.close()
    rmSync(pyDir, { recursive: true, force: true })
    await client.close()
    await stop(worker, 'SIGKILL')
    await broker.close()
  }
}
