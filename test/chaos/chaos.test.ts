import { describe, expect, it } from 'vitest'
import { runChaos } from './chaos.js'

const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31)

describe('chaos: never lose a job, never report one twice (docs/protocol.md §10)', () => {
  it(`2,000 jobs through worker kills, cut and stalled links and a broker-master kill -9 (seed ${seed})`, async () => {
    const report = await runChaos({ jobs: 2000, durationS: 40, seed, workers: 3, submitters: 2, killBroker: true, log: (line) => console.log(line) })
    console.log(`chaos report (replay with CHAOS_SEED=${seed}):`, JSON.stringify(report))
    expect(report.actions['kill-worker'] ?? 0).toBeGreaterThan(0)
    expect(report.actions['kill-broker']).toBe(1)
    expect(report.problems).toEqual([])
    expect(report.lost).toBe(0)
    expect(report.duplicated).toBe(0)
    expect(report.settled).toBe(2000)
    // Cut and stalled links cost attempts, never the job (docs/protocol.md §10); a worker kill -9
    // is charged, but no job here meets 10 of them.
    expect(report.states.failed ?? 0).toBe(0)
    expect(report.codes).toEqual({})
  }, 240_000)
})
