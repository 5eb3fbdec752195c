/**
 * What a standby heard on `{ns}/submit` lately (docs/protocol.md §7a). A broker drops a publish
 * nobody subscribes to, and between a master's death and its successor's subscription nobody
 * may: the successor replays the submits of the last `windowMs` whose id no master admitted
 * (its store does not know them), so a job submitted during a failover is neither lost nor
 * run twice.
 */
export class SubmitBuffer {
  private entries: Array<{ at: number; payload: Buffer }> = []
  /** Submits pushed out by maxEntries (logged by the owner): the bound of what a standby holds. */
  overflowed = 0

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
    /** What ages the entries: the lease's reachable clock, which stands still during a Postgres outage. */
    private readonly clock: () => number = Date.now,
  ) {}

  add(payload: Buffer, now = this.clock()): void {
    this.entries.push({ at: now, payload })
    if (this.entries.length > this.maxEntries) {
      this.overflowed += this.entries.length - this.maxEntries
      this.entries.splice(0, this.entries.length - this.maxEntries)
    }
    // Trimmed a batch at a time, not per message.
    if (this.entries.length % 1024 === 0) this.trim(now)
  }

  /** The submits of the last windowMs, oldest first; the buffer is emptied. */
  take(now = this.clock()): Buffer[] {
    this.trim(now)
    const payloads = this.entries.map((e) => e.payload)
    this.entries = []
    return payloads
  }

  clear(): void {
    this.entries = []
  }

  private trim(now: number): void {
    const from = this.entries.findIndex((e) => now - e.at <= this.windowMs)
    this.entries = from < 0 ? [] : this.entries.slice(from)
  }
}

/** A submit's job id, read without validating the rest (the master validates what it admits). */
export function submitIdOf(payload: Buffer): string | undefined {
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { id?: unknown }).id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}
