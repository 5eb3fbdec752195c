import { z } from 'zod'

/**
 * The HTTP listener (docs/metrics.md, "The HTTP listener"): metrics, health, and on a broker the dashboard and
 * MQTT over WebSocket. Embedders opt in by passing it; `edgerun broker` does unless --no-http.
 */
export const httpOptionsSchema = z.object({
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8080),
  /** Where it binds; the broker's `host` when unset (`edgerun master`: 127.0.0.1). */
  host: z.string().min(1).optional(),
  /**
   * `edgerun master` only (a broker uses its own --auth): the users file that /metrics and
   * /readyz check HTTP basic credentials against when the listener is off loopback.
   */
  authFile: z.string().min(1).optional(),
})

export type HttpOptions = z.infer<typeof httpOptionsSchema>
export type HttpOptionsInput = z.input<typeof httpOptionsSchema>
