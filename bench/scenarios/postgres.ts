import { startPostgres } from '../../test/helpers/postgres.js'
import { median, round } from '../lib/stats.js'
import { drivenScale, type ScaleRun } from './scale.js'
import { measureEdgerun, type LoadSizes, type SystemFigures } from './throughput.js'

export interface PostgresFigures {
  /** Noop jobs/s through one broker-master and one worker, median of the rounds; the stores take turns. */
  sqliteJobsPerSec: number
  postgresJobsPerSec: number
  jobsPerSecRatio: number
  sqliteRounds: SystemFigures[]
  postgresRounds: SystemFigures[]
  /** Dispatch with 1 k and with `queuedLarge` jobs queued in Postgres, run side by side round by round. */
  dispatchPerSec1k: number
  dispatchPerSecLarge: number
  dispatchRatioLargeTo1k: number
  queuedLarge: number
  /** Seeding `queuedLarge` rows into Postgres, and the master's start on them (loading its queue). */
  seedMsLarge: number
  loadMsLarge: number
  rssMbLarge: number
  roundsPerSec1k: number[]
  roundsPerSecLarge: number[]
}

/**
 * The Postgres store against the SQLite store in the same run (docs/storage.md, "Postgres"):
 * jobs/s through the whole system, and dispatch with a deep queue in Postgres. Starts its own
 * PostgreSQL (test/helpers/postgres.ts), fsync and synchronous_commit on, as shipped.
 */
export async function measurePostgres(sizes: LoadSizes, options: { large: number; repeats: number; log: (line: string) => void }): Promise<PostgresFigures> {
  const server = await startPostgres()
  try {
    const sqliteRounds: SystemFigures[] = []
    const postgresRounds: SystemFigures[] = []
    for (let r = 1; r <= options.repeats; r++) {
      options.log(`  round ${r}/${options.repeats}: SQLite store…`)
      sqliteRounds.push(await measureEdgerun(sizes))
      options.log(`    ${JSON.stringify(sqliteRounds.at(-1))}`)
      options.log(`  round ${r}/${options.repeats}: Postgres store…`)
      postgresRounds.push(await measureEdgerun(sizes, { postgresUrl: await server.createDatabase('bench') }))
      options.log(`    ${JSON.stringify(postgresRounds.at(-1))}`)
    }
    const sqliteJobsPerSec = median(sqliteRounds.map((f) => f.jobsPerSec))
    const postgresJobsPerSec = median(postgresRounds.map((f) => f.jobsPerSec))

    options.log(`  dispatch: 1k and ${options.large} queued in Postgres (seeding takes a while)…`)
    const roles = [
      drivenScale({ queued: 1000, batch: 1000, postgresUrl: await server.createDatabase('bench') }),
      drivenScale({ queued: options.large, batch: 1000, postgresUrl: await server.createDatabase('bench') }),
    ]
    await Promise.all(roles.map((role) => role.ready))
    for (let r = 0; r < 25; r++) for (let i = 0; i < roles.length; i++) await roles[(r + i) % roles.length]!.round()
    const [small, big] = (await Promise.all(roles.map((role) => role.end()))) as [ScaleRun, ScaleRun]
    return {
      sqliteJobsPerSec: round(sqliteJobsPerSec, 0),
      postgresJobsPerSec: round(postgresJobsPerSec, 0),
      jobsPerSecRatio: round(postgresJobsPerSec / sqliteJobsPerSec, 3),
      sqliteRounds,
      postgresRounds,
      dispatchPerSec1k: round(small.dispatchPerSec, 0),
      dispatchPerSecLarge: round(big.dispatchPerSec, 0),
      dispatchRatioLargeTo1k: round(big.dispatchPerSec / small.dispatchPerSec, 3),
      queuedLarge: options.large,
      seedMsLarge: round(big.seedMs, 0),
      loadMsLarge: round(big.loadMs, 0),
      rssMbLarge: round(big.rssMb, 1),
      roundsPerSec1k: small.rounds,
      roundsPerSecLarge: big.rounds,
    }
  } finally {
    await server.dispose()
  }
}
