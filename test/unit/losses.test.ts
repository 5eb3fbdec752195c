import { describe, expect, it } from 'vitest'
import { spentBudget, verdictOf } from '../../broker/master/losses.js'
import { admittedRecord, type AttemptLoss, type JobRecord, type LossKind, type LossVerdict } from '../../broker/store/job-record.js'
import { jobSpecSchema } from '../../src/protocol/index.js'

/** The rules of docs/protocol.md §10, "A lost connection is not a failed attempt". */
describe('what a loss was', () => {
  const loss = (kind: LossKind, epoch = 'procA.3'): AttemptLoss => ({ at: 0, kind, reason: 'r', epoch })

  it('another instance of the node: the process that held it died', () => {
    expect(verdictOf(loss('offline'), { epoch: 'procB.1', will: false })).toBe('crash')
    expect(verdictOf(loss('run'), { epoch: 'procB.1', will: true })).toBe('crash')
  })

  it('a later connection of the same instance, even its will: the link lost it', () => {
    expect(verdictOf(loss('offline'), { epoch: 'procA.4', will: false })).toBe('link')
    expect(verdictOf(loss('run'), { epoch: 'procA.9', will: true })).toBe('link')
  })

  it('the connection that held it, still speaking: a timeout for a run deadline, the link otherwise', () => {
    expect(verdictOf(loss('run'), { epoch: 'procA.3', will: false })).toBe('timeout')
    expect(verdictOf(loss('ack'), { epoch: 'procA.3', will: false })).toBe('link')
    expect(verdictOf(loss('rebirth'), { epoch: 'procA.3', will: false })).toBe('link')
  })

  it('the will of the connection that held it proves nothing', () => {
    expect(verdictOf(loss('offline'), { epoch: 'procA.3', will: true })).toBeUndefined()
    expect(verdictOf(loss('run'), { epoch: 'procA.3', will: true })).toBeUndefined()
  })
})

describe('the budgets', () => {
  function job(spec: Record<string, unknown>, verdicts: Array<LossVerdict | undefined>, kind: LossKind = 'offline'): JobRecord {
    const record = admittedRecord(jobSpecSchema.parse({ id: 'j', kind: 'noop', ...spec }), { replyTo: 'ns/reply/c', owner: 'c', seq: 1, now: 0 })
    for (const [i, verdict] of verdicts.entries()) {
      record.history.push({ attempt: i + 1, node: 'n', epoch: `p${i}.1`, at: i, lost: { at: i, kind, reason: `loss ${i + 1}`, epoch: `p${i}.1`, ...(verdict ? { verdict } : {}) } })
      if (verdict === 'crash' || verdict === 'timeout') record.charged++
    }
    record.lost = verdicts.length
    return record
  }
  const last = (record: JobRecord) => record.history.at(-1)!.lost!

  it('maxLost defaults to 20, and never below maxAttempts', () => {
    const nineteen = job({}, Array(19).fill('link'))
    expect(spentBudget(nineteen, last(nineteen))).toBeUndefined()
    const twenty = job({}, Array(20).fill('link'))
    expect(spentBudget(twenty, last(twenty))).toMatchObject({ state: 'failed', code: 'MAX_LOST' })
    const many = job({ maxAttempts: 30 }, Array(25).fill(undefined))
    expect(spentBudget(many, last(many))).toBeUndefined()
  })

  it('maxAttempts crashes fail the job, saying its worker died', () => {
    const record = job({ maxAttempts: 2 }, ['crash', 'link', 'crash'])
    expect(spentBudget(record, last(record))).toEqual({
      state: 'failed',
      code: 'MAX_ATTEMPTS',
      error: 'gave up after 2 charged attempt(s) (maxAttempts 2): its worker process died 2 times while running it; last: loss 3',
    })
  })

  it('a run-deadline timeout that spends maxAttempts ends timed_out', () => {
    const record = job({ maxAttempts: 1 }, ['timeout'], 'run')
    expect(spentBudget(record, last(record))).toMatchObject({ state: 'timed_out', code: 'MAX_ATTEMPTS' })
  })

  it('maxLost counts every loss and says what they were', () => {
    const record = job({ maxAttempts: 3, maxLost: 4 }, ['link', 'crash', undefined, 'link'])
    expect(spentBudget(record, last(record))).toEqual({
      state: 'failed',
      code: 'MAX_LOST',
      error: 'gave up after 4 lost attempt(s) (maxLost 4): lost to connections 3 times, to a dying worker process once; last: loss 4',
    })
  })
})
