/**
 * The judge's yardstick: a few lines of C that fork, exec and wait the same program the judge
 * runs, with no sandbox, feeding it the test input from a file and reading its output through
 * a pipe (the round trip any judge makes). Two run side by side, like the worker's two slots.
 * What it manages per second is the most a judge could do on this machine for this program.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

const LAUNCHER_SOURCE = String.raw`
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  char buf[4096];
  for (int i = 0; i < n; i++) {
    int out[2];
    if (pipe(out)) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      int in = open(argv[2], O_RDONLY);
      dup2(in, 0);
      dup2(out[1], 1);
      close(out[0]);
      execv(argv[3], argv + 3);
      _exit(127);
    }
    close(out[1]);
    while (read(out[0], buf, sizeof buf) > 0) {}
    close(out[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
  }
  return 0;
}
`

export interface BareLauncher {
  /** The compiled launcher: LAUNCHER RUNS INPUT PROGRAM ARGS… (bench/judge-cpu.ts times it alone). */
  launcherPath: string
  /** Runs of `argv`, `parallel` launchers side by side, `runs` in all: runs per second. */
  rate(argv: string[], runs: number, parallel?: number): Promise<number>
  /** Compiles a C source the way the judge does (gcc -O2 -std=c17), returns the binary. */
  compileC(source: string): string
  writeFile(name: string, text: string): string
  close(): void
}

export function bareLauncher(input: string): BareLauncher {
  const dir = mkdtempSync(join(tmpdir(), 'edgerun-bench-bare-'))
  const launcher = join(dir, 'launcher')
  writeFileSync(join(dir, 'launcher.c'), LAUNCHER_SOURCE)
  const built = spawnSync('gcc', ['-O2', '-o', launcher, join(dir, 'launcher.c')], { encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`bare launcher: gcc failed: ${built.stderr}`)
  const inputPath = join(dir, 'input')
  writeFileSync(inputPath, input)
  return {
    launcherPath: launcher,
    async rate(argv, runs, parallel = 2) {
      const each = Math.ceil(runs / parallel)
      const started = performance.now()
      await Promise.all(Array.from({ length: parallel }, () => execFileAsync(launcher, [String(each), inputPath, ...argv])))
      return ((each * parallel) / (performance.now() - started)) * 1000
    },
    compileC(source) {
      const file = join(dir, 'main.c')
      writeFileSync(file, source)
      const binary = join(dir, 'main')
      const result = spawnSync('gcc', ['-O2', '-std=c17', '-pipe', '-o', binary, file, '-lm'], { encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`bare launcher: gcc failed on the solution: ${result.stderr}`)
      return binary
    },
    writeFile(name, text) {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    },
    close() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
