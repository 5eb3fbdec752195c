import type { z } from 'zod'
import { decode } from '../../../src/protocol/index.js'
import type { MasterParts } from '../parts.js'

/**
 * A node's message, or undefined once a malformed one is counted and logged: a node is never
 * answered, so the counter (the `stats` rpc's `rejected`) is all anyone learns of it.
 */
export function decodeFromNode<S extends z.ZodType>(ctx: MasterParts, schema: S, payload: Buffer, nodeId: string, what: string): z.infer<S> | undefined {
  const decoded = decode(schema, payload, ctx.options.maxPayloadBytes)
  if (decoded.ok) return decoded.value
  ctx.counters.inc(`rejected_${decoded.code}`)
  ctx.logger.warn({ node: nodeId, reason: decoded.message }, `malformed ${what}`)
  return undefined
}
