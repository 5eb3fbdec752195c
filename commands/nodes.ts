import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import { connectionFlags } from '../cli/flags.js'
import type { NodeStateMessage, NodeView } from '../src/protocol/index.js'

export default class Nodes extends BaseCommand {
  static override summary = 'Show the node table; --watch keeps it live (what show.py was).'
  static override examples = ['<%= config.bin %> nodes', '<%= config.bin %> nodes --watch', '<%= config.bin %> nodes --json']
  static override flags = {
    ...connectionFlags,
    watch: Flags.boolean({ description: 'redraw on every node state change until Ctrl-C', default: false }),
  }

  async run(): Promise<NodeView[]> {
    const { flags } = await this.parse(Nodes)
    const { withClient } = await import('../cli/with-client.js')
    const { nodesTable } = await import('../cli/node-table.js')
    const { untilSignal } = await import('../cli/signals.js')
    return withClient(flags, async (client) => {
      const nodes = await client.listNodes()
      if (!flags.watch) {
        if (!this.jsonEnabled()) this.log(nodesTable(nodes))
        return nodes
      }
      const table = new Map(nodes.map((node) => [node.id, node]))
      const redraw = () => {
        if (this.jsonEnabled()) return
        if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H')
        this.log(`${new Date().toISOString()}  ${flags.url}  namespace ${flags.namespace}\n`)
        this.log(nodesTable([...table.values()]))
      }
      redraw()
      const stop = await client.watchNodes((id, state) => {
        const view = state ? fromState(id, state, table.get(id)) : undefined
        if (view) table.set(id, view)
        else table.delete(id)
        if (this.jsonEnabled()) this.log(JSON.stringify({ event: 'node', id, state: state ?? null }))
        redraw()
      })
      await untilSignal()
      await stop()
      return [...table.values()]
    })
  }
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
