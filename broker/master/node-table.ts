import { NodeIndex, WatchedSet } from './node-index.js'
import { counterOfEpoch, instanceOfEpoch, type NodeLifecycle, type NodeStateMessage, type NodeView } from '../../src/protocol/index.js'

export interface NodeEntry {
  id: string
  state: NodeLifecycle
  epoch: string
  instance: string
  slots: number
  labels: Set<string>
  languages: Set<string>
  commands: Set<string>
  /** Protocol extensions its birth announced (WORKER_FEATURES). */
  features: Set<string>
  version: string
  since: number
  /** Jobs the master has assigned to this node and not yet seen finish or lost. */
  inFlight: Set<string>
  /** When the master last placed a job here, in placement order (0: never); the scheduler's tie-break. */
  lastPlaced: number
  /**
   * Set after a master restart: the node's next birth, whatever its epoch, is the truth about
   * which of its jobs it still holds.
   */
  reconciling: boolean
}

export type NodeChange =
  | { kind: 'birth'; node: NodeEntry; previousEpoch?: string; authoritative: boolean; running: NodeStateMessage['running'] }
  | { kind: 'update'; node: NodeEntry }
  | { kind: 'offline'; node: NodeEntry; epoch: string }
  | { kind: 'stale'; nodeId: string; epoch: string }

/** The node table (docs/protocol.md §9), with the epoch rules that make a late will harmless. */
export class NodeTable {
  private readonly nodes = new Map<string, NodeEntry>()
  /** Online nodes with a free slot, in the scheduler's order (broker/master/node-index.ts). */
  readonly free = new NodeIndex()

  get(id: string): NodeEntry | undefined {
    return this.nodes.get(id)
  }

  all(): IterableIterator<NodeEntry> {
    return this.nodes.values()
  }

  get size(): number {
    return this.nodes.size
  }

  countOnline(): number {
    let online = 0
    for (const node of this.nodes.values()) if (node.state !== 'offline') online++
    return online
  }

  /** A node the master only knows from its stored jobs, waiting for a rebirth after a restart. */
  placeholder(id: string, epoch: string): NodeEntry {
    let node = this.nodes.get(id)
    if (!node) {
      node = this.blank(id, epoch)
      this.nodes.set(id, node)
    }
    node.reconciling = true
    return node
  }

  /**
   * A `retained` birth was published at some earlier connect, so its `running[]` may be stale:
   * it updates the node but never decides which attempts the node still holds.
   */
  apply(id: string, message: NodeStateMessage, now: number, retained = false): NodeChange {
    const existing = this.nodes.get(id)
    if (message.state === 'offline') {
      if (!existing || existing.epoch !== message.epoch || existing.state === 'offline') {
        return { kind: 'stale', nodeId: id, epoch: message.epoch }
      }
      existing.state = 'offline'
      existing.since = now
      this.free.update(existing)
      return { kind: 'offline', node: existing, epoch: message.epoch }
    }
    if (existing && isOlder(message.epoch, existing.epoch)) return { kind: 'stale', nodeId: id, epoch: message.epoch }
    const node = existing ?? this.blank(id, message.epoch)
    const previousEpoch = existing?.epoch
    const newConnection = !existing || previousEpoch !== message.epoch || existing.state === 'offline'
    const authoritative = !retained && (newConnection || node.reconciling)
    if (newConnection || node.state !== message.state) node.since = now
    node.state = message.state
    node.epoch = message.epoch
    node.instance = instanceOfEpoch(message.epoch)
    node.slots = message.slots
    node.labels = new Set(message.labels)
    node.languages = new Set(message.capabilities.languages)
    node.commands = new Set(message.capabilities.commands)
    node.features = new Set(message.features)
    node.version = message.version
    if (!retained) node.reconciling = false
    this.nodes.set(id, node)
    this.free.update(node)
    if (authoritative) return { kind: 'birth', node, previousEpoch, authoritative, running: message.running }
    return { kind: 'update', node }
  }

  view(node: NodeEntry): NodeView {
    return {
      id: node.id,
      state: node.state,
      epoch: node.epoch,
      slots: node.slots,
      inFlight: node.inFlight.size,
      labels: [...node.labels],
      languages: [...node.languages],
      commands: [...node.commands],
      version: node.version,
      since: node.since,
    }
  }

  private blank(id: string, epoch: string): NodeEntry {
    const node: NodeEntry = {
      id,
      state: 'offline',
      epoch,
      instance: instanceOfEpoch(epoch),
      slots: 0,
      labels: new Set(),
      languages: new Set(),
      commands: new Set(),
      features: new Set(),
      version: '',
      since: 0,
      inFlight: new Set(),
      lastPlaced: 0,
      reconciling: false,
    }
    node.inFlight = new WatchedSet(() => this.free.update(node))
    return node
  }
}

/** Within one process, connection counters only grow; across processes the latest message wins. */
function isOlder(candidate: string, current: string): boolean {
  return instanceOfEpoch(candidate) === instanceOfEpoch(current) && counterOfEpoch(candidate) < counterOfEpoch(current)
}
