import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, round } from '../lib/stats.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const BIN = `${ROOT}bin/run.js`

export interface StartupFigures {
  runs: number
  /** With STARTUP_BASELINE=DIR (another built checkout): its ratios, from the same interleaved runs. */
  baseline?: { dir: string; versionRatio: number; helpRatio: number; flagErrorRatio: number }
  /** Medians in ms of the same run's interleaved rounds. */
  nodeMs: number
  versionMs: number
  helpMs: number
  flagErrorMs: number
  /** Each ÷ `node -e 0`: the figures to compare, since absolute ms move with the machine's load. */
  versionRatio: number
  helpRatio: number
  flagErrorRatio: number
  manifest: boolean
}

type CaseName = 'node' | 'version' | 'help' | 'flagError' | 'baselineVersion' | 'baselineHelp' | 'baselineFlagError'

interface Case {
  name: CaseName
  args: string[]
  /** What a healthy run prints and exits with; a run that does not is a failure, not a figure. */
  expect: { status: number; output: RegExp }
}

const CASES: Case[] = [
  { name: 'node', args: ['-e', '0'], expect: { status: 0, output: /^$/ } },
  { name: 'version', args: [BIN, '--version'], expect: { status: 0, output: /^edgerun\/\d+\.\d+\.\d+ / } },
  { name: 'help', args: [BIN, '--help'], expect: { status: 0, output: /COMMANDS/ } },
  // Not a target: how long a mistyped flag takes to be told, which loads one command module.
  { name: 'flagError', args: [BIN, 'jobs', 'list', '--limit', '0'], expect: { status: 2, output: /--limit 0: must be/ } },
]

/** The same three commands of another checkout (an older commit, built), for before/after. */
function baselineCases(dir: string): Case[] {
  const bin = join(dir, 'bin', 'run.js')
  return [
    { name: 'baselineVersion', args: [bin, '--version'], expect: { status: 0, output: /^edgerun\/\d+\.\d+\.\d+ / } },
    { name: 'baselineHelp', args: [bin, '--help'], expect: { status: 0, output: /COMMANDS/ } },
    // Older versions word it differently ("Parsing --limit"); only the exit status is checked.
    { name: 'baselineFlagError', args: [bin, 'jobs', 'list', '--limit', '0'], expect: { status: 2, output: /limit/ } },
  ]
}

/**
 * Start-up: `edgerun --version` and `edgerun --help` against a bare `node -e 0`, the cases taking
 * turns run after run so that a noisy moment costs every case alike; each figure is a median.
 */
export async function measureStartup(runs = 21, baselineDir = process.env.STARTUP_BASELINE): Promise<StartupFigures> {
  const cases = [...CASES, ...(baselineDir ? baselineCases(baselineDir) : [])]
  const times = Object.fromEntries(cases.map((c) => [c.name, [] as number[]])) as Record<CaseName, number[]>
  for (const c of cases) once(c) // warm the file cache; not timed
  for (let i = 0; i < runs; i++) {
    for (const c of cases) times[c.name].push(once(c))
  }
  const nodeMs = median(times.node)
  const m = (name: CaseName) => round(median(times[name]), 1)
  const ratio = (name: CaseName) => round(median(times[name]) / nodeMs, 2)
  return {
    runs,
    ...(baselineDir
      ? { baseline: { dir: baselineDir, versionRatio: ratio('baselineVersion'), helpRatio: ratio('baselineHelp'), flagErrorRatio: ratio('baselineFlagError') } }
      : {}),
    nodeMs: round(nodeMs, 1),
    versionMs: m('version'),
    helpMs: m('help'),
    flagErrorMs: m('flagError'),
    versionRatio: ratio('version'),
    helpRatio: ratio('help'),
    flagErrorRatio: ratio('flagError'),
    manifest: existsSync(`${ROOT}oclif.manifest.json`),
  }
}

function once(c: Case): number {
  const started = process.hrtime.bigint()
  const child = spawnSync(process.execPath, c.args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  const output = `${child.stdout}${child.stderr}`
  if (child.status !== c.expect.status || !c.expect.output.test(output)) {
    throw new Error(`startup bench: node ${c.args.join(' ')} exited ${child.status}${child.error ? ` (${child.error.message})` : ''}: ${output.slice(0, 300)}`)
  }
  return elapsed
}
