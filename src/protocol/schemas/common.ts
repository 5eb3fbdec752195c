import { z } from 'zod'

export const v1 = z.literal(1)
export const attemptSchema = z.number().int().min(1).max(1000)
/** Epoch = `{instance}.{counter}`: unique per connection, and the instance names the process. */
export const epochSchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}\.[0-9]{1,12}$/)
export const correlationIdSchema = z.string().min(1).max(128)
export const timestampSchema = z.number().int().nonnegative()
