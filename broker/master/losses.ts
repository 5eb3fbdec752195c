import { counterOfEpoch, instanceOfEpoch, maxLostOf, type FinalState, type ResultCode } from '../../src/protocol/index.js'
import { lostCount, type AttemptLoss, type JobRecord, type LossVerdict } from '../store/job-record.js'

/**
 * What a loss was is known only once the master hears from its node again (docs/protocol.md §10):
 * a flaky link and a crash look the same when the connection dies. Here are the rules that
 * decide, and the index of the losses still waiting for them.
 */

/** A state message of a node, as far as it tells which process is alive. */
export interface Heard {
  epoch: string
  /** A will: the broker speaking for a connection that died, which says nothing of its process. */
  will: boolean
}

/**
 * - another instance of the node: the process that held the attempt is gone, so it died (`crash`);
 * - a later connection of the same instance: the process outlived the connection (`link`);
 * - the very connection that held it, still speaking: `timeout` for a run deadline (the link was
 *   up and no result came), `link` otherwise (a missed accept deadline or an unasked cancel: the
 *   job never ran there, or the worker dropped it).
 * A will of that connection proves nothing: the loss stays open.
 */
export function verdictOf(loss: AttemptLoss, heard: Heard): LossVerdict | undefined {
  if (instanceOfEpoch(heard.epoch) !== instanceOfEpoch(loss.epoch)) return 'crash'
  if (counterOfEpoch(heard.epoch) > counterOfEpoch(loss.epoch)) return 'link'
  if (heard.epoch !== loss.epoch || heard.will) return undefined
  return loss.kind === 'run' ? 'timeout' : 'link'
}

export interface Ending {
  state: FinalState
  code: ResultCode
  error: string
}

/** Whether a budget is spent (maxAttempts first: a job that kills its workers is told so). */
export function spentBudget(job: JobRecord, last: AttemptLoss): Ending | undefined {
  const counts = { link: 0, crash: 0, timeout: 0, open: 0 }
  let lastCharged: AttemptLoss | undefined
  for (const entry of job.history) {
    const loss = entry.lost
    if (!loss) continue
    counts[loss.verdict ?? 'open']++
    if (loss.verdict === 'crash' || loss.verdict === 'timeout') lastCharged = loss
  }
  const maxAttempts = job.spec.maxAttempts
  if (job.charged >= maxAttempts) {
    const why: string[] = []
    if (counts.crash > 0) why.push(`its worker process died ${times(counts.crash)} while running it`)
    if (counts.timeout > 0) why.push(`no result came within timeoutMs + run grace ${times(counts.timeout)} while its worker stayed connected`)
    // Records written before losses were resolved charged every loss without a verdict.
    if (why.length === 0) why.push(`${times(job.charged)} lost`)
    const tipped = lastCharged ?? last
    return {
      state: tipped.kind === 'run' && tipped.verdict !== 'crash' ? 'timed_out' : 'failed',
      code: 'MAX_ATTEMPTS',
      error: `gave up after ${job.charged} charged attempt(s) (maxAttempts ${maxAttempts}): ${why.join('; ')}; last: ${tipped.reason}`,
    }
  }
  const maxLost = maxLostOf(job.spec)
  const lost = lostCount(job)
  if (lost >= maxLost) {
    const why = [`lost to connections ${times(counts.link + counts.open)}`]
    if (counts.crash > 0) why.push(`to a dying worker process ${times(counts.crash)}`)
    if (counts.timeout > 0) why.push(`to its run deadline ${times(counts.timeout)}`)
    return {
      state: 'failed',
      code: 'MAX_LOST',
      error: `gave up after ${lost} lost attempt(s) (maxLost ${maxLost}): ${why.join(', ')}; last: ${last.reason}`,
    }
  }
  return undefined
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`
}

/**
 * Which unfinished jobs hold an open loss on which node: the node's next state message resolves
 * them. Rebuilt from the store after a restart (`track`), since the losses themselves are stored.
 */
export class OpenLosses {
  private readonly byNode = new Map<string, Set<string>>()

  add(node: string, jobId: string): void {
    let ids = this.byNode.get(node)
    if (!ids) this.byNode.set(node, (ids = new Set()))
    ids.add(jobId)
  }

  /** The jobs with open losses on this node; they leave the index (`add` puts back what stays open). */
  take(node: string): string[] {
    const ids = this.byNode.get(node)
    if (!ids) return []
    this.byNode.delete(node)
    return [...ids]
  }

  /** Indexes a job's open losses (a record loaded after a restart). */
  track(job: JobRecord): void {
    for (const entry of job.history) if (entry.lost && !entry.lost.verdict) this.add(entry.node, job.id)
  }

  /** A final job's open losses no longer matter. */
  forget(job: JobRecord): void {
    for (const entry of job.history) {
      if (!entry.lost || entry.lost.verdict) continue
      const ids = this.byNode.get(entry.node)
      ids?.delete(job.id)
      if (ids?.size === 0) this.byNode.delete(entry.node)
    }
  }

  /** Open losses indexed, over all nodes (for stats and tests). */
  get size(): number {
    let n = 0
    for (const ids of this.byNode.values()) n += ids.size
    return n
  }
}
