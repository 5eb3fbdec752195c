/**
 * Where a judged test's time goes: `node dist/bench/judge-timeline.js [--pool on|off] [--tests N]`
 * runs one judge job of N tests of a trivial C solution in this process (1 slot, after a warm-up
 * job) under `strace -f -ttt`, then reads the trace back and prints the median time of each step
 * of a test, from the syscalls that mark it. strace slows every syscall down, so the proportions
 * matter more than the absolute figures. `--pool off` is the launcher process per test that
 * the judge used before (and still uses where pooling is not possible).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const SOURCE = '#include <stdio.h>\nint main(void){long long a,b;if(scanf("%lld %lld",&a,&b)!=2)return 1;printf("%lld\\n",a+b);return 0;}\n'

const { values } = parseArgs({ options: { pool: { type: 'string', default: 'on' }, tests: { type: 'string', default: '40' }, run: { type: 'boolean', default: false } } })
const pool = values.pool !== 'off'
const count = Number(values.tests)

async function run(): Promise<void> {
  const { runJudge } = await import('../src/judge/index.js')
  const tests = Array.from({ length: count }, (_, i) => ({ name: String(i), input: `${i} ${i * 2}\n`, expected: `${i * 3}\n` }))
  const spec = { kind: 'judge' as const, id: 'timeline', priority: 0, timeoutMs: 600_000, maxAttempts: 1, requires: { labels: [] }, wait: true, language: 'c' as const, source: SOURCE, tests, timeLimitMs: 1000, memoryLimitMb: 64, checker: 'tokens' as const, progress: false, batchReplies: false }
  await runJudge({ ...spec, tests: tests.slice(0, 2) }, { pool })
  const output = await runJudge(spec, { pool })
  if (output.verdict !== 'AC') throw new Error(`expected AC, got ${JSON.stringify(output).slice(0, 300)}`)
}

interface Line { pid: number; t: number; text: string }

function parse(file: string): Line[] {
  const lines: Line[] = []
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    // strace pads the pid to a width: small pids are followed by several spaces.
    const m = raw.match(/^(\d+) +(\d+\.\d+) (.*)$/)
    if (m) lines.push({ pid: Number(m[1]), t: Number(m[2]) * 1000, text: m[3]! })
  }
  return lines
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : NaN
}

/** The first line at or after `from` (ms) matching `re`, optionally by one pid. */
function find(lines: Line[], re: RegExp, from: number, pid?: number): Line | undefined {
  return lines.find((l) => l.t >= from && (pid === undefined || l.pid === pid) && re.test(l.text))
}

type Steps = [string, number][]

