import { z } from 'zod'

/**
 * One pattern for every identifier that becomes a topic level. Excluding `/`, `+` and `#` is what
 * keeps an id from escaping its topic or acting as a wildcard.
 */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

export const idSchema = z.string().regex(ID_PATTERN, 'must be 1-64 chars of [A-Za-z0-9._-]')
export const jobIdSchema = idSchema
export const nodeIdSchema = idSchema
export const clientIdSchema = idSchema
export const namespaceSchema = idSchema

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}
