import { readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EdgerunClient } from '../src/client/client.js'
import { table } from './format.js'
import { buildJudgeSpecs, runJudgeBatch, type BatchRow } from './judge-batch.js'
import { startLocalCluster } from '../broker/local-cluster.js'
import type { Logger } from '../src/logging/logger.js'

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/problems/', import.meta.url))

export interface DemoRow extends BatchRow {
  problem: string
  expected: string
}

export interface DemoReport {
  url: string
  /** The dashboard, with `keep`: the cluster stays up until `close` is called. */
  dashboardUrl?: string
  workers: number
  rows: DemoRow[]
  mismatches: number
  table: string
  elapsedMs: number
  /** With `keep`: stops the cluster. */
  close?: () => Promise<void>
}

/**
 * `edgerun demo`: what the pyzmq demo did, end to end. A broker-master and three workers on a
 * free port, the example problems judged as one batch, and a table of the verdicts, each checked
 * against the one its file name promises (ac.cpp → AC).
 */
export async function runDemo(options: { workers?: number; examplesDir?: string; tty: boolean; write: (line: string) => void; logger?: Logger; keep?: boolean }): Promise<DemoReport> {
  const started = Date.now()
  const examplesDir = options.examplesDir ?? EXAMPLES_DIR
  const cluster = await startLocalCluster(
    // Kept up, it serves the dashboard on a free port, like its MQTT listener.
    { broker: { port: 0, store: 'memory', master: { namespace: 'demo' }, ...(options.keep ? { http: { port: 0 } } : {}) }, workers: options.workers ?? 3, worker: { slots: 2 } },
    options.logger,
  )
  let kept = false
  try {
    options.write(`broker-master on ${cluster.broker.url}${cluster.broker.http ? `, dashboard on ${cluster.broker.http.url}` : ''}, workers ${cluster.workers.map((w) => w.id).join(', ')}`)
    const problems = readdirSync(examplesDir)
      .filter((name) => statSync(join(examplesDir, name)).isDirectory())
      .sort()
    const submissions: Array<Awaited<ReturnType<typeof buildJudgeSpecs>>[number] & { problem: string }> = []
    for (const problem of problems) {
      const specs = await buildJudgeSpecs([join(examplesDir, problem, 'solutions', '*')], join(examplesDir, problem), undefined, {})
      submissions.push(...specs.map((spec) => ({ ...spec, problem })))
    }
    options.write(`judging ${submissions.length} solutions of ${problems.length} problems…`)
    const client = await EdgerunClient.connect({ url: cluster.broker.url, namespace: 'demo' })
    try {
      const report = await runJudgeBatch(client, submissions, { tty: options.tty, write: options.write })
      const rows: DemoRow[] = report.results.map((row, i) => ({
        ...row,
        problem: submissions[i]!.problem,
        expected: basename(row.file).split('.')[0]!.toUpperCase(),
      }))
      const mismatches = rows.filter((row) => row.verdict !== row.expected).length
      const rendered = table(
        ['PROBLEM', 'FILE', 'LANGUAGE', 'VERDICT', 'EXPECTED', 'TIME'],
        rows.map((row) => [row.problem, basename(row.file), row.language, row.verdict ?? row.state, row.verdict === row.expected ? 'ok' : `want ${row.expected}`, row.timeMs === null ? null : `${row.timeMs} ms`]),
      )
      const demo: DemoReport = { url: cluster.broker.url, workers: cluster.workers.length, rows, mismatches, table: rendered, elapsedMs: Date.now() - started }
      if (!options.keep) return demo
      kept = true
      return { ...demo, ...(cluster.broker.http ? { dashboardUrl: `${cluster.broker.http.url}/` } : {}), close: () => cluster.close() }
    } finally {
      await client.close()
    }
  } finally {
    if (!kept) await cluster.close()
  }
}
