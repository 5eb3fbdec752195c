import type { EdgerunClient } from '../src/client/client.js'
import type { NodeView } from '../src/protocol/index.js'
import { nodesTable } from './node-table.js'

/** Up to this many nodes, `edgerun nodes` prints the whole table; above it, the summary. */
export const SUMMARY_ABOVE = 50
/** How many of the nodes that need attention the summary lists. */
const ATTENTION_SHOWN = 20
const PAGE = 1_000

/** Every node, in id order, paged through nodes.list (docs/protocol.md §6). */
export async function allNodes(client: EdgerunClient): Promise<NodeView[]> {
  const nodes: NodeView[] = []
  for (let cursor: string | undefined; ; ) {
    const page = await client.listNodes({ limit: PAGE, ...(cursor ? { cursor } : {}) })
    nodes.push(...page)
    if (page.length < PAGE) return nodes
    cursor = page[page.length - 1]!.id
  }
}

/** Offline and draining nodes need an operator; so does an online node holding more than its slots. */
function needsAttention(node: NodeView): boolean {
  return node.state !== 'online' || node.inFlight > node.slots
}

function counts(values: Iterable<string>): string {
  const by = new Map<string, number>()
  for (const value of values) by.set(value, (by.get(value) ?? 0) + 1)
  if (by.size === 0) return '-'
  return [...by].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([key, n]) => `${key} ${n}`).join(', ')
}

/** A fleet in a few lines: counts by state, label and language, then the nodes that need attention. */
export function nodesSummary(nodes: NodeView[]): string {
  if (nodes.length === 0) return 'no nodes'
  let slots = 0
  let busy = 0
  for (const node of nodes) {
    if (node.state === 'offline') continue
    slots += node.slots
    busy += node.inFlight
  }
  const lines = [
    `${nodes.length} nodes: ${counts(nodes.map((node) => node.state))}; ${busy} of ${slots} slots busy`,
    `labels:    ${counts(nodes.flatMap((node) => node.labels))}`,
    `languages: ${counts(nodes.flatMap((node) => node.languages))}`,
  ]
  const attention = nodes.filter(needsAttention).sort((a, b) => b.since - a.since)
  if (attention.length === 0) return `${lines.join('\n')}\n\nno node needs attention`
  lines.push('', `${attention.length} need attention (offline, draining or over their slots), latest first:`, nodesTable(attention.slice(0, ATTENTION_SHOWN), false))
  if (attention.length > ATTENTION_SHOWN) lines.push(`… and ${attention.length - ATTENTION_SHOWN} more (edgerun nodes --all lists every node)`)
  return lines.join('\n')
}

/** The whole table for a small fleet or `--all`, else the summary. */
export function nodesView(nodes: NodeView[], all: boolean): string {
  return all || nodes.length <= SUMMARY_ABOVE ? nodesTable(nodes) : nodesSummary(nodes)
}
