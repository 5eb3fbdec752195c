/**
 * Verdicts must not depend on load (docs/judge.md, "Time, wall clock and memory"): every example
 * solution, judged 20 at a time by two real worker processes of 2 slots each (4 sandboxes on a
 * 2-core machine), gets the verdict its file name promises, the very one examples.test.ts checks
 * when the same files are judged one at a time. The jobs go in through a plain mqtt.js client
 * that speaks only docs/protocol.md. The workers run from dist/ (`npm test` builds first).
 */
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { detectLanguages, languageFromFile, loadProblem } from '../../src/judge/index.js'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor, withTimeout } from '../helpers/wait.js'
import { expectedVerdict } from './judge-helpers.js'

const PROBLEMS = fileURLToPath(new URL('../../examples/problems/', import.meta.url))
const IN_FLIGHT = 20
const WORKERS = 2
const SLOTS = 2
/** Generous: the batch is about a minute of CPU on 2 cores, shared with whatever else runs. */
const BATCH_TIMEOUT_MS = 420_000

const available = await detectLanguages()
const solutions = readdirSync(PROBLEMS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((problem) => readdirSync(join(PROBLEMS, problem.name, 'solutions')).map((file) => ({ problem: problem.name, file })))
  .filter(({ file }) => available.includes(languageFromFile(file)!))
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

it(`judges every example solution ${IN_FLIGHT} at a time on ${WORKERS}×${SLOTS} slots with its one-at-a-time verdict`, { timeout: BATCH_TIMEOUT_MS + 30_000 }, async () => {
  expect(solutions.length).toBeGreaterThan(IN_FLIGHT)
  const ns = cluster.namespace
  const replyTo = topics.reply(ns, 'load')
  const submits = await Promise.all(
    solutions.map(async ({ problem, file }) => {
      const dir = join(PROBLEMS, problem)
      const loaded = await loadProblem(dir)
      return {
        v: 1, type: 'submit', id: `load-${problem}-${file}`, kind: 'judge', progress: false, replyTo,
        language: languageFromFile(file)!,
        source: await readFile(join(dir, 'solutions', file), 'utf8'),
        tests: loaded.tests, timeLimitMs: loaded.timeLimitMs, memoryLimitMb: loaded.memoryLimitMb, checker: loaded.checker,
      }
    }),
  )

  const raw = await mqtt.connectAsync(cluster.url, { reconnectPeriod: 0 })
  const got = new Map<string, string>()
  try {
    await raw.subscribeAsync(replyTo, { qos: 1 })
    let next = 0
    const sendNext = () => {
      const submit = submits[next++]
      if (submit) void raw.publishAsync(topics.submit(ns), JSON.stringify(submit), { qos: 1 })
    }
    raw.on('message', (_topic, payload) => {
      const reply = JSON.parse(payload.toString()) as { type: string; jobId: string; output?: { verdict: string; tests: TestView[] } }
      if ((reply.type !== 'result' && reply.type !== 'rejected') || got.has(reply.jobId)) return
      const tests = reply.output?.tests.map((t) => `${t.name}:${t.verdict}/${t.timeMs}ms/${t.memoryKb}KB${t.detail ? ` (${t.detail})` : ''}`)
      got.set(reply.jobId, reply.output ? `${reply.output.verdict} [${tests!.join(', ')}]` : JSON.stringify(reply))
      sendNext() // one ended, the next goes in: IN_FLIGHT at a time until the list runs out
    })
    for (let i = 0; i < IN_FLIGHT; i++) sendNext()
    await waitFor(() => got.size === submits.length, { timeoutMs: BATCH_TIMEOUT_MS, intervalMs: 200, what: 'every verdict' }).catch((error: Error) => {
      throw new Error(`${error.message}; have ${got.size} of ${submits.length}: ${[...got].join(' | ')}`)
    })
  } finally {
    await raw.endAsync()
  }

  const key = ({ problem, file }: { problem: string; file: string }) => `${problem}/${file}`
  const verdicts = Object.fromEntries(solutions.map((s, i) => [key(s), got.get(submits[i]!.id)!.split(' ')[0]]))
  const expected = Object.fromEntries(solutions.map((s) => [key(s), expectedVerdict(s.file)]))
  const details = solutions.map((s, i) => `${key(s)}: ${got.get(submits[i]!.id)}`).join('\n')
  expect(verdicts, details).toEqual(expected)
})
