import { z } from 'zod'
import { jobIdSchema } from '../ids.js'
import { attemptSchema, correlationIdSchema, v1 } from './common.js'
import { LIMITS } from './limits.js'
import { jobOutputSchema } from './outputs.js'
import { finalStateSchema, jobStateSchema } from './states.js'

export const REJECT_CODES = [
  'BAD_MESSAGE',
  'UNSUPPORTED_VERSION',
  'NO_NODE',
  'UNSUPPORTED',
  'QUEUE_FULL',
  'NOT_AUTHORIZED',
  'NOT_FOUND',
] as const
export const rejectCodeSchema = z.enum(REJECT_CODES)
export type RejectCode = (typeof REJECT_CODES)[number]

/**
 * Why the master itself ended a job (a worker's own result carries none): the stable part of a
 * `result`'s `error`, for programs (docs/protocol.md §10, docs/errors.md).
 */
export const RESULT_CODES = ['MAX_ATTEMPTS', 'MAX_LOST', 'MAX_REJECTIONS', 'REFUSED_EVERYWHERE'] as const
export const resultCodeSchema = z.enum(RESULT_CODES)
export type ResultCode = (typeof RESULT_CODES)[number]

const replyBase = { v: v1, correlationId: correlationIdSchema.optional() }

/** master → client, on `replyTo` and on `{ns}/jobs/{jobId}/events`. */
export const acceptedReplySchema = z.object({
  ...replyBase,
  type: z.literal('accepted'),
  jobId: jobIdSchema,
  state: jobStateSchema,
  /** true when this id was already known: the reply describes the existing job (idempotency). */
  duplicate: z.boolean().optional(),
})
export const rejectedReplySchema = z.object({
  ...replyBase,
  type: z.literal('rejected'),
  jobId: jobIdSchema.optional(),
  code: rejectCodeSchema,
  message: z.string(),
})
export const progressReplySchema = z.object({
  ...replyBase,
  type: z.literal('progress'),
  jobId: jobIdSchema,
  state: z.string(),
  attempt: z.number().int().min(0),
  node: z.string().optional(),
  detail: z.unknown().optional(),
})
export const resultReplySchema = z.object({
  ...replyBase,
  type: z.literal('result'),
  jobId: jobIdSchema,
  state: finalStateSchema,
  attempts: z.number().int().min(0),
  node: z.string().nullable(),
  output: jobOutputSchema,
  error: z.string().optional(),
  /** Set when the master ended the job because a budget was spent (RESULT_CODES). */
  code: resultCodeSchema.optional(),
  /** Attempts lost to dropped connections or dead workers, when there were any (docs/protocol.md §10). */
  lost: z.number().int().min(1).optional(),
})

export const jobReplySchema = z.discriminatedUnion('type', [
  acceptedReplySchema,
  rejectedReplySchema,
  progressReplySchema,
  resultReplySchema,
])

/**
 * master → client, on `replyTo` only, and only for jobs submitted with `batchReplies: true`: the
 * replies one store commit released, in order.
 */
export const replyBatchEnvelopeSchema = z.object({
  v: v1,
  type: z.literal('batch'),
  /** Left unchecked here, so a receiver can check each reply on its own: one bad reply costs only itself. */
  replies: z.array(z.unknown()).min(1).max(LIMITS.maxReplyBatch),
})
export const replyBatchSchema = replyBatchEnvelopeSchema.extend({
  replies: z.array(jobReplySchema).min(1).max(LIMITS.maxReplyBatch),
})

export type ReplyBatch = z.infer<typeof replyBatchSchema>
export type AcceptedReply = z.infer<typeof acceptedReplySchema>
export type RejectedReply = z.infer<typeof rejectedReplySchema>
export type ProgressReply = z.infer<typeof progressReplySchema>
export type ResultReply = z.infer<typeof resultReplySchema>
export type JobReply = z.infer<typeof jobReplySchema>
export const replyAttemptSchema = attemptSchema
