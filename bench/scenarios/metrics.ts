import { EventEmitter } from 'node:events'
import { Metrics } from '../../broker/http/metrics.js'
import type { Master } from '../../broker/master/master.js'
import type { JobRecord } from '../../broker/store/job-record.js'
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
  /**
   * The master's events of one job (admitted, assigned, finished, and a commit per ten jobs), in ns:
   * with no listener, and with the metrics listening. A figure of this process alone, steadier
   * than any ratio of whole runs on a shared machine.
   */
  eventsNsPerJob: { unheard: number; metrics: number }
  /** CPU time of one scrape of /metrics's text (no HTTP), in ms: the default process metrics are most of it. */
  scrapeCpuMs: number
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
  const hotPath = await measureHotPath()
  const offMedian = med(off)
  const onMedian = med(on)
  return {
    off: offMedian,
    on: onMedian,
    throughputRatio: round(onMedian.jobsPerSec / offMedian.jobsPerSec, 3),
    seqP50Ratio: round(onMedian.seqP50Ms / offMedian.seqP50Ms, 3),
    pairedThroughputRatio: round(median(on.map((figures, i) => figures.jobsPerSec / off[i]!.jobsPerSec)), 3),
    cpuPerJobRatio: round(median(on.map((f) => f.cpuUsPerJob!)) / median(off.map((f) => f.cpuUsPerJob!)), 3),
    ...hotPath,
    rounds: { off, on },
  }
}

/** The events a job makes, replayed on an emitter shaped like the master, median of 5 runs. */
async function measureHotPath(): Promise<{ eventsNsPerJob: { unheard: number; metrics: number }; scrapeCpuMs: number }> {
  const master = Object.assign(new EventEmitter(), {
    figures: () => ({ jobs: { queued: 0, assigned: 0, running: 0 }, oldestQueuedSeconds: 0, nodes: [], counters: {} }),
  })
  const now = Date.now()
  const job = { spec: { kind: 'noop' }, state: 'succeeded', createdAt: now, history: [{ attempt: 1, node: 'w1', epoch: 'x.1', at: now }] } as unknown as JobRecord
  const jobs = 200_000
  const run = () => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < jobs; i++) {
      master.emit('job-admitted', job)
      master.emit('job-assigned', job)
      master.emit('job-finished', job)
      if (i % 10 === 0) master.emit('commit', 0.001)
    }
    return Number(process.hrtime.bigint() - started) / jobs
  }
  const nsPerJob = () => {
    run() // warm-up
    return round(median(Array.from({ length: 5 }, run)), 0)
  }
  const unheard = nsPerJob()
  const metrics = new Metrics({ master: master as unknown as Master, mqttConnections: () => 0 })
  try {
    const heard = nsPerJob()
    for (let i = 0; i < 5; i++) await metrics.text()
    const before = process.cpuUsage()
    for (let i = 0; i < 50; i++) await metrics.text()
    const used = process.cpuUsage(before)
    return { eventsNsPerJob: { unheard, metrics: heard }, scrapeCpuMs: round((used.user + used.system) / 1000 / 50, 2) }
  } finally {
    metrics.close()
  }
}
