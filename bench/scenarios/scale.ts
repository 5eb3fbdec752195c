import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROLES_DIR } from '../lib/child.js'
import { round } from '../lib/stats.js'

interface ScaleRun {
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

function runScale(config: { queued: number; batch: number; rounds: number; reuseDir?: string; master?: Record<string, number> }): Promise<ScaleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', `${ROLES_DIR}scale.js`], {
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"result"'))
      if (!line) return reject(new Error(`scale role exited ${code} without a result`))
      resolve(JSON.parse(line).result as ScaleRun)
    })
  })
}

/** The median of every round after the first three (they warm the JIT) of every run given. */
function medianRate(...runs: ScaleRun[]): number {
  const measured = runs.flatMap((run) => run.rounds.slice(Math.min(3, run.rounds.length - 1))).sort((a, b) => a - b)
  return measured[Math.floor(measured.length / 2)]!
}

/**
 * Dispatch with 1 k and with `large` (1 M) jobs queued, and the master's RSS at `large`. The
 * large queue is measured twice on one seeded store: as configured (read-ahead on), then with
 * every record parked and read-ahead off, for the rate at which records are dispatched straight
 * from the store. The small queue runs before and after them both, so a machine that drifts
 * during the scenario weighs on both sides of the ratio.
 */
export async function measureScale(large = 1_000_000, batch = 1000, rounds = 25): Promise<ScaleFigures> {
  const smallBefore = await runScale({ queued: 1000, batch, rounds })
  const dataDir = mkdtempSync(join(tmpdir(), 'edgerun-scale-'))
  try {
    const big = await runScale({ queued: large, batch, rounds, reuseDir: dataDir })
    const parked = await runScale({ queued: large, batch, rounds, reuseDir: dataDir, master: { readAhead: 0, parkAbove: 0 } })
    const smallAfter = await runScale({ queued: 1000, batch, rounds })
    const small = medianRate(smallBefore, smallAfter)
    return {
      dispatchPerSec1k: round(small, 0),
      dispatchPerSec1M: round(medianRate(big), 0),
      dispatchRatio1Mto1k: round(medianRate(big) / small, 3),
      dispatchPerSec1MParked: round(medianRate(parked), 0),
      dispatchRatioParked1Mto1k: round(medianRate(parked) / small, 3),
      rssMb1M: round(big.rssMb, 1),
      loadMs1M: round(big.loadMs, 0),
      queuedLarge: large,
      roundsPerSec1k: [...smallBefore.rounds, ...smallAfter.rounds],
      roundsPerSec1M: big.rounds,
      roundsPerSec1MParked: parked.rounds,
      unparked1M: big.unparked,
      readAhead1M: big.readAhead,
      commitShare1M: big.commitShare,
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
