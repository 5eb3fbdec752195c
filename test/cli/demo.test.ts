import { describe, expect, it } from 'vitest'
import { ROOT, spawnCli } from '../helpers/processes.js'

describe('edgerun demo', () => {
  it('starts a local cluster, judges every example and gets each promised verdict', async () => {
    const demo = spawnCli(['demo', '--json', '--log-level', 'silent'])
    const code = await Promise.race([demo.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 110_000))])
    if (code === 'timeout') demo.kill()
    const output = demo.output()
    const report = JSON.parse(output.slice(output.indexOf('{')))
    expect(report.mismatches, JSON.stringify(report.rows.filter((r: { verdict: string; expected: string }) => r.verdict !== r.expected))).toBe(0)
    expect(report.rows.length).toBeGreaterThanOrEqual(21)
    expect(new Set(report.rows.map((r: { verdict: string }) => r.verdict))).toEqual(new Set(['AC', 'WA', 'TLE', 'MLE', 'RE', 'CE', 'OLE']))
    expect(code).toBe(0)
  }, 120_000)
})

describe('edgerun demo --keep', () => {
  it('keeps its cluster up after the batch and serves the dashboard URL it reports', async () => {
    const { cpSync, mkdtempSync, mkdirSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { runDemo } = await import('../../cli/demo.js')
    const EXAMPLES_DIR = join(ROOT, 'examples', 'problems')
    // One problem, one solution: the batch is not what this checks.
    const dir = mkdtempSync(join(tmpdir(), 'edgerun-demo-keep-'))
    try {
      mkdirSync(join(dir, 'aplusb', 'solutions'), { recursive: true })
      for (const part of ['problem.json', 'tests']) cpSync(join(EXAMPLES_DIR, 'aplusb', part), join(dir, 'aplusb', part), { recursive: true })
      cpSync(join(EXAMPLES_DIR, 'aplusb', 'solutions', 'ac.py'), join(dir, 'aplusb', 'solutions', 'ac.py'))
      const report = await runDemo({ workers: 1, examplesDir: dir, tty: false, write: () => {}, keep: true })
      try {
        expect(report.rows.map((row) => row.verdict)).toEqual(['AC'])
        expect(report.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
        const health = await fetch(`${report.dashboardUrl}healthz`, { signal: AbortSignal.timeout(5000) })
        expect(health.status).toBe(200)
        const metrics = await (await fetch(`${report.dashboardUrl}metrics`, { signal: AbortSignal.timeout(5000) })).text()
        expect(metrics).toContain('edgerun_jobs_finished_total{kind="judge",state="succeeded"} 1')
      } finally {
        await report.close!()
      }
      await expect(fetch(`${report.dashboardUrl}healthz`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
