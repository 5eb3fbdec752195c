import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectLanguages, runJudge, sandboxInfo } from '../../src/judge/index.js'
import { buildSandboxCommand } from '../../src/judge/sandbox/command.js'
import { probeSandbox, sandboxCapabilities, writableMounts } from '../../src/judge/sandbox/probe.js'
import { parseMeta, runSandboxed, type SandboxRun } from '../../src/judge/sandbox/run.js'
import { leaseUid } from '../../src/judge/sandbox/uid-pool.js'
import { classifyRun, type VerdictLimits } from '../../src/judge/verdict.js'
import { requireBinary, requireLanguage } from '../helpers/binaries.js'
import { waitFor } from '../helpers/wait.js'
import { judgeJob } from './judge-helpers.js'

const languages = await detectLanguages()

describe('sandboxInfo', () => {
  it('reports what isolation is in force', () => {
    const info = sandboxInfo()
    expect(typeof info.netns).toBe('boolean')
    expect(typeof info.dropUser).toBe('boolean')
    expect(info.unusable).toBeUndefined()
    // Tests run as root (CI too): all of it should be available there.
    if (process.getuid?.() === 0) expect(info).toMatchObject({ dropUser: true, mode: 'root' })
  })
})

describe('parseMeta', () => {
  it('reads the helper stats line, with who killed the program', () => {
    expect(parseMeta('edgerun-stats 0 0 12345 2048 15000 none\n')).toEqual({ exitCode: 0, signal: null, cpuMs: 12, maxRssKb: 2048, wallMs: 15 })
    expect(parseMeta('edgerun-stats -1 11 1000 900 2000 none\n')).toEqual({ exitCode: null, signal: 'SIGSEGV', cpuMs: 1, maxRssKb: 900, wallMs: 2 })
    expect(parseMeta('edgerun-stats -1 6 0 1 0 none\n')).toMatchObject({ signal: 'SIGABRT' })
    expect(parseMeta('edgerun-stats -1 9 3000 900 13000000 wall\n')).toMatchObject({ signal: 'SIGKILL', killedBy: 'wall', wallMs: 13000 })
    expect(parseMeta('edgerun-stats -1 9 1010000 900 1500000 cpu\n')).toMatchObject({ signal: 'SIGKILL', killedBy: 'cpu', cpuMs: 1010 })
  })

  it('reads GNU time, with and without a terminating signal', () => {
    expect(parseMeta('Command exited with non-zero status 3\nedgerun-time 0.10 0.05 0.01 4096 3\n')).toEqual({ exitCode: 3, signal: null, cpuMs: 60, maxRssKb: 4096 })
    expect(parseMeta('Command terminated by signal 24\nedgerun-time 1.00 0.99 0.01 900 0\n')).toEqual({ exitCode: null, signal: 'SIGXCPU', cpuMs: 1000, maxRssKb: 900 })
  })

  it('reads the shell status when nothing measures', () => {
    expect(parseMeta('edgerun-status 0\n')).toEqual({ exitCode: 0, signal: null })
    expect(parseMeta('edgerun-status 137\n')).toEqual({ exitCode: null, signal: 'SIGKILL' })
  })

  it('turns launcher complaints into a failure, and nothing into undefined', () => {
    expect(parseMeta('edgerun-sandbox: unshare: Operation not permitted\n')).toEqual({ failure: 'edgerun-sandbox: unshare: Operation not permitted' })
    expect(parseMeta('')).toBeUndefined()
    expect(parseMeta('unshare: cannot do that\n')).toBeUndefined()
  })
})