/** One process per test: box → spawn → namespaces → program → teardown → reap → output → check → box cleanup. */
function perTestProcess(lines: Line[], box: string, next: string): Steps | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const mk = find(lines, new RegExp(`^mkdir\\("${esc(box)}"`), 0)
  if (!mk) return undefined
  const exec = find(lines, new RegExp(`^execve\\(".*edgerun-sandbox.*"${esc(box)}"`), mk.t)
  const fork = exec && [...lines].reverse().find((l) => l.t <= exec.t && l.t >= mk.t && /^(clone|clone3|vfork)\(/.test(l.text))
  const chdir = exec && find(lines, new RegExp(`^chdir\\("${esc(box)}"\\)`), exec.t + 0.001)
  const prog = chdir && find(lines, /^execve\(".*\/prog\/main"/, chdir.t, chdir.pid)
  const progExit = prog && find(lines, /^(exit_group|\+\+\+ exited|\+\+\+ killed)/, prog.t, prog.pid)
  const helperGone = exec && find(lines, /^\+\+\+ exited/, progExit?.t ?? exec.t, exec.pid)
  const meta = helperGone && find(lines, /^openat\(.*priv\/meta", O_RDONLY/, helperGone.t)
  const stderr = meta && find(lines, /^openat\(.*priv\/stderr", O_RDONLY/, meta.t)
  const rmStart = stderr && find(lines, new RegExp(`^(statx|newfstatat|lstat)\\(.*"${esc(box)}"`), stderr.t)
  const rmDone = rmStart && find(lines, new RegExp(`^rmdir\\("${esc(box)}"`), rmStart.t)
  const nextMk = rmDone && find(lines, new RegExp(`^mkdir\\("${esc(next)}"`), rmDone.t)
  if (!nextMk || !progExit) return undefined
  return [
    ['box made, stdin written, four files opened (mkdir box → the worker forks)', (fork?.t ?? exec!.t) - mk.t],
    ['spawn: the worker forks, the helper execs', exec!.t - (fork?.t ?? exec!.t)],
    ['namespaces and mounts (helper exec → program chdir)', chdir!.t - exec!.t],
    ['uid switch, exec, the program (chdir → exit)', progExit!.t - chdir!.t],
    ['teardown: reap, kill, exit of the helper and its namespaces', helperGone!.t - progExit!.t],
    ['worker wakes, closes, opens the report (helper gone → open meta)', meta!.t - helperGone!.t],
    ['output read (meta, stdout, stderr)', stderr!.t - meta!.t],
    ['checker and verdict (last read → box rm starts)', rmStart!.t - stderr!.t],
    ['box cleanup (rm -r of the box)', rmDone!.t - rmStart!.t],
    ['progress callback, next test set up (box rm → next mkdir)', nextMk.t - rmDone.t],
  ]
}

/**
 * Pooled: box → fork → program → reap, kill(-1), IPC emptied → box deleted → next box. The reply
 * is held with the next ones (a few ms) and read by the worker off the launcher's path: those
 * two steps are shown apart, not added to the test's time.
 */
function pooled(lines: Line[], box: string, next: string): Steps | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const mk = find(lines, new RegExp(`^mkdir\\("${esc(box)}"`), 0)
  if (!mk) return undefined
  const zygote = mk.pid
  const fork = find(lines, /^clone/, mk.t, zygote)
  const prog = fork && find(lines, /^execve\(".*\/prog\/main"/, fork.t)
  const progExit = prog && find(lines, /^exit_group/, prog.t, prog.pid)
  const reaped = progExit && find(lines, /^(wait4|<\.\.\. wait4 resumed)/, progExit.t, zygote)
  const rmdir = reaped && find(lines, new RegExp(`^rmdir\\("${esc(box)}"`), reaped.t, zygote)
  const nextMk = rmdir && find(lines, new RegExp(`^mkdir\\("${esc(next)}"`), rmdir.t)
  const reply = reaped && find(lines, /^writev?\(1, .*edgerun-run/, reaped.t, zygote)
  const read = reply && find(lines, /^(read\(\d+, |<\.\.\. read resumed>)".*edgerun-run/, reply.t)
  if (!nextMk || !read) return undefined
  return [
    ['box made (mkdir, chown) → fork', fork!.t - mk.t],
    ['fork, rlimits, uid switch, exec, the program (→ exit)', progExit!.t - fork!.t],
    ['reap, kill(-1) of what is left, IPC emptied, reply held or written, box deleted', rmdir!.t - progExit!.t],
    ['next request taken up, next box (rmdir → next mkdir)', nextMk.t - rmdir!.t],
    [OFF_PATH + 'the reply held with the next ones (reaped → written)', reply.t - reaped.t],
    [OFF_PATH + 'the reply reaches the worker (its read)', read.t - reply.t],
  ]
}

/** Steps whose name starts so are shown but not added up (they overlap the next test). */
const OFF_PATH = 'off the path: '

function summarize(file: string): void {
  const lines = parse(file)
  const boxes = [...new Set(lines.flatMap((l) => l.text.match(/^mkdir\("([^"]*\/box-\d+)"/)?.[1] ?? []))]
  const rows = new Map<string, number[]>()
  let total = 0
  for (let i = 0; i + 1 < boxes.length; i++) {
    const steps = (pool ? pooled : perTestProcess)(lines, boxes[i]!, boxes[i + 1]!)
    if (!steps) continue
    total++
    for (const [name, ms] of steps) rows.set(name, [...(rows.get(name) ?? []), ms])
  }
  const medians = [...rows].map(([name, xs]) => [name, median(xs)] as const)
  const sum = medians.reduce((a, [name, ms]) => (name.startsWith(OFF_PATH) ? a : a + ms), 0)
  process.stdout.write(`per-test timeline, ${pool ? 'pooled launcher' : 'a launcher process per test'}, median of ${total} tests (strace -f inflates every syscall):\n`)
  for (const [name, ms] of medians) {
    const share = name.startsWith(OFF_PATH) ? '     ' : `${((ms / sum) * 100).toFixed(0).padStart(3)} %`
    process.stdout.write(`  ${ms.toFixed(2).padStart(7)} ms  ${share}  ${name}\n`)
  }
  process.stdout.write(`  ${sum.toFixed(2).padStart(7)} ms        per test\n`)
}

if (values.run) {
  await run()
} else {
  const dir = mkdtempSync(join(tmpdir(), 'edgerun-timeline-'))
  const file = join(dir, 'trace')
  const self = fileURLToPath(import.meta.url)
  const traced = spawnSync('strace', ['-f', '-ttt', '-s', '64', '-o', file, process.execPath, self, '--run', '--pool', pool ? 'on' : 'off', '--tests', String(count)], { stdio: 'inherit' })
  if (traced.status !== 0) throw new Error(`strace run failed (${traced.status ?? traced.signal}); is strace installed?`)
  summarize(file)
  rmSync(dir, { recursive: true, force: true })
}
