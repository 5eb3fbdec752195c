import { z } from 'zod'
import { jobIdSchema } from '../ids.js'
import { timestampSchema, v1 } from './common.js'
import { JOB_KINDS } from './job-spec.js'
import { JOB_STATES, jobStateSchema } from './states.js'

/**
 * What the master publishes for dashboards (docs/protocol.md §15). Both topics are readable by
 * `admin` only; a `client` follows its own jobs through `jobs.list` and their event topics.
 */

const count = z.number().int().nonnegative()

/** Live jobs of one priority, by state. */
export const priorityCountsSchema = z.object({
  priority: z.number().int(),
  queued: count,
  assigned: count,
  running: count,
})

/** Retained on `{ns}/master/stats`, at most once a second, and only when something changed. */
export const masterStatsSchema = z.object({
  v: v1,
  type: z.literal('stats'),
  instance: z.string().min(1).max(64),
  ts: timestampSchema,
  /** Jobs in the store, by state. */
  jobs: z.record(jobStateSchema, count),
  /** Live jobs by priority, highest first (priorities with none are left out). */
  priorities: z.array(priorityCountsSchema),
  /** Jobs admitted and jobs that ended, per second, over `windowMs` before `ts`. */
  rates: z.object({ submitted: z.number().nonnegative(), finished: z.number().nonnegative(), windowMs: count }),
  nodes: z.object({ online: count, total: count }),
  /** Attempts in flight per known node: its busy slots. */
  busy: z.record(z.string(), count),
})

/** One job as the feed tells it: enough for a list row, never the spec or the output. */
export const jobSummarySchema = z.object({
  id: jobIdSchema,
  kind: z.enum(JOB_KINDS),
  state: z.enum(JOB_STATES),
  priority: z.number().int(),
  owner: z.string().nullable(),
  node: z.string().nullable(),
  attempt: z.number().int().nonnegative(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
  /** A final judge job's verdict. */
  verdict: z.string().max(8).optional(),
  error: z.string().max(4096).optional(),
})

/** On `{ns}/master/jobs`: the jobs that changed since the last batch, newest change last. */
export const jobFeedSchema = z.object({
  v: v1,
  type: z.literal('jobs'),
  jobs: z.array(jobSummarySchema),
  /** Changes left out to keep the batch small: a dashboard should list again (`jobs.list`). */
  dropped: count.optional(),
})

export type MasterStats = z.infer<typeof masterStatsSchema>
export type JobSummary = z.infer<typeof jobSummarySchema>
export type JobFeed = z.infer<typeof jobFeedSchema>
