import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

/** CPU ms a process has used so far (Linux /proc), to show where a run's time went. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000
  } catch {
    return NaN
  }
}

export function selfCpuMs(): number {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}
