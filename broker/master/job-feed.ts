import { encode, jobFeed, topics, type JobState, type JobSummary } from '../../src/protocol/index.js'
import type { JobRecord } from '../store/job-record.js'
import type { Transport } from './transport.js'

/** At most one batch per this many ms (docs/protocol.md §15). */
export const JOB_FEED_INTERVAL_MS = 250
/** At most this many jobs per batch; the rest are counted in `dropped`. */
export const JOB_FEED_MAX = 500

interface Change {
  job: JobRecord
  state: JobState
  node: string | null
  attempt: number
  updatedAt: number
}

/**
 * `{ns}/master/jobs`: every job whose submitters or followers heard something, batched. It hears
 * what the notifier sends after each commit, so it says nothing the store does not hold yet.
 * A job that changed several times in one window is sent once, as it was last.
 */
export class JobFeed {
  private changes = new Map<string, Change>()
  private timer: NodeJS.Timeout | undefined

  /**
   * @param watched whether anyone could receive the feed; the embedded broker can tell (with no
   * dashboard open the feed then costs a call per event), an external broker cannot.
   */
  constructor(
    private readonly transport: Transport,
    private readonly ns: string,
    private readonly watched: () => boolean = () => true,
  ) {}

  /** Called for every event the notifier sends about a job. */
  observe(job: JobRecord): void {
    if (!this.watched()) return
    // Delete first, so the map's order is the order of the latest changes.
    this.changes.delete(job.id)
    this.changes.set(job.id, { job, state: job.state, node: job.node, attempt: job.attempt, updatedAt: job.updatedAt })
    this.timer ??= setTimeout(() => this.flush(), JOB_FEED_INTERVAL_MS)
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.changes.size === 0) return
    const changes = [...this.changes.values()]
    this.changes = new Map()
    const kept = changes.slice(-JOB_FEED_MAX)
    const message = jobFeed(kept.map(summaryOf), changes.length - kept.length)
    this.transport.publish(topics.masterJobs(this.ns), encode(message), { qos: 1 })
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.changes.clear()
  }
}

function summaryOf({ job, state, node, attempt, updatedAt }: Change): JobSummary {
  const output = job.output as { verdict?: unknown } | null | undefined
  const verdict = state === job.state && typeof output?.verdict === 'string' ? output.verdict : undefined
  return {
    id: job.id,
    kind: job.spec.kind,
    state,
    priority: job.priority,
    owner: job.owner,
    node,
    attempt,
    createdAt: job.createdAt,
    updatedAt,
    ...(verdict !== undefined ? { verdict } : {}),
    ...(job.error !== undefined && state === job.state ? { error: job.error.slice(0, 4096) } : {}),
  }
}
