/**
 * Capped exponential backoff with full jitter: a fleet that lost its broker at the same instant
 * must not come back at the same instant.
 */
export class Backoff {
  private attempt = 0
  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 20))
    this.attempt++
    return Math.round(this.initialMs / 2 + this.random() * (ceiling - this.initialMs / 2))
  }

  reset(): void {
    this.attempt = 0
  }
}
