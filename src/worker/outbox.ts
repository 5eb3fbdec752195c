/**
 * Results the master has not acknowledged yet (docs/protocol.md §9). They are resent on every
 * connection, to a master instance that comes online, on `rebirth`, and (one) to an `assign` of
 * the same job, until an `ack` removes them; never on a timer. One per job: a job whose result is
 * here is never run again.
 */
export class Outbox {
  private readonly entries = new Map<string, { attempt: number; payload: Buffer }>()

  add(jobId: string, attempt: number, payload: Buffer): void {
    this.entries.set(jobId, { attempt, payload })
  }

  get(jobId: string): { attempt: number; payload: Buffer } | undefined {
    return this.entries.get(jobId)
  }

  ack(jobId: string, attempt?: number): boolean {
    const entry = this.entries.get(jobId)
    if (!entry || (attempt !== undefined && entry.attempt !== attempt)) return false
    return this.entries.delete(jobId)
  }

  get size(): number {
    return this.entries.size
  }

  payloads(): Buffer[] {
    return [...this.entries.values()].map((entry) => entry.payload)
  }
}
