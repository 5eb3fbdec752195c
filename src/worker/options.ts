import { z } from 'zod'
import { EdgerunError } from '../errors/index.js'
import { DEFAULT_NAMESPACE, idSchema, namespaceSchema } from '../protocol/index.js'

export const DEFAULT_URL = 'mqtt://127.0.0.1:1883'

/** `edgerun worker`. Defaults live here; flags and env only feed this schema. */
export const workerOptionsSchema = z.object({
  url: z.string().default(DEFAULT_URL),
  namespace: namespaceSchema.default(DEFAULT_NAMESPACE),
  id: idSchema,
  slots: z.number().int().min(1).max(1024).default(2),
  labels: z.array(z.string().regex(/^[A-Za-z0-9._:=-]{1,64}$/)).default([]),
  /** name → absolute path of an executable. Jobs can run these names and nothing else. */
  commands: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.string().min(1)).default({}),
  /** Set false to not advertise or run judge jobs even where toolchains exist. */
  judge: z.boolean().default(true),
  keepaliveSec: z.number().int().min(1).max(3600).default(10),
  username: z.string().optional(),
  password: z.string().optional(),
  ca: z.instanceof(Buffer).optional(),
  /** stdout and stderr are each cut at this many bytes. */
  outputLimitBytes: z.number().int().min(1024).default(64 * 1024),
  /** On a graceful stop, how long running jobs may finish before they are handed back. */
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /** On first connect, how long to wait for a retained state showing another live holder of the id. */
  claimWaitMs: z.number().int().min(0).default(150),
  connectTimeoutMs: z.number().int().min(100).default(10_000),
})

export type WorkerOptions = z.infer<typeof workerOptionsSchema>
export type WorkerOptionsInput = z.input<typeof workerOptionsSchema>

/** `NAME=PATH` (the --command flag) → [name, path]. */
export function parseCommandSpec(spec: string): [string, string] {
  const eq = spec.indexOf('=')
  if (eq <= 0 || eq === spec.length - 1) throw new EdgerunError('BAD_FLAG', `--command expects NAME=PATH, got "${spec}"`)
  return [spec.slice(0, eq), spec.slice(eq + 1)]
}
