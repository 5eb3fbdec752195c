import type { NodeEntry, NodeTable } from './node-table.js'
import { canRun, type Requirement } from './requirement.js'

export function freeSlots(node: NodeEntry): number {
  return node.slots - node.inFlight.size
}

let placements = 0

/** The dispatcher calls this for every placement it keeps: the stamp `pickNode` breaks ties on. */
export function markPlaced(node: NodeEntry): void {
  node.lastPlaced = ++placements
}

/**
 * Scheduling (docs/protocol.md §10, "Scheduling"): among online, non-draining nodes that can run
 * the job, the one with the most free slots; among those, the one given a job most recently;
 * among nodes never given one, at random (reservoir sampling). One pass, no allocation.
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
  let bestPlaced = 0
  let ties = 0
  for (const node of nodes.all()) {
    if (node.state !== 'online') continue
    const free = freeSlots(node)
    if (free <= 0 || free < bestFree) continue
    if (exclude?.has(node.id) || !canRun(node, requirement)) continue
    const at = node.lastPlaced
    if (free > bestFree || at > bestPlaced) {
      best = node
      bestFree = free
      bestPlaced = at
      ties = 1
    } else if (at === bestPlaced && random() * ++ties < 1) {
      best = node
    }
  }
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
