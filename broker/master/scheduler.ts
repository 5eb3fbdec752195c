import type { NodeEntry, NodeTable } from './node-table.js'
import { canRun, type Requirement } from './requirement.js'

export function freeSlots(node: NodeEntry): number {
  return node.slots - node.inFlight.size
}

/**
 * Scheduling (docs/protocol.md §10): among online, non-draining nodes that can run the job, the one with the most free
 * slots; ties broken at random (reservoir sampling, so one pass and no allocation).
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
  for (const node of nodes.all()) {
    if (node.state !== 'online') continue
    const free = freeSlots(node)
    if (free <= 0 || free < bestFree) continue
    if (exclude?.has(node.id) || !canRun(node, requirement)) continue
    if (free > bestFree) {
      best = node
      bestFree = free
      ties = 1
    } else if (random() * ++ties < 1) {
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
