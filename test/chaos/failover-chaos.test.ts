import { describe, expect, it } from 'vitest'
import { runFailoverChaos } from './failover-chaos.js'
import { testSeeds } from './seeds.js'

describe('chaos with standby masters: never lose a job, never report one twice (docs/protocol.md §7a, §10)', () => {
  it.each(testSeeds().slice(0, 1))('1,500 jobs through two kills of the active master, worker kills and cut and stalled links, behind Mosquitto (seed %i)', async (seed) => {
    const report = await runFailoverChaos({ jobs: 1500, durationS: 30, seed, workers: 3, masterKills: 2, log: (line) => console.log(line) })
    console.log(`failover chaos report (seed ${seed}):`, JSON.stringify(report))
    expect(report.actions['kill-master']).toBe(2)
    expect(report.actions['kill-worker'] ?? 0).toBeGreaterThan(0)
    // Two kills, two takeovers: nobody stepped down by itself.
    expect(report.terms).toEqual([1, 2, 3])
    expect(report.problems).toEqual([])
    expect(report.lost).toBe(0)
    expect(report.duplicated).toBe(0)
    expect(report.rejected).toEqual({})
    expect(report.failed).toBe(0)
  }, 240_000)
})
