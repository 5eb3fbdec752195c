import { describe, expect, it } from 'vitest'
import { requireBinary } from '../helpers/binaries.js'
import { runFailoverChaos } from './failover-chaos.js'
import { testSeeds } from './seeds.js'

// One seed of the list in `npm test` (each run starts Postgres, Mosquitto and 5 processes).
const seed = testSeeds()[0]!

/**
 * docs/protocol.md §7a under fire: two masters on one Postgres behind a real Mosquitto; the
 * active one is killed -9 twice (and restarted, to stand by for the next kill) while workers are
 * killed and their links cut. Counted from plain mqtt.js submitters that never lose their own
 * connection, so they never resubmit: every job must end with exactly one result, or be rejected
 * with a code; a submit sent while no master was active included.
 */
describe('chaos: standby masters behind Mosquitto', () => {
  it(`1,500 jobs through two kill -9 of the active master, worker kills and cut links: 0 lost, 0 duplicated (seed ${seed})`, async () => {
    const replay = `CHAOS_SEED=${seed} npx vitest run test/chaos/failover-chaos.test.ts`
    console.log(`failover chaos: seed ${seed}; replay with ${replay}`)
    const report = await runFailoverChaos({ jobs: 1500, durationS: 30, seed, workers: 3, submitters: 2, masterKills: 2, mosquittoBinary: requireBinary('mosquitto'), log: (line) => console.log(line) })
    const { diagnostics, ...summary } = report
    console.log(`failover chaos report (seed ${seed}; replay with ${replay}):`, JSON.stringify(summary))
    if (diagnostics) console.log(diagnostics)
    expect(report.error).toBeUndefined()
    expect(report.actions['kill-master']).toBe(2)
    expect(report.actions['restart-master']).toBe(2)
    expect(report.actions['kill-worker'] ?? 0).toBeGreaterThan(0)
    // Two masters: the second kill's successor can only be the master restarted after the first.
    expect(report.takeovers.map((t) => t.byRestarted)).toEqual([false, true])
    // Two kills, two takeovers: no master stepped down by itself under the load.
    expect(report.terms).toEqual([1, 2, 3])
    // The submitters never resubmitted: every result they got is one the masters sent.
    expect(report.submitterConnects).toEqual([1, 1])
    expect(report.submittedDuringFailover).toBeGreaterThan(0)
    expect(report.answeredDuringFailover).toBe(report.submittedDuringFailover)
    expect(report.problems).toEqual([])
    expect(report.lost).toBe(0)
    expect(report.duplicated).toBe(0)
    expect(report.submitted).toBe(1500)
    // Lost links and dead masters cost no attempt; worker kills are charged, but no job here meets 10.
    expect(report.states.failed ?? 0).toBe(0)
    expect(report.codes).toEqual({})
  }, 180_000)
})
