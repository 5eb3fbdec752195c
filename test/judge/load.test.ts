/**
 * Verdicts must not depend on load (docs/judge.md, "Time, wall clock and memory"): every example
 * solution, judged 20 at a time by two real worker processes of 2 slots each (4 sandboxes on a
 * 2-core machine), gets the verdict its file name promises, the very one examples.test.ts checks
 * when the same files are judged one at a time. The jobs go in through a plain mqtt.js client
 * that speaks only docs/protocol.md. The workers run from dist/ (`npm test` builds first).
 *
 * (Whether TLE came from the CPU or the wall clock is not compared: a CPU-bound run starved
 * below 1/13 of a core would reach the wall-clock limit first, and still be TLE.)
 */
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { detectLanguages, languageFromFile, loadProblem } from '../../src/judge/index.js'
import { requireLanguage } from '../helpers/binaries.js'
import { TestCluster } from '../helpers/cluster.js'
import { PlainSubmitter } from '../helpers/plain-submitter.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor, withTimeout } from '../helpers/wait.js'
import { expectedVerdict } from './judge-helpers.js'

const PROBLEMS = fileURLToPath(new URL('../../examples/problems/', import.meta.url))
const IN_FLIGHT = 20
const WORKERS = 2
const SLOTS = 2
/** Generous: the batch is about a minute of CPU on 2 cores, shared with whatever else runs. */
const BATCH_TIMEOUT_MS = 420_000
/** One job at most: a 60 s attempt (the default timeoutMs), and more. */
const NEXT_VERDICT_TIMEOUT_MS = 120_000

const available = await detectLanguages()
const solutions = readdirSync(PROBLEMS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((problem) => readdirSync(join(PROBLEMS, problem.name, 'solutions')).map((file) => ({ problem: problem.name, file })))
  .sort((a, b) => `${a.problem}/${a.file}`.localeCompare(`${b.problem}/${b.file}`))

interface TestView {
  name: string
  verdict: string
  timeMs: number
  memoryKb: number
  detail?: string
}

let cluster: TestCluster
const workers: CliProcess[] = []

beforeAll(async () => {
  // Every toolchain the examples use must be here: a verdict that is never judged proves nothing.
  for (const language of new Set(solutions.map(({ file }) => languageFromFile(file)!))) requireLanguage(available, language)
  cluster = await TestCluster.start()
  for (let i = 0; i < WORKERS; i++) {
    const id = `load-${i}`
    const worker = spawnCli(['worker', '--url', cluster.url, '--namespace', cluster.namespace, '--id', id, '--slots', String(SLOTS), '--log-level', 'silent'])
    workers.push(worker)
    await waitFor(() => worker.output().includes('online'), { timeoutMs: 30_000, what: `worker ${id} online; output: ${worker.output()}` })
  }
  const client = await cluster.client()
  await waitFor(async () => (await client.listNodes()).filter((node) => node.state === 'online').length === WORKERS, {
    timeoutMs: 10_000,
    what: 'both workers known to the master',
  })
}, 60_000)

afterAll(async () => {
  for (const worker of workers) worker.kill()
  await Promise.all(workers.map((worker) => withTimeout(worker.exited, 10_000, 'worker exit')))
  await cluster?.close()
})

it(`judges every example solution ${IN_FLIGHT} at a time on ${WORKERS}×${SLOTS} slots with its one-at-a-time verdict`, { timeout: BATCH_TIMEOUT_MS }, async () => {
  expect(solutions.length).toBeGreaterThan(IN_FLIGHT)
  const jobs = await Promise.all(
    solutions.map(async ({ problem, file }) => {
      const dir = join(PROBLEMS, problem)
      const loaded = await loadProblem(dir)
      return {
        id: `load-${problem}-${file}`, kind: 'judge',
        language: languageFromFile(file)!,
        source: await readFile(join(dir, 'solutions', file), 'utf8'),
        tests: loaded.tests, timeLimitMs: loaded.timeLimitMs, memoryLimitMb: loaded.memoryLimitMb, checker: loaded.checker,
      }
    }),
  )

  const submitter = await PlainSubmitter.connect(cluster.url, cluster.namespace, 'load')
  const finished = (id: string) => submitter.resultOf(id) ?? submitter.repliesOf(id).find((reply) => reply.type === 'rejected')
  const got = new Map<string, string>()
  try {
    // IN_FLIGHT at a time: as one ends, the next goes in, until the list runs out.
    let next = 0
    while (got.size < jobs.length) {
      const inFlight = jobs.slice(0, next).filter((job) => !got.has(job.id)).length
      if (next < jobs.length && inFlight < IN_FLIGHT) {
        submitter.submit(jobs[next++]!)
        continue
      }
      await waitFor(() => jobs.slice(0, next).find((job) => !got.has(job.id) && finished(job.id)), {
        timeoutMs: NEXT_VERDICT_TIMEOUT_MS,
        intervalMs: 100,
        what: 'the next verdict',
      }).catch((error: Error) => {
        throw new Error(`${error.message}; have ${got.size} of ${jobs.length}: ${[...got].join(' | ')}`)
      })
      for (const job of jobs.slice(0, next)) {
        const reply = finished(job.id) as { output?: { verdict: string; tests: TestView[] } } | undefined
        if (!reply || got.has(job.id)) continue
        const tests = reply.output?.tests.map((t) => `${t.name}:${t.verdict}/${t.timeMs}ms/${t.memoryKb}KB${t.detail ? ` (${t.detail})` : ''}`)
        got.set(job.id, reply.output ? `${reply.output.verdict} [${tests!.join(', ')}]` : JSON.stringify(reply))
      }
    }
  } finally {
    await submitter.close()
  }

  const key = ({ problem, file }: { problem: string; file: string }) => `${problem}/${file}`
  const verdicts = Object.fromEntries(solutions.map((s, i) => [key(s), got.get(jobs[i]!.id)!.split(' ')[0]]))
  const expected = Object.fromEntries(solutions.map((s) => [key(s), expectedVerdict(s.file)]))
  const details = solutions.map((s, i) => `${key(s)}: ${got.get(jobs[i]!.id)}`).join('\n')
  expect(verdicts, details).toEqual(expected)
})
