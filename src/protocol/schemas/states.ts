import { z } from 'zod'
import { jobIdSchema } from '../ids.js'
import { attemptSchema, epochSchema, timestampSchema, v1 } from './common.js'

export const JOB_STATES = [
  'queued',
  'assigned',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
] as const
export const FINAL_STATES = ['succeeded', 'failed', 'timed_out', 'canceled'] as const
export const jobStateSchema = z.enum(JOB_STATES)
export const finalStateSchema = z.enum(FINAL_STATES)
export type JobState = (typeof JOB_STATES)[number]
export type FinalState = (typeof FINAL_STATES)[number]
export function isFinal(state: JobState): state is FinalState {
  return (FINAL_STATES as readonly string[]).includes(state)
}

/**
 * `term`: the fencing term of the master's lease (docs/protocol.md §7a), absent where one master
 * runs without an election. Roles follow the highest term seen and ignore anything lower.
 */
export const termSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

const masterIdentity = {
  instance: z.string().min(1).max(64),
  term: termSchema.optional(),
  host: z.string().max(255).optional(),
  pid: z.number().int().nonnegative().optional(),
  ts: timestampSchema,
}

/** `{ns}/master/state`: written only by the active master (docs/protocol.md §7). */
export const masterStateSchema = z.object({
  v: v1,
  type: z.literal('master'),
  state: z.enum(['online', 'offline']),
  ...masterIdentity,
})

/** `{ns}/masters/{instance}/state`: each master's own retained state, with its own will (§7a). */
export const MASTER_INSTANCE_STATES = ['standby', 'online', 'offline'] as const
export const masterInstanceStateSchema = z.object({
  v: v1,
  type: z.literal('master'),
  state: z.enum(MASTER_INSTANCE_STATES),
  ...masterIdentity,
})

export const runningEntrySchema = z.object({ jobId: jobIdSchema, attempt: attemptSchema })

/**
 * Protocol extensions a worker may announce in its birth's `features`. The master uses one only
 * with a worker that announced it, so a worker written from the base protocol alone never meets it.
 * `ack-batch`: the worker understands a `control` `ack` that carries `jobs[]`.
 */
export const WORKER_FEATURES = ['ack-batch'] as const
export type WorkerFeature = (typeof WORKER_FEATURES)[number]

export const nodeStateSchema = z.object({
  v: v1,
  type: z.literal('node'),
  state: z.enum(['online', 'draining', 'offline']),
  epoch: epochSchema,
  slots: z.number().int().min(0).max(10_000),
  labels: z.array(z.string().max(64)).max(64),
  capabilities: z.object({
    languages: z.array(z.string().max(32)).max(32),
    commands: z.array(z.string().max(64)).max(256),
  }),
  running: z.array(runningEntrySchema).max(10_000),
  version: z.string().max(64),
  ts: timestampSchema,
  reason: z.string().max(256).optional(),
  /** Extensions this worker understands (WORKER_FEATURES); unknown names are kept and ignored. */
  features: z.array(z.string().max(32)).max(32).optional(),
})

export type MasterStateMessage = z.infer<typeof masterStateSchema>
export type MasterInstanceStateMessage = z.infer<typeof masterInstanceStateSchema>
export type NodeStateMessage = z.infer<typeof nodeStateSchema>
export type NodeLifecycle = NodeStateMessage['state']
export type RunningEntry = z.infer<typeof runningEntrySchema>

/** `{instance}.{counter}` → instance: which process a connection belongs to. */
export function instanceOfEpoch(epoch: string): string {
  const dot = epoch.lastIndexOf('.')
  return dot < 0 ? epoch : epoch.slice(0, dot)
}
export function counterOfEpoch(epoch: string): number {
  const dot = epoch.lastIndexOf('.')
  return dot < 0 ? 0 : Number(epoch.slice(dot + 1))
}
