import { FINAL_STATES, encode, masterStats, topics, type JobState, type MasterStats } from '../../src/protocol/index.js'
import type { MasterParts } from './parts.js'
import type { Transport } from './transport.js'

/** At most one stats message per this many ms (docs/protocol.md §15). */
export const STATS_INTERVAL_MS = 1000
/**
 * Building the message counts the store and walks the queue: with millions of jobs that takes
 * milliseconds. The next one waits at least this many times as long as the last took, so the
 * stats never cost the master more than 1 % of its time.
 */
const COST_FACTOR = 100

/**
 * The retained `{ns}/master/stats`. It is built only when something may have changed (a job
 * event, a node count), so an idle master reads nothing from its store; after a busy second it
 * says once more that the rates fell to zero, so the retained copy never shows stale rates.
 */
export class StatsPublisher {
  private timer: NodeJS.Timeout | undefined
  private dirty = true
  private nodesSeen = ''
  private last: { at: number; total: number; finished: number } | undefined
  private ratesShown = false
  private notBefore = 0

  constructor(
    private readonly ctx: MasterParts,
    private readonly transport: Transport,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.safeTick(), STATS_INTERVAL_MS)
    this.timer.unref()
    this.safeTick()
  }

  /** A store that cannot count now (Postgres away) costs one stats message, never the master. */
  private safeTick(): void {
    try {
      this.tick()
    } catch (error) {
      this.dirty = true
      this.ctx.logger.warn({ err: error }, 'master stats not published: the store could not count')
    }
  }

  /** A job changed. */
  touch(): void {
    this.dirty = true
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  tick(): void {
    const { ctx } = this
    const nodes = `${ctx.nodes.countOnline()}/${ctx.nodes.size}`
    if (!this.dirty && nodes === this.nodesSeen && !this.ratesShown) return
    const started = performance.now()
    if (started < this.notBefore) return
    this.dirty = false
    this.nodesSeen = nodes
    this.transport.publish(topics.masterStats(ctx.options.namespace), encode(this.build()), { qos: 1, retain: true })
    this.notBefore = started + COST_FACTOR * (performance.now() - started)
  }

  build(): MasterStats {
    const { ctx } = this
    const now = Date.now()
    const stored = ctx.jobs.counts()
    const total = sum(stored, Object.keys(stored) as JobState[])
    const finished = sum(stored, FINAL_STATES)
    const live = this.live()
    const last = this.last
    const windowMs = last ? Math.max(1, now - last.at) : 0
    const perSecond = (delta: number) => (last ? Math.max(0, (delta * 1000) / windowMs) : 0)
    const rates = { submitted: perSecond(total - (last?.total ?? total)), finished: perSecond(finished - (last?.finished ?? finished)), windowMs }
    this.last = { at: now, total, finished }
    this.ratesShown = rates.submitted > 0 || rates.finished > 0
    const busy: Record<string, number> = {}
    for (const node of ctx.nodes.all()) busy[node.id] = node.inFlight.size
    return masterStats({
      instance: ctx.instance,
      ts: now,
      // The store does not record `running` (Lifecycle.markRunning): live states are the master's own.
      jobs: { ...stored, queued: live.queued, assigned: live.assigned, running: live.running },
      priorities: live.priorities,
      rates,
      nodes: { online: ctx.nodes.countOnline(), total: ctx.nodes.size },
      busy,
    })
  }

  /** Live jobs by priority (JobTable.tally), highest first, and their totals. */
  private live(): { queued: number; assigned: number; running: number; priorities: MasterStats['priorities'] } {
    const rows = this.ctx.jobs.tally()
    const priorities = [...rows.values()].sort((a, b) => b.priority - a.priority)
    const totals = { queued: 0, assigned: 0, running: 0 }
    for (const p of priorities) {
      totals.queued += p.queued
      totals.assigned += p.assigned
      totals.running += p.running
    }
    return { ...totals, priorities }
  }
}

function sum(counts: Record<JobState, number>, states: readonly JobState[]): number {
  let total = 0
  for (const state of states) total += counts[state] ?? 0
  return total
}
