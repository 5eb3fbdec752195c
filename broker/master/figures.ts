import type { NodeView } from '../../src/protocol/index.js'
import type { MasterParts } from './parts.js'

/** What metrics read at scrape time (broker/http/metrics.ts): the same sources as the `stats` rpc. */
export interface MasterFigures {
  /** Non-final jobs by state, as the store counts them (see jobGauges). */
  jobs: { queued: number; assigned: number; running: number }
  /** Age of the queued job admitted first, 0 when nothing is queued. */
  oldestQueuedSeconds: number
  nodes: NodeView[]
  /** The master's named counters since it started (`rejected_<code>` and so on). */
  counters: Record<string, number>
}

export function masterFigures(parts: MasterParts): MasterFigures {
  const { jobs, nodes, counters } = parts
  const oldest = jobs.oldestQueued()
  return {
    jobs: jobGauges(parts),
    oldestQueuedSeconds: oldest ? Math.max(0, (Date.now() - oldest.createdAt) / 1000) : 0,
    nodes: [...nodes.all()].map((node) => nodes.view(node)),
    counters: counters.toJSON(),
  }
}

/**
 * The store's counts. The step from assigned to running is not written (Lifecycle.markRunning),
 * so the store counts a running job as assigned; the split between the two comes from the jobs
 * the nodes hold, and their sum stays the store's.
 */
function jobGauges({ jobs, nodes }: MasterParts): MasterFigures['jobs'] {
  const counts = jobs.counts()
  const inFlight = counts.assigned + counts.running
  let running = 0
  for (const node of nodes.all()) {
    for (const id of node.inFlight) if (jobs.get(id)?.state === 'running') running++
  }
  running = Math.min(running, inFlight)
  return { queued: counts.queued, assigned: inFlight - running, running }
}
