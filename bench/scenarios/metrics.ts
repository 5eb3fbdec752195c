import { median, round } from '../lib/stats.js'
import { measureEdgerun, type LoadSizes, type SystemFigures } from './throughput.js'

export interface MetricsFigures {
  off: SystemFigures
  on: SystemFigures
  /** Median jobs/s with metrics on ÷ with them off: the target is ≥ 0.97. */
  throughputRatio: number
  /** Median sequential p50 with metrics on ÷ off. */
  seqP50Ratio: number
  /**
   * The same jobs/s ratio, taken per round (on and off ran back to back) and then the median: a
   * neighbour's load that comes and goes between rounds moves both halves of a pair alike.
   */
  pairedThroughputRatio: number
  /** The broker-master's CPU time per job, on ÷ off (medians): what metrics cost, less exposed to a busy machine than jobs/s. */
  cpuPerJobRatio: number
  rounds: { off: SystemFigures[]; on: SystemFigures[] }
}

/**
 * What metrics cost (docs/metrics.md, "Metrics"): edgerun with its HTTP listener on and /metrics
 * scraped every second, against the same without, in the same run. The two take turns, in
 * alternating order, `rounds` rounds each, and each figure is the median of its rounds.
 */
export async function measureMetrics(sizes: LoadSizes, rounds: number, log: (line: string) => void): Promise<MetricsFigures> {
  const off: SystemFigures[] = []
  const on: SystemFigures[] = []
  for (let r = 1; r <= rounds; r++) {
    for (const metrics of r % 2 === 1 ? [false, true] : [true, false]) {
      const figures = await measureEdgerun(sizes, { metrics, cpu: true })
      ;(metrics ? on : off).push(figures)
      log(`  round ${r}/${rounds}, metrics ${metrics ? 'on' : 'off'}: ${JSON.stringify(figures)}`)
    }
  }
  const med = (list: SystemFigures[]): SystemFigures => ({
    jobsPerSec: median(list.map((f) => f.jobsPerSec)),
    seqP50Ms: median(list.map((f) => f.seqP50Ms)),
    seqP99Ms: median(list.map((f) => f.seqP99Ms)),
  })
  const offMedian = med(off)
  const onMedian = med(on)
  return {
    off: offMedian,
    on: onMedian,
    throughputRatio: round(onMedian.jobsPerSec / offMedian.jobsPerSec, 3),
    seqP50Ratio: round(onMedian.seqP50Ms / offMedian.seqP50Ms, 3),
    pairedThroughputRatio: round(median(on.map((figures, i) => figures.jobsPerSec / off[i]!.jobsPerSec)), 3),
    cpuPerJobRatio: round(median(on.map((f) => f.cpuUsPerJob!)) / median(off.map((f) => f.cpuUsPerJob!)), 3),
    rounds: { off, on },
  }
}
