import type { ReplyTarget } from '../store/job-record.js'

/**
 * When the result of a job was last sent to a reply target, for the latest tens of thousands:
 * a client that resubmits an id while its result is on the way, or twice before its answer
 * arrives (on a reconnect and again on the new master's state, say), must not get it twice.
 * Memory only: after a restart, the subscription times it is compared with are new as well.
 */
export class RecentSends {
  private readonly sentAt = new Map<string, number>()

  constructor(private readonly capacity = 10_000) {}

  get(jobId: string, target: ReplyTarget): number | undefined {
    return this.sentAt.get(keyOf(jobId, target))
  }

  set(jobId: string, target: ReplyTarget, at: number): void {
    const key = keyOf(jobId, target)
    // Re-inserted at the end, so the oldest entry is the first to go.
    this.sentAt.delete(key)
    this.sentAt.set(key, at)
    if (this.sentAt.size > this.capacity) this.sentAt.delete(this.sentAt.keys().next().value!)
  }
}

function keyOf(jobId: string, target: ReplyTarget): string {
  return `${jobId}\u0000${target.replyTo}\u0000${target.correlationId ?? ''}`
}
