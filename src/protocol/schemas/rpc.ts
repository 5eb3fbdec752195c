import { z } from 'zod'
import { idSchema, jobIdSchema, nodeIdSchema } from '../ids.js'
import { JOB_KINDS } from './job-spec.js'
import { correlationIdSchema, v1 } from './common.js'
import { rejectCodeSchema } from './replies.js'
import { jobStateSchema } from './states.js'

export const RPC_METHODS = ['jobs.get', 'jobs.list', 'jobs.cancel', 'nodes.list', 'nodes.drain', 'stats'] as const
export type RpcMethod = (typeof RPC_METHODS)[number]

export const rpcParamsSchemas = {
  // `detail`: the view carries the spec and the attempts as well (a dashboard's job page).
  'jobs.get': z.object({ id: jobIdSchema, detail: z.boolean().optional() }),
  'jobs.list': z
    .object({
      state: jobStateSchema.optional(),
      kind: z.enum(JOB_KINDS).optional(),
      /** Jobs whose id starts with it: 1–64 characters of an id. */
      idPrefix: idSchema.optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    })
    .default({ limit: 100 }),
  'jobs.cancel': z.object({ id: jobIdSchema }),
  /** Paged when `limit` is given: ids after `cursor` (the last id of the previous page), in id order. */
  'nodes.list': z
    .object({
      limit: z.number().int().min(1).max(1000).optional(),
      cursor: z.string().min(1).max(128).optional(),
    })
    .default({}),
  /** Admins only: the node gets no new assignments (docs/protocol.md §15). */
  'nodes.drain': z.object({ id: nodeIdSchema }),
  stats: z.object({}).default({}),
} as const

/** client → master, on `{ns}/rpc`. */
export const rpcRequestSchema = z.object({
  v: v1,
  type: z.literal('rpc'),
  id: correlationIdSchema,
  method: z.enum(RPC_METHODS),
  params: z.unknown().optional(),
  replyTo: z.string(),
})

/** master → client, on the request's `replyTo`; `correlationId` is the request's `id`. */
export const rpcReplySchema = z.object({
  v: v1,
  type: z.literal('rpc'),
  correlationId: correlationIdSchema,
  jobId: jobIdSchema.optional(),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.object({ code: rejectCodeSchema, message: z.string() }).optional(),
})

export type RpcRequest = z.infer<typeof rpcRequestSchema>
export type RpcReply = z.infer<typeof rpcReplySchema>
