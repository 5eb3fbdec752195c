import { z } from 'zod'
import { jobIdSchema } from '../ids.js'
import { attemptSchema, epochSchema, timestampSchema, v1 } from './common.js'
import { jobSpecSchema } from './job-spec.js'
import { LIMITS } from './limits.js'
import { jobOutputSchema } from './outputs.js'
import { runningEntrySchema, termSchema } from './states.js'

/** master → worker, on `{ns}/nodes/{node}/assign`. `ackBy` is a deadline in the master's clock (ms). */
export const assignSchema = z.object({
  v: v1,
  type: z.literal('assign'),
  job: jobSpecSchema,
  attempt: attemptSchema,
  epoch: epochSchema,
  ackBy: timestampSchema,
  /** The sending master's lease term (docs/protocol.md §7a); a worker drops one lower than it has seen. */
  term: termSchema.optional(),
})

export const CONTROL_OPS = ['cancel', 'ack', 'drain', 'rebirth'] as const
export const controlSchema = z.object({
  v: v1,
  type: z.literal('control'),
  op: z.enum(CONTROL_OPS),
  jobId: jobIdSchema.optional(),
  attempt: attemptSchema.optional(),
  /** `ack` only, and only to a worker whose birth announced `ack-batch`: more results acknowledged at once. */
  jobs: z.array(runningEntrySchema).max(LIMITS.maxAckBatch).optional(),
  /** As in `assign`. */
  term: termSchema.optional(),
})

const workerEventBase = { v: v1, jobId: jobIdSchema, attempt: attemptSchema, epoch: epochSchema }

/** worker → master, on `{ns}/nodes/{node}/events`. */
export const workerEventSchema = z.discriminatedUnion('type', [
  z.object({ ...workerEventBase, type: z.literal('accepted') }),
  z.object({
    ...workerEventBase,
    type: z.literal('rejected'),
    code: z.enum(['BUSY', 'UNSUPPORTED', 'DRAINING', 'BAD_MESSAGE']),
    message: z.string().max(1024),
  }),
  z.object({
    ...workerEventBase,
    type: z.literal('progress'),
    state: z.string().max(32),
    detail: z.unknown().optional(),
  }),
  z.object({
    ...workerEventBase,
    type: z.literal('result'),
    state: z.enum(['succeeded', 'failed', 'timed_out', 'canceled']),
    output: jobOutputSchema,
    error: z.string().max(4096).optional(),
    durationMs: z.number().nonnegative().optional(),
  }),
])

export type AssignMessage = z.infer<typeof assignSchema>
export type ControlMessage = z.infer<typeof controlSchema>
export type ControlOp = (typeof CONTROL_OPS)[number]
export type WorkerEvent = z.infer<typeof workerEventSchema>
export type WorkerResultEvent = Extract<WorkerEvent, { type: 'result' }>
export type WorkerRejectCode = Extract<WorkerEvent, { type: 'rejected' }>['code']
export const workerTimestamp = timestampSchema
