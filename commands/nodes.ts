import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import { connectionFlags } from '../cli/flags.js'
import { printable } from '../cli/printable.js'
import type { MasterInstanceStateMessage, NodeStateMessage, NodeView } from '../src/protocol/index.js'

/** `--watch` redraws at most this often, however many nodes change: a fleet's storm is one redraw. */
const REDRAW_MS = 250

export default class Nodes extends BaseCommand {
  static override summary = 'Show the node table (a summary above 50 nodes; --all lists every one); --watch keeps it live.'
  static override examples = ['<%= config.bin %> nodes', '<%= config.bin %> nodes --all', '<%= config.bin %> nodes --watch', '<%= config.bin %> nodes --json']
  static override flags = {
    ...connectionFlags,
    watch: Flags.boolean({ description: 'redraw on node state changes (at most 4 times a second) until Ctrl-C', default: false }),
    all: Flags.boolean({ description: 'list every node, even in a fleet too large for one screen', default: false }),
  }

  async run(): Promise<NodeView[]> {
    const { flags } = await this.parse(Nodes)
    const { withClient } = await import('../cli/with-client.js')
    const { allNodes, nodesView } = await import('../cli/node-summary.js')
    const { untilSignal } = await import('../cli/signals.js')
    return withClient(flags, async (client) => {
      const nodes = await allNodes(client)
      if (!flags.watch) {
        if (!this.jsonEnabled()) {
          const masters = await client.masters()
          if (masters.length > 0) this.log(mastersView(masters))
          this.log(nodesView(nodes, flags.all))
        }
        return nodes
      }
      const table = new Map(nodes.map((node) => [node.id, node]))
      let timer: NodeJS.Timeout | undefined
      const redraw = () => {
        timer = undefined
        if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H')
        this.log(`${new Date().toISOString()}  ${String(printable('url', flags.url))}  namespace ${flags.namespace}\n`)
        this.log(nodesView([...table.values()], flags.all))
      }
      if (!this.jsonEnabled()) redraw()
      const stop = await client.watchNodes((id, state) => {
        const view = state ? fromState(id, state, table.get(id)) : undefined
        if (view) table.set(id, view)
        else table.delete(id)
        if (this.jsonEnabled()) this.log(JSON.stringify({ event: 'node', id, state: state ?? null }))
        else timer ??= setTimeout(redraw, REDRAW_MS)
      })
      await untilSignal()
      if (timer) clearTimeout(timer)
      await stop()
      return [...table.values()].sort((a, b) => a.id.localeCompare(b.id))
    })
  }
}

/** Which master is active and which stand by (docs/protocol.md §7a): one line each. */
function mastersView(masters: MasterInstanceStateMessage[]): string {
  const order = { online: 0, standby: 1, offline: 2 } as const
  const lines = [...masters]
    .sort((a, b) => order[a.state] - order[b.state] || a.instance.localeCompare(b.instance))
    .map((m) => {
      const role = m.state === 'online' ? 'active' : m.state
      const where = [m.host, m.pid !== undefined ? `pid ${m.pid}` : undefined].filter(Boolean).join(' ')
      return `master ${String(printable('id', m.instance))}  ${role}${m.term !== undefined && m.state === 'online' ? ` (term ${m.term})` : ''}${where ? `  ${String(printable('host', where))}` : ''}`
    })
  return `${lines.join('\n')}\n`
}

function fromState(id: string, state: NodeStateMessage, previous: NodeView | undefined): NodeView {
  return {
    id,
    state: state.state,
    epoch: state.epoch,
    slots: state.slots,
    inFlight: state.state === 'offline' ? 0 : (previous?.inFlight ?? state.running.length),
    labels: state.labels,
    languages: state.capabilities.languages,
    commands: state.capabilities.commands,
    version: state.version,
    since: state.ts,
  }
}
