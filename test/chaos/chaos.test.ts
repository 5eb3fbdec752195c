import { describe, expect, it } from 'vitest'
import { runChaos } from './chaos.js'
import { testSeeds } from './seeds.js'

describe('chaos: never lose a job, never report one twice (docs/protocol.md §10)', () => {
  // Replay one seed: CHAOS_SEED=N npx vitest run test/chaos/chaos.test.ts, or the same run outside
  // vitest: npm run chaos -- --seed N --jobs 2000 --duration 40.
  it.each(testSeeds())('2,000 jobs through worker kills, cut and stalled links and a broker-master kill -9 (seed %i)', async (seed) => {
    console.log(`chaos: seed ${seed}; replay with CHAOS_SEED=${seed} npx vitest run test/chaos/chaos.test.ts or npm run chaos -- --seed ${seed} --jobs 2000 --duration 40`)
    const report = await runChaos({ jobs: 2000, durationS: 40, seed, workers: 3, submitters: 2, killBroker: true, log: (line) => console.log(line) })
    console.log(`chaos report (seed ${seed}):`, JSON.stringify(report))
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
