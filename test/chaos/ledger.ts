import type { JobReply } from '../../src/protocol/index.js'

/**
 * What reached the submitters, per job id: the checker of the chaos run. A job is lost if no
 * final result reached its submitter, duplicated if more than one result message did, and
 * conflicting if two results disagree (two different final states: the real failure).
 */
export class Ledger {
  private readonly submitted = new Set<string>()
  private readonly settled = new Map<string, JobReply>()
  private readonly rawResults = new Map<string, string[]>()
  private readonly rejected = new Map<string, JobReply>()

  submit(id: string): void {
    this.submitted.add(id)
  }

  /** Every `result` message seen on a reply topic. */
  raw(reply: JobReply): void {
    if (reply.type !== 'result') return
    const key = JSON.stringify({ state: reply.state, node: reply.node, attempts: reply.attempts })
    const list = this.rawResults.get(reply.jobId) ?? []
    list.push(key)
    this.rawResults.set(reply.jobId, list)
  }

  /** What the client library finally handed to the caller for this job. */
  settle(id: string, reply: JobReply): void {
    if (reply.type === 'rejected') this.rejected.set(id, reply)
    this.settled.set(id, reply)
  }

  get pending(): number {
    return this.submitted.size - this.settled.size
  }

  report() {
    let lost = 0
    let duplicated = 0
    let conflicting = 0
    let viaCatchUp = 0
    const states: Record<string, number> = {}
    /** The `code` of results the master ended itself (MAX_ATTEMPTS, MAX_LOST, …). */
    const codes: Record<string, number> = {}
    let lostAttempts = 0
    const problems: string[] = []
    for (const id of this.submitted) {
      const final = this.settled.get(id)
      const raw = this.rawResults.get(id) ?? []
      if (!final || final.type !== 'result') {
        lost++
        if (problems.length < 20) problems.push(`lost ${id}: ${final ? JSON.stringify(final) : 'no final reply'}`)
        continue
      }
      states[final.state] = (states[final.state] ?? 0) + 1
      if (final.code) codes[final.code] = (codes[final.code] ?? 0) + 1
      lostAttempts += final.lost ?? 0
      if (raw.length === 0) viaCatchUp++
      if (raw.length > 1) {
        duplicated++
        if (new Set(raw).size > 1) conflicting++
        if (problems.length < 20) problems.push(`duplicated ${id}: ${raw.join(' | ')}`)
      }
    }
    return { submitted: this.submitted.size, settled: this.settled.size, lost, duplicated, conflicting, viaCatchUp, rejected: this.rejected.size, states, codes, lostAttempts, problems }
  }
}
