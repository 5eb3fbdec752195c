import { z } from 'zod'

/**
 * The lease's timing (docs/storage.md, "Lease"). Defaults give a takeover within about
 * ttlMs + pollMs of a kill -9 (the target is 2 s at p99), while a renewal has ttlMs - renewMs
 * to spare before the holder steps down on its own. CLI flags only feed this schema.
 */
export const leaseOptionsSchema = z
  .object({
    ttlMs: z.number().int().min(100).max(600_000).default(1_000),
    renewMs: z.number().int().min(20).max(300_000).default(250),
    pollMs: z.number().int().min(20).max(60_000).default(150),
  })
  .refine((o) => o.renewMs * 2 <= o.ttlMs, { message: 'renewMs must be at most half of ttlMs', path: ['renewMs'] })

export type LeaseTiming = z.infer<typeof leaseOptionsSchema>
export type LeaseTimingInput = z.input<typeof leaseOptionsSchema>
