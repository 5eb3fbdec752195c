/**
 * Which seeds a chaos run uses. `npm test` runs a fixed list, so a failure there is a failure of
 * a known seed that anyone can replay; `npm run chaos` draws a new one each time, to keep finding
 * new schedules. A seed fixes the schedule of faults (which worker, which link, when), not the
 * machine's timing, so a replay repeats the faults and usually the failure.
 */

/** The seeds of `npm test`. Add the seed of a failure found by `npm run chaos` once it is fixed. */
export const TEST_SEEDS = [20261130, 1883] as const

/** CHAOS_SEED=N runs that one seed instead of the list (the replay of a failure). */
export function testSeeds(env: NodeJS.ProcessEnv = process.env): number[] {
  const given = env.CHAOS_SEED
  if (given === undefined || given === '') return [...TEST_SEEDS]
  const seed = Number(given)
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`CHAOS_SEED=${given}: must be an integer of 0 or more`)
  return [seed]
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}
