import { describe, expect, it } from 'vitest'
import { spawnCli } from '../helpers/processes.js'

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
