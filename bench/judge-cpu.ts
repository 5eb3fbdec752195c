/**
 * CPU time per judged test, by process: `node dist/bench/judge-cpu.js [--rounds N]`. The judge
 * scenario's shape (one worker with 2 slots, rounds of 8 jobs of 100 tests of a trivial C
 * solution, after a warm-up job), with the CPU time of every process read from /proc around the
 * measured rounds: the worker (Node), its launchers, the programs (each launcher's reaped
 * children: the programs, with the work of their start before the exec), and this process
 * (the broker-master and the client). Beside it, the bare launcher's CPU time per run of the same
 * program (the launcher and its children). Unlike a rate, CPU time per test hardly moves with
 * the machine's load, so it compares builds on a shared machine where the rates cannot; it does
 * not see kernel threads (the freeing of namespaces, for one).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { EdgerunClient } from '../src/client/client.js'
import type { JudgeOutput } from '../src/protocol/index.js'
import { bareLauncher } from './lib/bare-launcher.js'
import { edgerunBroker, edgerunWorker, stop } from './lib/cluster.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } })
const rounds = Number(values.rounds)
const JOBS = 8
const TESTS = 100
const C_SOURCE = '#include <stdio.h>\nint main(void){long long a,b;if(scanf("%lld %lld",&a,&b)!=2)return 1;printf("%lld\\n",a+b);return 0;}\n'
/** /proc's clock ticks, ms (USER_HZ is 100 wherever Linux runs). */
const TICK_MS = 10

interface Times { ppid: number; own: number; children: number }

function times(pid: string): Times | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS }
  } catch {
    return undefined
  }
}

/** The worker's process tree: depth 1 is a launcher, depth 2 its pid namespace's init. */
function tree(root: number): Map<string, Times & { depth: number }> {
  const all = new Map<string, Times>()
  for (const name of readdirSync('/proc')) {
    const t = /^\d+$/.test(name) ? times(name) : undefined
    if (t) all.set(name, t)
  }
  const out = new Map<string, Times & { depth: number }>()
  const walk = (pid: number, depth: number) => {
    for (const [child, t] of all) if (t.ppid === pid && !out.has(child)) out.set(child, { ...t, depth }), walk(Number(child), depth + 1)
  }
  const self = all.get(String(root))
  if (self) out.set(String(root), { ...self, depth: 0 })
  walk(root, 1)
  return out
}

const ns = `judge-cpu-${randomBytes(3).toString('hex')}`
const broker = await edgerunBroker(ns)
const worker = await edgerunWorker(broker.url, ns, 'judge', ['--slots', '2'])
const client = await EdgerunClient.connect({ url: broker.url, namespace: ns })
const bare = bareLauncher('20 40\n')
try {
  const tests = Array.from({ length: TESTS }, (_, i) => ({ name: String(i), input: `${i} ${i * 2}\n`, expected: `${i * 3}\n` }))
  const spec = { kind: 'judge' as const, language: 'c' as const, source: C_SOURCE, tests, timeLimitMs: 1000, memoryLimitMb: 64 }
  await client.submit(spec)
  const before = tree(worker.pid!)
  const started = process.cpuUsage()
  for (let round = 0; round < rounds; round++) {
    const replies = await Promise.all(Array.from({ length: JOBS }, () => client.submit(spec)))
    for (const reply of replies) {
      const verdict = reply.type === 'result' ? (reply.output as JudgeOutput | null)?.verdict : undefined
      if (verdict !== 'AC') throw new Error(`judge-cpu: expected AC, got ${JSON.stringify(reply).slice(0, 300)}`)
    }
  }
  const used = process.cpuUsage(started)
  const after = tree(worker.pid!)
  const count = rounds * JOBS * TESTS
  const perTest = { worker: 0, launchers: 0, programs: 0 }
  for (const [pid, t] of after) {
    const t0 = before.get(pid) ?? { own: 0, children: 0 }
    const own = t.own - t0.own
    if (t.depth === 0) perTest.worker += own
    else perTest.launchers += own
    if (t.depth === 2) perTest.programs += t.children - t0.children
  }
  const us = (ms: number) => Math.round((ms * 1000) / count)
  const row = { worker: us(perTest.worker), launchers: us(perTest.launchers), programs: us(perTest.programs), brokerAndClient: Math.round((used.user + used.system) / count) }
  // The bare launcher, as `npm run bench -- --only judge` runs it, under a shell that reports
  // the CPU time of the children it waited for.
  const binary = bare.compileC(C_SOURCE)
  const input = bare.writeFile('cpu-input', '20 40\n')
  const runs = 2000
  const shell = spawnSync('sh', ['-c', '"$@" >/dev/null && cat /proc/$$/stat', 'sh', bare.launcherPath, String(runs), input, binary], { encoding: 'utf8' })
  const stat = shell.stdout.slice(shell.stdout.lastIndexOf(')') + 2).split(' ')
  const bareUs = Math.round((((Number(stat[13]) + Number(stat[14])) * TICK_MS) * 1000) / runs)
  const total = row.worker + row.launchers + row.programs + row.brokerAndClient
  process.stdout.write(`CPU time per test, µs, over ${count} tests (${rounds} rounds of ${JOBS} jobs of ${TESTS}):\n`)
  process.stdout.write(`  worker ${row.worker}, launchers ${row.launchers}, programs ${row.programs}, broker-master and client ${row.brokerAndClient}: ${total}\n`)
  process.stdout.write(`  bare launcher (launcher and program): ${bareUs} per run; bare ÷ judge = ${(bareUs / total).toFixed(2)}\n`)
} finally {
  bare.close()
  await client.close()
  await stop(worker, 'SIGKILL')
  await broker.close()
}