describe('writableMounts', () => {
  it('lists the writable mounts to remount read-only, skipping kernel file systems', () => {
    const mountinfo = [
      '43 42 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '45 43 0:21 / /proc rw,relatime - proc proc rw',
      '46 43 0:22 / /sys rw,relatime - sysfs sysfs rw',
      '47 46 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw',
      '59 58 0:23 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw',
      '60 43 0:25 / /mnt/ro ro,nosuid - tmpfs tmpfs ro',
      '61 43 0:26 / /srv/with\\040space rw,noexec - tmpfs tmpfs rw',
      '62 58 0:24 / /dev/pts rw - devpts devpts rw',
    ].join('\n')
    expect(writableMounts(mountinfo)).toEqual([
      { path: '/', keepFlags: ['relatime'] },
      { path: '/dev/shm', keepFlags: ['nosuid', 'nodev'] },
      { path: '/srv/with space', keepFlags: ['noexec'] },
    ])
  })
})

describe('buildSandboxCommand', () => {
  it('asks for every isolation the probe found', () => {
    const caps = sandboxCapabilities()
    const { args } = buildSandboxCommand(caps, {
      argv: ['/prog/main'], jobDir: '/job', boxDir: '/job/box', uid: 3_000_123,
      limits: { cpuSeconds: 2, addressSpaceBytes: 1 << 26, stackBytes: 1 << 23, processes: 64, fileSizeBytes: 1 << 20, openFiles: 256 },
    })
    const text = args.join(' ')
    if (caps.netns) expect(text).toMatch(/--net\b/)
    if (caps.pidns) expect(text).toMatch(/--pid\b/)
    if (caps.dropUser) expect(text).toMatch(/3000123/)
    expect(text).toMatch(/cpu=2:3/)
    expect(args.at(-1)).toBe('/prog/main')
  })
})

describe('runSandboxed', () => {
  it('a wall-clock timer that fires after the program ended is not a kill (an event loop that was busy)', { timeout: 60_000 }, async () => {
    // The util-linux chain, where the worker's own timer is the wall clock (the helper keeps it
    // itself). A worker busy when the limit passes runs the due timer before it notices the
    // exit: under load, that turned finished programs into TLE.
    requireBinary('prlimit')
    const caps = probeSandbox({ launcher: 'chain' })
    expect(caps.unusable, 'the util-linux chain').toBeUndefined()
    const root = mkdtempSync(join(tmpdir(), 'edgerun-late-timer-'))
    const lease = caps.dropUser ? leaseUid() : undefined
    try {
      chmodSync(root, 0o711)
      const privDir = join(root, 'priv')
      const boxDir = join(root, 'box')
      mkdirSync(privDir, { mode: 0o700 })
      mkdirSync(boxDir, { mode: 0o700 })
      if (lease) chownSync(boxDir, lease.uid, lease.uid)
      writeFileSync(join(privDir, 'stdin'), '')
      // The program says it started, then waits for a go that the test gives only while it holds
      // the event loop, so its exit can only be noticed after the timer is due.
      const WALL_MS = 5000
      const running = runSandboxed(caps, {
        argv: [caps.tools.sh, '-c', 'echo > started; while [ ! -e go ]; do sleep 0.01; done; echo done'],
        jobDir: root, boxDir, uid: lease?.uid, stdinPath: join(privDir, 'stdin'), privDir,
        wallMs: WALL_MS, env: { PATH: '/usr/bin:/bin' }, stdoutReadMax: 1000, stderrReadMax: 1000,
        limits: { cpuSeconds: 5, stackBytes: 8 << 20, processes: 16, fileSizeBytes: 1 << 20, openFiles: 64 },
      })
      await waitFor(() => existsSync(join(boxDir, 'started')), { timeoutMs: WALL_MS - 500, intervalMs: 1, what: 'the program started' })
      const timerDue = Date.now() + WALL_MS // the timer was set before the program started
      // Hold the event loop, not a single turn, until the timer is due and the launcher has
      // reported the program's exit. Held in a check-phase callback, as an I/O callback would be:
      // the next thing the loop does after it is to run due timers, before it polls for the
      // exited child. (A hold in the timers phase would let the poll come first.)
      await new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          writeFileSync(join(boxDir, 'go'), '')
          const metaPath = join(privDir, 'meta')
          const until = Date.now() + 30_000
          while (Date.now() < timerDue || !/^edgerun-(time|status) /m.test(readFileSync(metaPath, 'utf8'))) {
            if (Date.now() > until) return reject(new Error('the chain did not report within 30 s'))
          }
          resolve()
        }),
      )
      const run = await running
      expect(run.killedBy, JSON.stringify(run)).toBeUndefined()
      expect(run).toMatchObject({ exitCode: 0, signal: null })
      expect(run.stdout?.toString()).toBe('done\n')
      expect(run.wallMs).toBeGreaterThanOrEqual(WALL_MS)
    } finally {
      lease?.release()
      rmSync(root, { recursive: true, force: true })
    }
  })
})

