import type { PlainSubmitter } from '../helpers/plain-submitter.js'

/**
 * The chaos run's checker from a plain mqtt.js client's view (docs/protocol.md §4, §5): every
 * message that reached a submitter's reply topic, counted per job id. A job is
 *
 * - lost if neither a `result` nor a `rejected` with a code reached its submitter (a silent drop);
 * - duplicated if more than one `result` message did (conflicting if they disagree);
 * - rejected if it got a `rejected` with a code and no result: not admitted, and told so.
 *
 * Ids submitted while no master was active are counted apart, to show the run did submit some then.
 */
export class PlainLedger {
  /** job id → its submitter, in submit order. */
  private readonly owner = new Map<string, PlainSubmitter>()
  private readonly duringFailover = new Set<string>()
  private readonly submittedAt = new Map<string, number>()
  /** Submit times in the report are counted from here (the run's start). */
  origin = Date.now()

  submit(submitter: PlainSubmitter, job: Record<string, unknown> & { id: string }, noMasterActive: boolean): void {
    this.owner.set(job.id, submitter)
    this.submittedAt.set(job.id, Date.now())
    if (noMasterActive) this.duringFailover.add(job.id)
    submitter.submit(job)
  }

  private answered(id: string): boolean {
    const replies = this.owner.get(id)!.repliesOf(id)
    return replies.some((reply) => reply.type === 'result' || (reply.type === 'rejected' && typeof reply.code === 'string'))
  }

  /** How many ids were submitted so far. */
  get size(): number {
    return this.owner.size
  }

  /** Ids with neither a result nor a coded rejection yet. */
  get pending(): number {
    let pending = 0
    for (const id of this.owner.keys()) if (!this.answered(id)) pending++
    return pending
  }

  report() {
    let lost = 0
    let silent = 0
    let duplicated = 0
    let conflicting = 0
    let rejected = 0
    let failoverAnswered = 0
    const states: Record<string, number> = {}
    const codes: Record<string, number> = {}
    const rejectCodes: Record<string, number> = {}
    let lostAttempts = 0
    const notes: string[] = []
    const note = (line: string) => notes.push(line)
    for (const [id, submitter] of this.owner) {
      const at = `submitted at +${this.submittedAt.get(id)! - this.origin} ms${this.duringFailover.has(id) ? ' while no master was active' : ''}`
      const replies = submitter.repliesOf(id)
      const results = replies.filter((reply) => reply.type === 'result')
      const rejections = replies.filter((reply) => reply.type === 'rejected')
      for (const rejection of rejections) {
        if (typeof rejection.code !== 'string') note(`rejected without a code ${id} (${at}): ${JSON.stringify(rejection)}`)
        else rejectCodes[rejection.code] = (rejectCodes[rejection.code] ?? 0) + 1
      }
      if (results.length === 0) {
        if (rejections.some((rejection) => typeof rejection.code === 'string')) {
          rejected++
          if (this.duringFailover.has(id)) failoverAnswered++
          continue
        }
        lost++
        if (replies.length === 0) silent++
        note(`lost ${id} (${at}): ${replies.length === 0 ? 'no reply at all' : JSON.stringify(replies)}`)
        continue
      }
      if (this.duringFailover.has(id)) failoverAnswered++
      const final = results[0]!
      const state = String(final.state)
      states[state] = (states[state] ?? 0) + 1
      if (typeof final.code === 'string') codes[final.code] = (codes[final.code] ?? 0) + 1
      lostAttempts += Number(final.lost ?? 0)
      if (results.length > 1) {
        duplicated++
        const keys = results.map((result) => JSON.stringify({ state: result.state, node: result.node, attempts: result.attempts }))
        if (new Set(keys).size > 1) conflicting++
        note(`duplicated ${id} (${at}): ${keys.join(' | ')}`)
      }
    }
    return {
      submitted: this.owner.size,
      lost,
      silent,
      duplicated,
      conflicting,
      rejected,
      rejectCodes,
      submittedDuringFailover: this.duringFailover.size,
      answeredDuringFailover: failoverAnswered,
      states,
      codes,
      lostAttempts,
      problems: notes.slice(0, 20),
    }
  }
}
