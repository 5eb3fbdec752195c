import { z } from 'zod'
import { ID_PATTERN } from './id-pattern.js'

export { ID_PATTERN, isId } from './id-pattern.js'

export const idSchema = z.string().regex(ID_PATTERN, 'must be 1-64 chars of [A-Za-z0-9._-]')
export const jobIdSchema = idSchema
export const nodeIdSchema = idSchema
export const clientIdSchema = idSchema
export const namespaceSchema = idSchema