function run(overrides: Partial<SandboxRun>): SandboxRun {
  return { exitCode: 0, signal: null, cpuMs: 10, maxRssKb: 1000, wallMs: 20, stdoutBytes: 2, stdout: Buffer.from('3\n'), stderr: '', ...overrides }
}
const limits: VerdictLimits = { timeLimitMs: 1000, memoryLimitMb: 64, rssAllowanceKb: 0, outputLimitBytes: 1 << 20 }

describe('classifyRun', () => {
  it('decides in order: IE, OLE, CPU TLE, MLE, wall TLE, RE, then the checker', () => {
    expect(classifyRun(run({ failure: 'broken' }), limits).verdict).toBe('IE')
    expect(classifyRun(run({ killedBy: 'wall', signal: 'SIGKILL', exitCode: null }), limits).verdict).toBe('TLE')
    expect(classifyRun(run({ killedBy: 'cpu', signal: 'SIGKILL', exitCode: null, cpuMs: 1001 }), limits)).toEqual({ verdict: 'TLE', detail: 'CPU time limit exceeded' })
    // Memory evidence outranks the wall clock: a hog that the wall clock happened to stop is MLE.
    expect(classifyRun(run({ killedBy: 'wall', signal: 'SIGKILL', exitCode: null, maxRssKb: 70 * 1024 }), limits).verdict).toBe('MLE')
    // …but being stopped near the limit by the wall clock is the sleeper's TLE, not a failed allocation.
    expect(classifyRun(run({ killedBy: 'wall', signal: 'SIGKILL', exitCode: null, maxRssKb: 60 * 1024 }), limits).verdict).toBe('TLE')
    expect(classifyRun(run({ killedBy: 'wall', signal: 'SIGKILL', exitCode: null, cpuMs: 1500 }), limits).detail).toBe('CPU time limit exceeded')
    expect(classifyRun(run({ stdoutBytes: 1 << 20, signal: 'SIGXFSZ', exitCode: null }), limits).verdict).toBe('OLE')
    expect(classifyRun(run({ stdoutBytes: 1 << 20, exitCode: 1, stderr: 'OSError: File too large' }), limits).verdict).toBe('OLE')
    expect(classifyRun(run({ signal: 'SIGXCPU', exitCode: null, cpuMs: 1000 }), limits).verdict).toBe('TLE')
    expect(classifyRun(run({ cpuMs: 1010 }), limits).verdict).toBe('TLE')
    expect(classifyRun(run({ cpuMs: 1000 }), limits).verdict).toBe('AC')
    expect(classifyRun(run({ maxRssKb: 64 * 1024 + 1 }), limits).verdict).toBe('MLE')
    expect(classifyRun(run({ maxRssKb: 64 * 1024 + 1 }), { ...limits, rssAllowanceKb: 1024 }).verdict).toBe('AC')
    expect(classifyRun(run({ exitCode: 1, stderr: 'Traceback…\nMemoryError\n' }), limits).verdict).toBe('MLE')
    expect(classifyRun(run({ exitCode: null, signal: 'SIGABRT', stderr: "terminate called after throwing an instance of 'std::bad_alloc'" }), limits).verdict).toBe('MLE')
    expect(classifyRun(run({ exitCode: null, signal: 'SIGSEGV', maxRssKb: 60 * 1024 }), limits).verdict).toBe('MLE')
    expect(classifyRun(run({ exitCode: null, signal: 'SIGSEGV' }), limits)).toEqual({ verdict: 'RE', detail: 'killed by SIGSEGV' })
    expect(classifyRun(run({ exitCode: 3 }), limits)).toEqual({ verdict: 'RE', detail: 'exit code 3' })
  })
})

