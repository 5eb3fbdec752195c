import type { NodeView } from '../src/protocol/index.js'
import { ago, table } from './format.js'

/** `sort`: by id; false keeps the caller's order. */
export function nodesTable(nodes: NodeView[], sort = true): string {
  if (nodes.length === 0) return 'no nodes'
  const sorted = sort ? [...nodes].sort((a, b) => a.id.localeCompare(b.id)) : nodes
  return table(
    ['NODE', 'STATE', 'SLOTS', 'BUSY', 'LABELS', 'LANGUAGES', 'COMMANDS', 'SINCE'],
    sorted.map((node) => [
      node.id,
      node.state,
      node.slots,
      node.inFlight,
      node.labels.join(',') || null,
      node.languages.join(',') || null,
      node.commands.join(',') || null,
      node.since ? ago(node.since) : null,
    ]),
  )
}
