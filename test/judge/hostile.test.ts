/**
 * Submissions that try to break out or bring the worker down. Each must end with a verdict,
 * within its limits, and leave no process behind. Both launchers are exercised: the compiled
 * edgerun-sandbox helper (the default here) and the util-linux chain (the fallback on machines
 * without a C compiler).
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { detectLanguages, runJudge, wallLimitFor } from '../../src/judge/index.js'
import { servable } from '../../src/judge/sandbox/pool.js'
import { probeSandbox, sandboxCapabilities, type SandboxCapabilities } from '../../src/judge/sandbox/probe.js'
import { requireLanguage } from '../helpers/binaries.js'
import { expectNoProcesses, judgeJob, marker } from './judge-helpers.js'

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url))
const languages = await detectLanguages()

const launchers: [string, SandboxCapabilities][] = [['default', sandboxCapabilities()]]
const chain = probeSandbox({ launcher: 'chain' })
if (!chain.unusable && chain.launcher !== sandboxCapabilities().launcher) launchers.push(['util-linux chain', chain])

describe.each(launchers)('hostile submissions (%s launcher)', (_name, caps) => {
  // A work directory of our own, to see that every job cleans up after itself.
  // (mkdtemp makes it 0700; the sandbox uid must be able to pass through it.)
  const workDir = mkdtempSync(join(tmpdir(), 'edgerun-judge-hostile-'))
  chmodSync(workDir, 0o711)
  const opts = { sandbox: caps, workDir }

  afterEach(() => {
    expect(readdirSync(workDir)).toEqual([])
  })
  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true })
  })

  describe('network', () => {
    let server: Server
    let port = 0
    let connections = 0

    beforeAll(async () => {
      server = createServer((socket) => {
        connections++
        socket.destroy()
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as { port: number }).port
    })
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })

    it('cannot connect to a listening loopback port', { timeout: 30_000 }, async ({ skip }) => {
      skip(!caps.netns, 'no network namespace on this machine: the sandbox cannot cut the network')
      requireLanguage(languages, 'python3')
      const source = [
        'import socket',
        'try:',
        `    socket.create_connection(("127.0.0.1", ${port}), timeout=2).close()`,
        '    print("connected")',
        'except OSError:',
        '    print("blocked")',
      ].join('\n')
      const output = await runJudge(judgeJob('python3', source, { tests: [{ input: '', expected: 'blocked\n' }] }), opts)
      expect(output.verdict, JSON.stringify(output)).toBe('AC')
      expect(connections).toBe(0)
    })
  })

  it('cannot write outside its own directory, and gets a fresh one for every test', { timeout: 30_000 }, async ({ skip }) => {
    requireLanguage(languages, 'python3')
    skip(!caps.dropUser && !caps.mountns, 'neither an unprivileged uid nor a read-only mount namespace is available')
    const tag = marker('escape-')
    // World-writable places only become read-only with the mount namespace; the test's own
    // directory (root's) is out of reach for the unprivileged uid as well.
    const targets = [join(TEST_DIR, tag)]
    if (caps.mountns) targets.push(join('/tmp', tag), join(tmpdir(), `${tag}-2`), join('/dev/shm', tag), join('/var/tmp', tag))
    const source = [
      'import os',
      `for target in ${JSON.stringify(targets)}:`,
      '    try:',
      '        with open(target, "w") as f:',
      '            f.write("escaped")',
      '        print("written")',
      '    except OSError:',
      '        print("blocked")',
      'print(len(os.listdir(".")))',
      'with open("scratch.txt", "w") as f:',
      '    f.write("fine")',
      'print("box-ok")',
    ].join('\n')
    const expected = `${targets.map(() => 'blocked').join('\n')}\n0\nbox-ok\n`
    try {
      const output = await runJudge(
        judgeJob('python3', source, { tests: [{ name: 'first', input: '', expected }, { name: 'second', input: '', expected }] }),
        opts,
      )
      expect(output.verdict, JSON.stringify(output)).toBe('AC')
      expect(output.tests).toHaveLength(2)
      for (const target of targets) expect(existsSync(target), target).toBe(false)
    } finally {
      for (const target of targets) rmSync(target, { force: true })
    }
  })

  it('runs unprivileged and cannot look into the job directory', { timeout: 30_000 }, async ({ skip }) => {
    skip(!caps.dropUser, 'the worker is not root: there is no uid to drop to')
    requireLanguage(languages, 'python3')
    const source = [
      'import os',
      'print("root" if os.getuid() == 0 else "unprivileged")',
      'try:',
      '    os.listdir("..")',
      '    print("listed")',
      'except OSError:',
      '    print("blocked")',
    ].join('\n')
    const output = await runJudge(judgeJob('python3', source, { tests: [{ input: '', expected: 'unprivileged\nblocked\n' }] }), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
  })

  it('stops a fork bomb (setsid children included) and leaves nothing behind', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('fb')
    const source = `
      #include <sys/prctl.h>
      #include <unistd.h>
      int main(void) {
        prctl(PR_SET_NAME, "${tag}");
        for (;;) if (fork() == 0) setsid();
      }`
    const started = Date.now()
    const output = await runJudge(judgeJob('c', source), opts)
    expect(['TLE', 'RE', 'MLE'], JSON.stringify(output)).toContain(output.verdict)
    expect(Date.now() - started).toBeLessThan(wallLimitFor(1000) + 8000)
    await expectNoProcesses(tag)
  })

  it('stops a program that prints forever (OLE) quickly', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const source = '#include <stdio.h>\nint main(void) { for (;;) fputs("all work and no play\\n", stdout); }'
    const started = Date.now()
    const output = await runJudge(judgeJob('c', source), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('OLE')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('kills a program that sleeps forever on the wall-clock limit (TLE)', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('sleeper-')
    const source = `#include <unistd.h>\nint main(void) { execl("/bin/sh", "sh", "-c", "sleep 1000; : ${tag}", (char *)0); return 1; }`
    const started = Date.now()
    const output = await runJudge(judgeJob('c', source, { timeLimitMs: 500 }), opts)
    const elapsed = Date.now() - started
    expect(output.verdict, JSON.stringify(output)).toBe('TLE')
    expect(output.tests[0]!.detail).toMatch(/wall/)
    expect(elapsed).toBeGreaterThanOrEqual(wallLimitFor(500) - 50)
    expect(elapsed).toBeLessThan(wallLimitFor(500) + 5000)
    await expectNoProcesses(tag)
  })

  it('kills what a program left running in the background (setsid daemon)', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'python3')
    const tag = marker('daemon-')
    const source = [
      'import os',
      'if os.fork() == 0:',
      '    os.setsid()',
      `    os.execv("/bin/sh", ["sh", "-c", "sleep 1000; : ${tag}"])`,
      'print("ok")',
    ].join('\n')
    const output = await runJudge(judgeJob('python3', source), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
    await expectNoProcesses(tag)
  })

  it('ends the test when the program exits: busy leftovers holding stdout are killed, not waited for', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('orphan')
    const source = `
      #include <stdio.h>
      #include <sys/prctl.h>
      #include <unistd.h>
      int main(void) {
        prctl(PR_SET_NAME, "${tag}");
        if (fork() == 0) for (;;) {}
        if (fork() == 0) { setsid(); for (;;) {} }
        puts("ok");
        return 0;
      }`
    const output = await runJudge(judgeJob('c', source, { tests: [{ name: 'a', input: '', expected: 'ok\n' }, { name: 'b', input: '', expected: 'ok\n' }] }), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
    // Each test ended long before the CPU limit: the spinners did not outlive their test.
    for (const test of output.tests) expect(test.timeMs, JSON.stringify(output)).toBeLessThan(1000)
    await expectNoProcesses(tag)
  })

  it('counts the CPU time of the whole process tree', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('tree')
    // Two spinning children and a parent that only waits: each process stays under the limit
    // for a while, the tree does not.
    const source = `
      #include <sys/prctl.h>
      #include <sys/wait.h>
      #include <unistd.h>
      int main(void) {
        prctl(PR_SET_NAME, "${tag}");
        for (int i = 0; i < 2; i++) if (fork() == 0) for (;;) {}
        while (wait(0) > 0) {}
        return 0;
      }`
    const output = await runJudge(judgeJob('c', source), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('TLE')
    if (caps.launcher === 'helper' && caps.pidns && caps.mountns) {
      // The helper sums the tree and stops it at the limit.
      expect(output.tests[0]!.detail).toBe('CPU time limit exceeded')
      expect(output.tests[0]!.timeMs).toBeGreaterThan(1000)
    }
    await expectNoProcesses(tag)
  })

  it('the program holds no descriptor but its stdin, stdout and stderr', { timeout: 30_000 }, async ({ skip }) => {
    skip(caps.launcher !== 'helper', 'the util-linux chain hands on whatever the worker process leaves inheritable (only the helper closes the rest)')
    requireLanguage(languages, 'python3')
    // os.listdir opens one descriptor of its own, the directory it lists.
    const source = 'import os\nfds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))\nprint(fds[:3], len(fds))'
    const output = await runJudge(judgeJob('python3', source, { tests: [{ input: '', expected: '[0, 1, 2] 4\n' }, { input: '', expected: '[0, 1, 2] 4\n' }] }), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
  })

  it('a job that ends early is not held up by the tests queued behind it', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('queued-')
    // Test 1 is answered wrong; the others would sleep far past the CPU limit (a wall-clock TLE
    // each, 13 s) if anything waited for them.
    const source = `#include <stdio.h>\n#include <unistd.h>\nint main(void) { int n = 0; if (scanf("%d", &n) == 1 && n == 1) { puts("wrong"); return 0; } execl("/bin/sh", "sh", "-c", "sleep 1000; : ${tag}", (char *)0); return 1; }`
    const tests = [1, 2, 3, 4, 5].map((n) => ({ name: String(n), input: `${n}\n`, expected: 'ok\n' }))
    const started = Date.now()
    const output = await runJudge(judgeJob('c', source, { tests }), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('WA')
    expect(output.tests).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(8000)
    await expectNoProcesses(tag)
  })

  it('a box too deep to delete is still out of reach of the next test', { timeout: 60_000 }, async ({ skip }) => {
    // Known limit: a launcher process per run leaves the box to the worker's rm, which fails on
    // a tree deeper than PATH_MAX (the job then fails and its directory stays).
    skip(!servable(caps), 'only the pooled launcher deletes boxes itself')
    requireLanguage(languages, 'c')
    // Test 1 nests directories past PATH_MAX (no path names the bottom, so no plain walk deletes
    // it); test 2 looks for it beside its own box.
    const source = `
      #include <stdio.h>
      #include <string.h>
      #include <sys/stat.h>
      #include <unistd.h>
      int main(void) {
        int n = 0;
        if (scanf("%d", &n) != 1) return 1;
        if (n == 1) {
          for (int i = 0; i < 2100; i++) if (mkdir("d", 0700) || chdir("d")) return 2;
          FILE *f = fopen("secret", "w");
          if (f) { fputs("left", f); fclose(f); }
          puts("ok");
          return 0;
        }
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return 3;
        char *dash = strrchr(cwd, '-');
        int me = dash ? atoi(dash + 1) : 0;
        int found = 0;
        for (int k = 0; k < me; k++) {
          char path[4200];
          snprintf(path, sizeof path, "%.*s-%d/d", (int)(dash - cwd), cwd, k);
          if (access(path, F_OK) == 0) found = 1;
        }
        puts(found ? "leak" : "ok");
        return 0;
      }`.replace('#include <unistd.h>', '#include <unistd.h>\n#include <stdlib.h>')
    const tests = [1, 2].map((n) => ({ name: String(n), input: `${n}\n`, expected: 'ok\n' }))
    const output = await runJudge(judgeJob('c', source, { tests }), opts)
    expect(output.verdict, JSON.stringify(output)).toBe('AC')
  })

  it('nothing a test leaves (a file, a process, IPC objects of every kind, a mount) reaches the next test or the next job', { timeout: 60_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('left')
    const key = 0x5e000000 + Math.floor(Math.random() * 0xffffff)
    // Each test first looks for what the one before it left, then leaves the same again.
    const source = `
      #define _GNU_SOURCE
      #include <dirent.h>
      #include <stdio.h>
      #include <string.h>
      #include <unistd.h>
      #include <fcntl.h>
      #include <mqueue.h>
      #include <sys/ipc.h>
      #include <sys/mount.h>
      #include <sys/msg.h>
      #include <sys/prctl.h>
      #include <sys/sem.h>
      #include <sys/shm.h>
      #include <sys/syscall.h>
      int main(void) {
        int clean = 1;
        if (access("left.txt", F_OK) == 0) { puts("file-left"); clean = 0; }
        DIR *proc = opendir("/proc");
        for (struct dirent *e; proc && (e = readdir(proc));) {
          char path[300], comm[64];
          snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
          FILE *f = fopen(path, "r");
          if (!f) continue;
          if (fgets(comm, sizeof comm, f) && !strncmp(comm, "${tag}", ${tag.length})) { puts("process-left"); clean = 0; }
          fclose(f);
        }
        if (shmget(${key}, 0, 0) >= 0) { puts("shm-left"); clean = 0; }
        if (semget(${key}, 0, 0) >= 0) { puts("sem-left"); clean = 0; }
        if (msgget(${key}, 0) >= 0) { puts("msg-left"); clean = 0; }
        /* The system call itself: no -lrt on older C libraries. */
        if (syscall(SYS_mq_open, "${tag}", O_RDONLY, 0, NULL) >= 0) { puts("mqueue-left"); clean = 0; }
        if (clean) puts("clean");
        FILE *f = fopen("left.txt", "w");
        if (f) { fputs("left", f); fclose(f); }
        struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 16 };
        if (shmget(${key}, 4096, IPC_CREAT | 0666) < 0 || semget(${key}, 1, IPC_CREAT | 0666) < 0 || msgget(${key}, IPC_CREAT | 0666) < 0
            || syscall(SYS_mq_open, "${tag}", O_CREAT | O_RDWR, 0666, &attr) < 0) puts("ipc-refused");
        puts(mount("none", ".", "tmpfs", 0, NULL) == 0 ? "mounted" : "mount-blocked");
        fflush(stdout);
        if (fork() == 0) {
          setsid();
          if (fork() == 0) { prctl(PR_SET_NAME, "${tag}"); for (;;) pause(); }
          _exit(0);
        }
        return 0;
      }`
    const tests = ['1', '2', '3'].map((name) => ({ name, input: '', expected: 'clean\nmount-blocked\n' }))
    for (const job of ['first job', 'next job']) {
      const output = await runJudge(judgeJob('c', source, { tests }), opts)
      expect(output.verdict, `${job}: ${JSON.stringify(output)}`).toBe('AC')
      expect(output.tests, job).toHaveLength(3)
      await expectNoProcesses(tag)
    }
  })

  it('on abort, kills the program and rejects with an AbortError', { timeout: 30_000 }, async () => {
    requireLanguage(languages, 'c')
    const tag = marker('aborted-')
    const source = `#include <unistd.h>\nint main(void) { execl("/bin/sh", "sh", "-c", "sleep 1000; : ${tag}", (char *)0); return 1; }`
    const controller = new AbortController()
    const started = Date.now()
    const judged = runJudge(judgeJob('c', source, { timeLimitMs: 5000 }), {
      ...opts,
      signal: controller.signal,
      onTest: () => undefined,
    })
    setTimeout(() => controller.abort(), 600)
    await expect(judged).rejects.toMatchObject({ name: 'AbortError' })
    expect(Date.now() - started).toBeLessThan(5000)
    await expectNoProcesses(tag)
  })
})
