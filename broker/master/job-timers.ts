/**
 * At most one deadline per job: the accept deadline, the run deadline or the lost-grace timer,
 * since a job is in one of those phases at a time. Setting a new one replaces the old.
 */
export class JobTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>()

  set(jobId: string, ms: number, fn: () => void): void {
    this.clear(jobId)
    const timer = setTimeout(() => {
      this.timers.delete(jobId)
      fn()
    }, ms)
    timer.unref()
    this.timers.set(jobId, timer)
  }

  clear(jobId: string): void {
    const timer = this.timers.get(jobId)
    if (timer) {
      clearTimeout(timer)
      this.timers.delete(jobId)
    }
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }
}
