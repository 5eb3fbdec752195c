import { describe, expect, it } from 'vitest'
import { NodeTable, type NodeEntry } from '../../broker/master/node-table.js'
import { requirementOf } from '../../broker/master/requirement.js'
import { availability, markPlaced, pickNode } from '../../broker/master/scheduler.js'
import { jobSpecSchema } from '../../src/protocol/index.js'

const noop = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'noop' }))
const withGpu = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'noop', requires: { labels: ['gpu'] } }))

type NodeSpec = { id: string; slots: number; labels?: string[]; state?: 'online' | 'draining' | 'offline'; commands?: string[]; languages?: string[] }

function table(nodes: NodeSpec[]): NodeTable {
  const table = new NodeTable()
  for (const { id, slots, labels = [], state = 'online', commands = [], languages = [] } of nodes) {
    const epoch = `${id}i.1`
    const birth = { v: 1 as const, type: 'node' as const, epoch, slots, labels, capabilities: { languages, commands }, running: [], version: 't', ts: 0 }
    table.apply(id, { ...birth, state: state === 'offline' ? 'online' : state }, 0)
    if (state === 'offline') table.apply(id, { ...birth, state: 'offline' }, 0)
  }
  return table
}

/** What the dispatcher does with a pick: take a slot and stamp the node. */
function place(nodes: NodeTable, jobId: string, random?: () => number): NodeEntry {
  const node = pickNode(nodes, noop, undefined, random)!
  node.inFlight.add(jobId)
  markPlaced(node)
  return node
}

describe('the scheduler (docs/protocol.md §10, Scheduling)', () => {
  it('takes the node with the most free slots, however recently another was placed', () => {
    const nodes = table([
      { id: 'a', slots: 2 },
      { id: 'b', slots: 4 },
    ])
    markPlaced(nodes.get('a')!)
    expect(pickNode(nodes, noop, undefined)!.id).toBe('b')
  })

  it('breaks a tie toward the node placed most recently, so one job at a time stays on one process', () => {
    const nodes = table([
      { id: 'a', slots: 10 },
      { id: 'b', slots: 10 },
      { id: 'c', slots: 10 },
    ])
    const first = place(nodes, 'j0')
    first.inFlight.delete('j0')
    for (let i = 1; i <= 50; i++) {
      // A random that would pick any of the three: the warm node must win regardless.
      const node = place(nodes, `j${i}`, () => (i % 3) / 3)
      expect(node).toBe(first)
      node.inFlight.delete(`j${i}`)
    }
  })

  it('spreads a burst: every placement takes a slot, and the most free slots come first', () => {
    const nodes = table([
      { id: 'a', slots: 3 },
      { id: 'b', slots: 3 },
      { id: 'c', slots: 3 },
    ])
    for (let i = 0; i < 9; i++) place(nodes, `j${i}`)
    expect([...nodes.all()].map((node) => node.inFlight.size)).toEqual([3, 3, 3])
    expect(pickNode(nodes, noop, undefined)).toBeUndefined()
  })

  it('picks at random among nodes never placed on (reservoir sampling over the tied ones)', () => {
    const fresh = () =>
      table([
        { id: 'a', slots: 1 },
        { id: 'b', slots: 1 },
        { id: 'c', slots: 1 },
      ])
    // random() < 1/ties replaces the choice: always 0 keeps the last tied node, always 0.99 the first.
    expect(pickNode(fresh(), noop, undefined, () => 0)!.id).toBe('c')
    expect(pickNode(fresh(), noop, undefined, () => 0.99)!.id).toBe('a')
    const seen = new Set<string>()
    for (let i = 0; i < 200 && seen.size < 3; i++) seen.add(pickNode(fresh(), noop, undefined)!.id)
    expect(seen.size).toBe(3)
  })

  it('never takes a warm node that is full, draining, excluded or lacks a label', () => {
    const nodes = table([
      { id: 'a', slots: 1 },
      { id: 'b', slots: 1, labels: ['gpu'] },
      { id: 'c', slots: 1, state: 'draining' },
    ])
    const a = nodes.get('a')!
    markPlaced(nodes.get('c')!)
    markPlaced(a)
    expect(pickNode(nodes, noop, undefined, () => 0.99)!.id).toBe('a')
    expect(pickNode(nodes, noop, new Set(['a']))!.id).toBe('b')
    expect(pickNode(nodes, withGpu, undefined)!.id).toBe('b')
    a.inFlight.add('x')
    expect(pickNode(nodes, noop, undefined)!.id).toBe('b')
  })

  it('runs a command job only where the command is advertised, a judge job only where its language is', () => {
    const echo = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'command', name: 'echo' }))
    const nodes = table([
      { id: 'bare', slots: 8 },
      { id: 'shell', slots: 1, commands: ['echo'] },
    ])
    expect(pickNode(nodes, echo, undefined)!.id).toBe('shell')
    nodes.get('shell')!.inFlight.add('x')
    // The only capable node is full: nothing, rather than a node that cannot run it.
    expect(pickNode(nodes, echo, undefined)).toBeUndefined()
  })

  it('never takes an offline node, however many free slots it had', () => {
    const nodes = table([
      { id: 'gone', slots: 100, state: 'offline' },
      { id: 'here', slots: 1 },
    ])
    expect(pickNode(nodes, noop, undefined)!.id).toBe('here')
  })
})

describe('availability: whether any online node could ever take a job (wait:false, waiting)', () => {
  const echo = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'command', name: 'echo' }))

  it('no node: nothing online (draining and offline nodes take no new jobs)', () => {
    expect(availability(table([]), noop)).toBe('no-node')
    expect(availability(table([{ id: 'a', slots: 1, state: 'draining' }, { id: 'b', slots: 1, state: 'offline' }]), noop)).toBe('no-node')
  })

  it('unsupported: nodes are online but none offers what the job requires', () => {
    expect(availability(table([{ id: 'a', slots: 1 }]), withGpu)).toBe('unsupported')
    expect(availability(table([{ id: 'a', slots: 1, commands: ['ls'] }]), echo)).toBe('unsupported')
  })

  it('capable: one online node could run it, busy or not', () => {
    const nodes = table([
      { id: 'a', slots: 1 },
      { id: 'b', slots: 1, labels: ['gpu'], commands: ['echo'] },
    ])
    nodes.get('b')!.inFlight.add('x')
    expect(availability(nodes, withGpu)).toBe('capable')
    expect(availability(nodes, echo)).toBe('capable')
  })
})