describe('honest programs under the limits', () => {
  it('C: deep recursion may use the stack up to the memory limit', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const source = `
      #include <stdio.h>
      static long depth(long n) {
        volatile char pad[1000];
        pad[n % 1000] = 1;
        if (n == 0) return 0;
        long below = depth(n - 1);
        return below + pad[n % 1000];
      }
      int main(void) { printf("%ld\\n", depth(40000)); return 0; }`
    const output = await runJudge(judgeJob('c', source, { tests: [{ input: '', expected: '40000\n' }] }))
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
    expect(output.tests[0]!.memoryKb).toBeGreaterThan(30_000)
  })

  it('C: time and memory are measured', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const source = `
      #include <stdio.h>
      #include <stdlib.h>
      int main(void) {
        volatile char *block = malloc(40 << 20);
        for (long i = 0; i < (40 << 20); i += 512) block[i] = 1;
        volatile unsigned long spin = 0;
        for (unsigned long i = 0; i < 300000000UL; i++) spin += i;
        printf("%d\\n", block[512 * 99]);
        return 0;
      }`
    const output = await runJudge(judgeJob('c', source, { timeLimitMs: 3000, tests: [{ input: '', expected: '1\n' }] }))
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
    expect(output.tests[0]!.memoryKb).toBeGreaterThan(40 * 1024)
    expect(output.tests[0]!.memoryKb).toBeLessThan(48 * 1024)
    expect(output.tests[0]!.timeMs).toBeGreaterThan(20)
  })

  it('python3: a large input and a list near the limit', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'python3')
    const numbers = Array.from({ length: 200_000 }, (_, i) => i)
    const source = 'import sys\nxs = [int(x) for x in sys.stdin.read().split()]\nprint(sum(xs), len(xs))'
    const output = await runJudge(
      judgeJob('python3', source, { memoryLimitMb: 128, tests: [{ input: numbers.join(' '), expected: `${numbers.reduce((a, b) => a + b, 0)} ${numbers.length}` }] }),
    )
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
  })

  it('js: a 32 MB typed array within a 64 MB limit', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'js')
    const source = 'const a = new Float64Array(4 << 20); a.fill(1); console.log(a.reduce((s, x) => s + x, 0))'
    const output = await runJudge(judgeJob('js', source, { tests: [{ input: '', expected: `${4 << 20}\n` }] }))
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
  })

  it('a compile error reports the compiler message, truncated', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'cpp')
    const source = Array.from({ length: 2000 }, (_, i) => `int f${i}() { return undefined_${i}; }`).join('\n')
    const output = await runJudge(judgeJob('cpp', source))
    expect(output.verdict).toBe('CE')
    expect(output.compile!.output).toMatch(/undefined_0/)
    expect(Buffer.byteLength(output.compile!.output)).toBeLessThan(9 * 1024)
  })

  it('the compiler cannot read what the sandbox uid cannot', { timeout: 30_000 }, async ({ skip }) => {
    requireLanguage(languages, 'c')
    skip(!sandboxInfo().dropUser, 'no uid to drop to')
    const output = await runJudge(judgeJob('c', '#include "/etc/shadow"\nint main(void) { return 0; }'))
    expect(output.verdict).toBe('CE')
    expect(output.compile!.output).toMatch(/Permission denied/)
    expect(output.compile!.output).not.toMatch(/root:/)
  })
})
