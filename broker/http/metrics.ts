import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { FINAL_STATES, JOB_KINDS } from '../../src/protocol/index.js'
import type { Master } from '../master/master.js'
import type { LossKind, JobRecord } from '../store/job-record.js'
import { PlainCounter, PlainHistogram, type CounterCell, type HistogramCell } from './plain-metrics.js'

export interface MetricsSources {
  /** Absent on a broker of a Redis cluster that runs no master: then only process figures. */
  master?: Master
  /** Open MQTT connections (every listener): `edgerun broker` only. */
  mqttConnections?: () => number
}

/** Seconds, for a job's wait and run: from a millisecond no-op to half an hour. */
const JOB_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const REQUEUE_REASONS: Array<LossKind | 'refused'> = ['offline', 'rebirth', 'ack', 'run', 'canceled', 'restart', 'refused']
/** Final states reached by a result from a worker rather than by the master giving up. */
const RAN = new Set(['succeeded', 'failed', 'timed_out'])
const REFUSALS = new Set(['MAX_REJECTIONS', 'REFUSED_EVERYWHERE'])

/**
 * The Prometheus figures of docs/metrics.md ("Metrics"). Counters and histograms follow the
 * master's events from this process's start; gauges are read from the master's public figures
 * (the store's counts and the node table) when scraped, so they always equal what those say.
 */
