import type { JobKind, JobState, JobView, NodeView } from '../../../src/protocol/index.js'
import { toView, type JobRecord } from '../../store/job-record.js'
import type { MasterParts } from '../parts.js'

/**
 * The rpcs a dashboard adds (docs/protocol.md §15): `jobs.list` by kind and id prefix, `jobs.get`
 * with the spec and attempts, and `nodes.drain`.
 */

/**
 * How many of the newest jobs (of the requested state and owner) the kind and id-prefix filters
 * look at. The store indexes neither, so a filter is a scan, and a scan must stay short: the
 * master answers everything else on the same thread. An exact id is always found, however old.
 */
export const FILTER_SCAN_LIMIT = 10_000

export interface ListQuery {
  state?: JobState
  kind?: JobKind
  idPrefix?: string
  limit: number
}

export function listJobs(ctx: MasterParts, query: ListQuery, owner: string | undefined): JobView[] {
  const { state, kind, idPrefix, limit } = query
  if (kind === undefined && idPrefix === undefined) return ctx.jobs.list({ state, limit, owner }).map(toView)
  const matches = (job: JobRecord) =>
    (state === undefined || job.state === state) &&
    (kind === undefined || job.spec.kind === kind) &&
    (idPrefix === undefined || job.id.startsWith(idPrefix)) &&
    (owner === undefined || job.owner === owner)
  const out: JobRecord[] = []
  const seen = new Set<string>()
  if (idPrefix !== undefined) {
    const exact = ctx.jobs.lookup(idPrefix)
    if (exact && matches(exact)) {
      out.push(exact)
      seen.add(exact.id)
    }
  }
  for (const job of ctx.jobs.list({ state, owner, limit: FILTER_SCAN_LIMIT })) {
    if (out.length >= limit) break
    if (seen.has(job.id) || !matches(job)) continue
    out.push(job)
  }
  // Newest first, the exact match in its place among them.
  return out.sort((a, b) => b.seq - a.seq).map(toView)
}

/** `jobs.get` with `detail`: the view, the spec as admitted, and every attempt. */
export function detailView(job: JobRecord): JobView {
  return {
    ...toView(job),
    spec: job.spec,
    history: job.history.map((entry) => ({
      attempt: entry.attempt,
      node: entry.node,
      at: entry.at,
      ...(entry.lost
        ? { lost: { at: entry.lost.at, kind: entry.lost.kind, reason: entry.lost.reason, ...(entry.lost.verdict ? { verdict: entry.lost.verdict } : {}) } }
        : {}),
    })),
  }
}

/**
 * `nodes.drain`: the node gets no new assignments from now on. The master marks it `draining`
 * at once (its scheduler takes only `online` nodes) and sends it `control` `drain`, on which the
 * reference worker publishes `draining` and refuses new work until its process ends. What it
 * runs finishes. Undone by restarting the worker: a new process's birth says `online`.
 * Returns undefined for a node the master does not know.
 */
export function drainNode(ctx: MasterParts, id: string): NodeView | undefined {
  const node = ctx.nodes.get(id)
  if (!node) return undefined
  if (node.state === 'online') {
    node.state = 'draining'
    node.since = Date.now()
  }
  ctx.notifier.control(id, 'drain')
  ctx.logger.info({ node: id }, 'node drained by request')
  return ctx.nodes.view(node)
}
