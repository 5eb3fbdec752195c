import { spawn } from 'node:child_process'
import { ROLES_DIR } from '../lib/child.js'
import { round } from '../lib/stats.js'

export interface ScaleRun {
  commitShare: number[]
  rounds: number[]
  queued: number
  seedMs: number
  loadMs: number
  rssMb: number
  dispatchPerSec: number
  unparked: number
  readAhead: number
}

export interface ScaleFigures {
  dispatchPerSec1k: number
  dispatchPerSec1M: number
  dispatchRatio1Mto1k: number
  /** The same rounds with every record parked and read-ahead off: each is read from the store on the way. */
  dispatchPerSec1MParked: number
  dispatchRatioParked1Mto1k: number
  rssMb1M: number
  loadMs1M: number
  queuedLarge: number
  roundsPerSec1k: number[]
  roundsPerSec1M: number[]
  roundsPerSec1MParked: number[]
  /** Records read back from the store at 1 M, and how many of them read-ahead loaded. */
  unparked1M: number
  readAhead1M: number
  /** Per round: the share of its time spent committing the assigned rows to SQLite. */
  commitShare1M: number[]
}

/** A scale role that runs one round each time it is asked to. */
export interface DrivenRole {
  ready: Promise<void>
  round(): Promise<void>
  end(): Promise<ScaleRun>
}

export function drivenScale(config: { queued: number; batch: number; master?: Record<string, number>; postgresUrl?: string }): DrivenRole {
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', `${ROLES_DIR}scale.js`], {
    env: { ...process.env, BENCH_CONFIG: JSON.stringify({ ...config, rounds: 0, driven: true }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = []
  let buffer = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (line === 'ready' || line.startsWith('{"round"') || line.startsWith('{"result"')) waiting.shift()?.resolve(line)
    }
  })
  child.on('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`scale role (${config.queued} queued) exited ${code}`))
  })
  const next = () => new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }))
  const ready = next().then(() => undefined)
  return {
    ready,
    round: async () => {
      const answer = next()
      child.stdin.write('round\n')
      await answer
    },
    end: async () => {
      const answer = next()
      child.stdin.write('end\n')
      return JSON.parse(await answer).result as ScaleRun
    },
  }
}

/**
 * Dispatch with 1 k and with `large` (1 M) jobs queued, and the master's RSS at `large`. The
 * large queue runs twice: as configured (read-ahead on), and with every record parked and
 * read-ahead off, for the rate at which records are dispatched straight from the store. The
 * three run side by side in their own processes and take turns round by round, so that a
 * machine that slows down for a while (this one does, for seconds at a time) slows them all.
 */
export async function measureScale(large = 1_000_000, batch = 1000, rounds = 25): Promise<ScaleFigures> {
  const roles = [
    drivenScale({ queued: 1000, batch }),
    drivenScale({ queued: large, batch }),
    drivenScale({ queued: large, batch, master: { readAhead: 0, parkAbove: 0 } }),
  ]
  await Promise.all(roles.map((role) => role.ready))
  for (let r = 0; r < rounds; r++) {
    // Whose turn comes first rotates too.
    for (let i = 0; i < roles.length; i++) await roles[(r + i) % roles.length]!.round()
  }
  const [small, big, parked] = await Promise.all(roles.map((role) => role.end())) as [ScaleRun, ScaleRun, ScaleRun]
  return {
    dispatchPerSec1k: round(small.dispatchPerSec, 0),
    dispatchPerSec1M: round(big.dispatchPerSec, 0),
    dispatchRatio1Mto1k: round(big.dispatchPerSec / small.dispatchPerSec, 3),
    dispatchPerSec1MParked: round(parked.dispatchPerSec, 0),
    dispatchRatioParked1Mto1k: round(parked.dispatchPerSec / small.dispatchPerSec, 3),
    rssMb1M: round(big.rssMb, 1),
    loadMs1M: round(big.loadMs, 0),
    queuedLarge: large,
    roundsPerSec1k: small.rounds,
    roundsPerSec1M: big.rounds,
    roundsPerSec1MParked: parked.rounds,
    unparked1M: big.unparked,
    readAhead1M: big.readAhead,
    commitShare1M: big.commitShare,
  }
}
