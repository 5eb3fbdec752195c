import { WatchedSet } from './node-index.js'
import type { NodeEntry, NodeTable } from './node-table.js'
import { canRun, type Requirement } from './requirement.js'

export function freeSlots(node: NodeEntry): number {
  return node.slots - node.inFlight.size
}

let placements = 0

/** The dispatcher calls this for every placement it keeps: the stamp `pickNode` breaks ties on. */
export function markPlaced(node: NodeEntry): void {
  node.lastPlaced = ++placements
  if (node.inFlight instanceof WatchedSet) node.inFlight.touch()
}

/** How many tied never-placed nodes a pick samples from, so a fresh fleet of thousands stays O(log n) a pick. */
const TIES_SAMPLED = 32

/**
 * Scheduling (docs/protocol.md §10, "Scheduling"): among online, non-draining nodes that can run
 * the job, the one with the most free slots; among those, the one given a job most recently;
 * among nodes never given one, at random (reservoir sampling over up to 32 of them, in the index's
 * order). The table's index (broker/master/node-index.ts) holds the online nodes with a free slot
 * best first, so a pick walks it only until the best node that can run the job: O(log n) however
 * wide the fleet, plus the nodes it skips for the job's requirements or exclusions.
 *
 * Why the most recent, not at random: a tie means no node is busier than another, and one job at
 * a time spread at random over idle worker processes runs each on a process gone cold, which
 * costs it CPU and latency (BENCHMARKS.md, "Idle workers"). A burst still spreads, since every
 * placement takes a slot and the most free slots come first.
 */
export function pickNode(
  nodes: NodeTable,
  requirement: Requirement,
  exclude: ReadonlySet<string> | undefined,
  random: () => number = Math.random,
): NodeEntry | undefined {
  let best: NodeEntry | undefined
  let bestFree = 0
  let ties = 0
  nodes.free.visit((node) => {
    if (best && (freeSlots(node) < bestFree || node.lastPlaced > 0)) return false
    if (node.state !== 'online' || exclude?.has(node.id) || !canRun(node, requirement)) return true
    if (!best) {
      best = node
      bestFree = freeSlots(node)
      ties = 1
      // Stamps are unique: only nodes never placed on can tie.
      return node.lastPlaced === 0
    }
    if (random() * ++ties < 1) best = node
    return ties < TIES_SAMPLED
  })
  return best
}

export type Availability = 'capable' | 'no-node' | 'unsupported'

/** Whether any online node could ever take the job, free or not (for `wait:false` and `waiting`). */
export function availability(nodes: NodeTable, requirement: Requirement): Availability {
  let anyOnline = false
  for (const node of nodes.all()) {
    if (node.state !== 'online') continue
    anyOnline = true
    if (canRun(node, requirement)) return 'capable'
  }
  return anyOnline ? 'unsupported' : 'no-node'
}
