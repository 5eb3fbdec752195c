import type { JobState } from '../../src/protocol/index.js'
import type { JobRow } from './job-table.js'

/**
 * How a batch of rows crosses to the writer thread. A string crosses as one copy, where arrays
 * of values were cloned value by value (as costly as serializing the records); so rows travel
 * as one string when they can, as arrays of values otherwise.
 */
export type PackedRows = { packed: string } | { rows: RowValues[] }

type RowValues = [id: string, seq: number, state: JobState, owner: string | null, priority: number, createdAt: number, updatedAt: number, json: string]

const FIELD = '\u0001'
const LINE = '\u0002'
const SEPARATORS = /[\u0001\u0002]/

/**
 * JSON never holds a raw U+0001 or U+0002, and ids, states and owners are checked for them; a
 * row that has one (or an empty owner, which would read back as none) sends the batch as values.
 */
export function pack(rows: readonly JobRow[]): PackedRows {
  const lines: string[] = []
  for (const { id, seq, state, owner, priority, createdAt, updatedAt, json } of rows) {
    if (SEPARATORS.test(id) || SEPARATORS.test(state) || (owner !== null && (owner === '' || SEPARATORS.test(owner)))) {
      return { rows: rows.map((r): RowValues => [r.id, r.seq, r.state, r.owner, r.priority, r.createdAt, r.updatedAt, r.json]) }
    }
    lines.push(`${id}${FIELD}${seq}${FIELD}${state}${FIELD}${owner ?? ''}${FIELD}${priority}${FIELD}${createdAt}${FIELD}${updatedAt}${FIELD}${json}`)
  }
  return { packed: lines.join(LINE) }
}

/** The rows again, one at a time, on the thread's side. */
export function* unpack(batch: PackedRows): Iterable<JobRow> {
  if ('rows' in batch) {
    for (const [id, seq, state, owner, priority, createdAt, updatedAt, json] of batch.rows) {
      yield { id, seq, state, owner, priority, createdAt, updatedAt, json }
    }
    return
  }
  if (batch.packed === '') return
  for (const line of batch.packed.split(LINE)) {
    const f = line.split(FIELD)
    yield {
      id: f[0]!,
      seq: Number(f[1]),
      state: f[2] as JobState,
      owner: f[3] === '' ? null : f[3]!,
      priority: Number(f[4]),
      createdAt: Number(f[5]),
      updatedAt: Number(f[6]),
      json: f[7]!,
    }
  }
}
