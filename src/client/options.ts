import { z } from 'zod'
import { DEFAULT_NAMESPACE, clientIdSchema, namespaceSchema } from '../protocol/index.js'
import { DEFAULT_URL } from '../worker/options.js'

export const clientOptionsSchema = z.object({
  url: z.string().default(DEFAULT_URL),
  namespace: namespaceSchema.default(DEFAULT_NAMESPACE),
  /** Names the reply topic `{ns}/reply/{clientId}`; random unless given (with auth: the username). */
  clientId: clientIdSchema.optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  ca: z.instanceof(Buffer).optional(),
  connectTimeoutMs: z.number().int().min(100).default(5_000),
  rpcTimeoutMs: z.number().int().min(100).default(10_000),
  keepaliveSec: z.number().int().min(1).default(10),
})

export type ClientOptions = z.infer<typeof clientOptionsSchema>
export type ClientOptionsInput = z.input<typeof clientOptionsSchema>
