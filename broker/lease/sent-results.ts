/** A result a standby saw on a reply topic: to whom it went, and when the standby saw it. */
export interface SeenResult {
  jobId: string
  replyTo: string
  correlationId?: string
  at: number
}

/**
 * The results a standby saw the active master send (docs/protocol.md §7a, "Results across a
 * failover"). A result whose ack never reached its worker (the master died just after sending
 * it, or the worker's link was down) comes back from the worker's outbox to the next master,
 * which cannot tell from its store whether the client heard it. The broker can: a standby
 * subscribed to `{ns}/reply/+` got every result the broker took from the old master, as the
 * client did. The new master counts those as sent and only acks them: no second copy.
 *
 * The last `capacity` results are kept whatever their age: an ack can be lost long before the
 * master dies (a worker cut off for a while).
 */
export class SentResults {
  private seen = new Map<string, SeenResult>()

  constructor(private readonly capacity = 50_000) {}

  /** A message on `replyTo`: a reply, or a `batch` of replies (protocol §14). Anything else is skipped. */
  add(replyTo: string, payload: Buffer, now = Date.now()): void {
    // Most replies are not results: they are not parsed.
    if (!payload.includes('"result"')) return
    let message: unknown
    try {
      message = JSON.parse(payload.toString('utf8'))
    } catch {
      return
    }
    const replies = isObject(message) && message.type === 'batch' && Array.isArray(message.replies) ? message.replies : [message]
    for (const reply of replies) {
      if (!isObject(reply) || reply.type !== 'result' || typeof reply.jobId !== 'string') continue
      const correlationId = typeof reply.correlationId === 'string' ? reply.correlationId : undefined
      const key = `${reply.jobId}\u0000${replyTo}\u0000${correlationId ?? ''}`
      this.seen.delete(key)
      this.seen.set(key, { jobId: reply.jobId, replyTo, ...(correlationId !== undefined ? { correlationId } : {}), at: now })
      if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!)
    }
  }

  get size(): number {
    return this.seen.size
  }

  /** Everything seen, oldest first; the record is emptied. */
  take(): SeenResult[] {
    const all = [...this.seen.values()]
    this.seen = new Map()
    return all
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
