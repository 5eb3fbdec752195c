import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { VERDICTS, type JudgeJobSpec, type JudgeLanguage, type Verdict } from '../../src/protocol/index.js'

export function marker(prefix = 'edgr'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`
}

export function judgeJob(
  language: JudgeLanguage,
  source: string,
  options: Partial<Pick<JudgeJobSpec, 'tests' | 'timeLimitMs' | 'memoryLimitMb' | 'checker'>> = {},
): JudgeJobSpec {
  return {
    kind: 'judge', id: 'judge-test', priority: 0, timeoutMs: 60_000, maxAttempts: 1, requires: { labels: [] }, wait: true,
    language, source,
    tests: options.tests ?? [{ input: '', expected: 'ok\n' }],
    timeLimitMs: options.timeLimitMs ?? 1000,
    memoryLimitMb: options.memoryLimitMb ?? 64,
    checker: options.checker ?? 'tokens',
  }
}

/** Processes whose command line or name (comm) contains `text`, read straight from /proc. */
export async function processesMatching(text: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const [cmdline, comm] = await Promise.all([
        readFile(`/proc/${entry}/cmdline`, 'utf8'),
        readFile(`/proc/${entry}/comm`, 'utf8'),
      ])
      const line = cmdline.replaceAll('\0', ' ')
      if (line.includes(text) || comm.includes(text)) found.push(`${entry}: ${comm.trim()} ${line}`)
    } catch {
      // exited while we looked
    }
  }
  return found
}

/** Leftovers may take a moment to be reaped after a SIGKILL: look a few times, briefly. */
export async function expectNoProcesses(text: string): Promise<void> {
  let left: string[] = []
  for (let i = 0; i < 20; i++) {
    left = await processesMatching(text)
    if (left.length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`processes left behind: ${left.join(' | ')}`)
}

/** `wa.cpp` expects WA, `ac.py` AC, `ac.orphans.c` AC: the verdict is the file name up to its first dot. */
export function expectedVerdict(file: string): Verdict {
  const verdict = file.split('.')[0]!.toUpperCase()
  if (!(VERDICTS as readonly string[]).includes(verdict)) throw new Error(`${file}: name does not start with a verdict`)
  return verdict as Verdict
}
