import { spawn } from 'node:child_process'
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
}

export interface ScaleFigures {
  dispatchPerSec1k: number
  dispatchPerSec1M: number
  dispatchRatio1Mto1k: number
  rssMb1M: number
  loadMs1M: number
  queuedLarge: number
  roundsPerSec1k: number[]
  roundsPerSec1M: number[]
  /** Per round: the share of its time spent committing the assigned rows to SQLite. */
  commitShare1M: number[]
}

function runScale(queued: number, batch: number, rounds: number): Promise<ScaleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', `${ROLES_DIR}scale.js`], {
      env: { ...process.env, BENCH_CONFIG: JSON.stringify({ queued, batch, rounds }) },
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

/** Dispatch with 1 k and with `large` (1 M) jobs queued, and the master's RSS at `large`. */
export async function measureScale(large = 1_000_000, batch = 1000, rounds = 15): Promise<ScaleFigures> {
  const small = await runScale(1000, batch, rounds)
  const big = await runScale(large, batch, rounds)
  return {
    dispatchPerSec1k: round(small.dispatchPerSec, 0),
    dispatchPerSec1M: round(big.dispatchPerSec, 0),
    dispatchRatio1Mto1k: round(big.dispatchPerSec / small.dispatchPerSec, 3),
    rssMb1M: round(big.rssMb, 1),
    loadMs1M: round(big.loadMs, 0),
    queuedLarge: large,
    roundsPerSec1k: small.rounds,
    roundsPerSec1M: big.rounds,
    commitShare1M: big.commitShare,
  }
}