export class Metrics {
  readonly registry = new Registry()
  private readonly detach: Array<() => void> = []

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry, prefix: '' })
    const registers = [this.registry]
    const master = sources.master
    if (sources.mqttConnections) {
      const connections = sources.mqttConnections
      new Gauge({
        name: 'edgerun_mqtt_connections',
        help: 'Open MQTT connections to this broker, TCP, TLS and WebSocket together.',
        registers,
        collect() {
          this.set(connections())
        },
      })
    }
    if (!master) return
    const reg = this.registry
    const submitted = new PlainCounter('edgerun_jobs_submitted_total', 'Jobs admitted since this process started.', ['kind'], reg)
    const finished = new PlainCounter('edgerun_jobs_finished_total', 'Jobs that reached a final state since this process started.', ['kind', 'state'], reg)
    const requeued = new PlainCounter('edgerun_attempts_requeued_total', 'Attempts that went back to the queue: lost (offline, rebirth, ack, run, canceled, restart) or refused.', ['reason'], reg)
    const wait = new PlainHistogram('edgerun_job_wait_seconds', 'Time a job waited in the queue before it was assigned to a worker, per attempt.', [], JOB_BUCKETS, reg)
    const duration = new PlainHistogram('edgerun_job_duration_seconds', 'Run time of the attempt that ended a job, from its assignment to its result.', ['kind'], JOB_BUCKETS, reg)
    const commit = new PlainHistogram('edgerun_store_commit_seconds', 'Time of one job store commit (flush).', [], COMMIT_BUCKETS, reg)
    // Every known series from 0, so a rate() over the first event is right (Prometheus practice);
    // the cells are looked up by plain property access on the hot path.
    const submittedBy: Record<string, CounterCell> = {}
    const finishedBy: Record<string, Record<string, CounterCell>> = {}
    const durationBy: Record<string, HistogramCell> = {}
    const requeuedBy: Record<string, CounterCell> = {}
    const kindCells = (kind: string) => {
      submittedBy[kind] = submitted.cell(kind)
      durationBy[kind] = duration.cell(kind)
      finishedBy[kind] = {}
      for (const state of FINAL_STATES) finishedBy[kind][state] = finished.cell(kind, state)
    }
    for (const kind of JOB_KINDS) kindCells(kind)
    for (const reason of REQUEUE_REASONS) requeuedBy[reason] = requeued.cell(reason)
    const waitCell = wait.cell()
    const commitCell = commit.cell()
    // One read of the master's figures per scrape, shared by every gauge of that scrape.
    let figures: ReturnType<Master['figures']> | undefined
    const read = () => (figures ??= master.figures())
    new Counter({
      name: 'edgerun_rejections_total',
      help: 'Submits and rpcs the master rejected, by error code, since this process started.',
      labelNames: ['code'],
      registers,
      // The master counts them already (the `stats` rpc's `rejected`); read, not counted twice.
      collect() {
        this.reset()
        for (const [name, value] of Object.entries(read().counters)) if (name.startsWith('rejected_')) this.inc({ code: name.slice('rejected_'.length) }, value)
      },
    })
    new Gauge({
      name: 'edgerun_jobs',
      help: 'Jobs not yet final, by state, as the store counts them.',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, value] of Object.entries(read().jobs)) this.set({ state }, value)
      },
    })
    new Gauge({
      name: 'edgerun_queue_oldest_age_seconds',
      help: 'Age of the queued job admitted first; 0 when the queue is empty.',
      registers,
      collect() {
        this.set(read().oldestQueuedSeconds)
      },
    })
    new Gauge({
      name: 'edgerun_nodes',
      help: 'Nodes in the node table, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = { online: 0, draining: 0, offline: 0 }
        for (const node of read().nodes) counts[node.state] = (counts[node.state] ?? 0) + 1
        for (const [state, value] of Object.entries(counts)) this.set({ state }, value)
      },
    })
    const perNode = (name: string, help: string, value: (node: ReturnType<Master['figures']>['nodes'][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['node'],
        registers,
        collect() {
          // A node that left the table leaves the figures too.
          this.reset()
          for (const node of read().nodes) if (node.state !== 'offline') this.set({ node: node.id }, value(node))
        },
      })
    perNode('edgerun_node_slots', 'Slots of each node that is not offline.', (node) => node.slots)
    perNode('edgerun_node_busy_slots', 'Jobs the master has in flight on each node that is not offline.', (node) => node.inFlight)
    this.scrapeDone = () => (figures = undefined)

    const onAdmitted = (job: JobRecord) => {
      if (!submittedBy[job.spec.kind]) kindCells(job.spec.kind)
      submittedBy[job.spec.kind]!.value++
    }
    const onAssigned = (job: JobRecord) => wait.observe(waitCell, Math.max(0, Date.now() - queuedSince(job)) / 1000)
    const onFinished = (job: JobRecord) => {
      const kind = job.spec.kind
      if (!finishedBy[kind]) kindCells(kind)
      ;(finishedBy[kind]![job.state] ??= finished.cell(kind, job.state)).value++
      const last = job.history.at(-1)
      if (last && !last.lost && RAN.has(job.state) && !(job.code && REFUSALS.has(job.code))) duration.observe(durationBy[kind]!, Math.max(0, Date.now() - last.at) / 1000)
    }
    const onRequeued = (reason: LossKind | 'refused') => (requeuedBy[reason] ??= requeued.cell(reason)).value++
    const onCommit = (seconds: number) => commit.observe(commitCell, seconds)
    master.on('job-admitted', onAdmitted)
    master.on('job-assigned', onAssigned)
    master.on('job-finished', onFinished)
    master.on('attempt-requeued', onRequeued)
    master.on('commit', onCommit)
    this.detach.push(() => {
      master.off('job-admitted', onAdmitted)
      master.off('job-assigned', onAssigned)
      master.off('job-finished', onFinished)
      master.off('attempt-requeued', onRequeued)
      master.off('commit', onCommit)
    })
  }

  private scrapeDone: () => void = () => {}

  get contentType(): string {
    return this.registry.contentType
  }

  /** The text exposition format, for GET /metrics. */
  async text(): Promise<string> {
    try {
      return await this.registry.metrics()
    } finally {
      this.scrapeDone()
    }
  }

  close(): void {
    for (const detach of this.detach.splice(0)) detach()
  }
}

/** When the job was last queued: admitted, or requeued after a lost attempt (a refusal keeps it waiting). */
function queuedSince(job: JobRecord): number {
  for (let i = job.history.length - 2; i >= 0; i--) {
    const lost = job.history[i]!.lost
    if (lost) return Math.max(lost.at, job.createdAt)
  }
  return job.createdAt
}
