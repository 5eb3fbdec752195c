import type { NodeEntry, NodeTable } from './node-table.js'

/**
 * One page of `nodes.list` (docs/protocol.md §6): nodes in id order, those after `cursor` (the
 * last id of the previous page), at most `limit`. Without a limit, every node. Ids are the cursor
 * because they are stable: a node that comes or goes between pages moves no other node's place.
 */
export function nodePage(table: NodeTable, limit: number | undefined, cursor: string | undefined): NodeEntry[] {
  const nodes: NodeEntry[] = []
  for (const node of table.all()) if (cursor === undefined || node.id > cursor) nodes.push(node)
  nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return limit === undefined ? nodes : nodes.slice(0, limit)
}
