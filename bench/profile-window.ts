import { readFileSync } from 'node:fs'

/**
 * Where the CPU went inside given windows of a `--cpu-prof` profile: self time per function, or
 * inclusive time with `--inclusive`. The windows are `WINDOW <startUs> <endUs>` lines, as the
 * scale role prints them with SCALE_WINDOWS=1, on the profile's own clock.
 *
 *   node dist/bench/profile-window.js <profile.cpuprofile> <windows.txt> [--skip 3] [--top 30] [--inclusive]
 */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const [profilePath, windowsPath, ...rest] = process.argv.slice(2)
if (!profilePath || !windowsPath) {
  process.stderr.write('usage: profile-window.js <profile.cpuprofile> <windows.txt> [--skip N] [--top N] [--inclusive]\n')
  process.exit(2)
}
const option = (name: string, fallback: number) => {
  const at = rest.indexOf(name)
  return at >= 0 ? Number(rest[at + 1]) : fallback
}
const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as Profile
const windows = readFileSync(windowsPath, 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('WINDOW '))
  .map((line) => line.split(' ').slice(1, 3).map(Number) as [number, number])
  .slice(option('--skip', 3))
const inclusive = rest.includes('--inclusive')
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
const nameOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`

const spent = new Map<string, number>()
let busy = 0
let t = profile.startTime
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0
  t += delta
  if (!windows.some(([start, end]) => t >= start && t <= end)) continue
  const node = byId.get(profile.samples[i]!)!
  if (node.callFrame.functionName === '(idle)') continue
  busy += delta
  const names = new Set<string>()
  for (let id: number | undefined = node.id; id !== undefined && (inclusive || names.size === 0); id = parent.get(id)) names.add(nameOf(byId.get(id)!))
  for (const name of names) spent.set(name, (spent.get(name) ?? 0) + delta)
}
for (const [name, us] of [...spent].sort((a, b) => b[1] - a[1]).slice(0, option('--top', 30))) {
  process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}\n`)
}
process.stdout.write(`busy ${(busy / 1000).toFixed(1)} ms in ${windows.length} windows\n`)
