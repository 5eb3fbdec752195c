import { describe, expect, it } from 'vitest'
import { NodeTable } from '../../broker/master/node-table.js'
import type { NodeStateMessage } from '../../src/protocol/index.js'

function state(epoch: string, fields: Partial<NodeStateMessage> = {}): NodeStateMessage {
  return { v: 1, type: 'node', state: 'online', epoch, slots: 2, labels: ['gpu'], capabilities: { languages: ['c'], commands: ['echo'] }, running: [], version: 't', ts: 0, ...fields }
}

/** The node table applies the epoch rules of docs/protocol.md §9. */
describe('the node table', () => {
  it('a first birth is authoritative and describes the node', () => {
    const nodes = new NodeTable()
    const change = nodes.apply('n1', state('aa.1', { running: [{ jobId: 'j', attempt: 2 }], features: ['ack-batch'] }), 100)
    expect(change).toMatchObject({ kind: 'birth', authoritative: true, previousEpoch: undefined, running: [{ jobId: 'j', attempt: 2 }] })
    expect(nodes.view(nodes.get('n1')!)).toEqual({
      id: 'n1',
      state: 'online',
      epoch: 'aa.1',
      slots: 2,
      inFlight: 0,
      labels: ['gpu'],
      languages: ['c'],
      commands: ['echo'],
      version: 't',
      since: 100,
    })
    expect(nodes.get('n1')!.features.has('ack-batch')).toBe(true)
  })

  it('the same connection again is an update, and `since` moves only when the state does', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.1'), 100)
    expect(nodes.apply('n1', state('aa.1', { slots: 4 }), 200)).toMatchObject({ kind: 'update' })
    expect(nodes.get('n1')).toMatchObject({ slots: 4, since: 100 })
    expect(nodes.apply('n1', state('aa.1', { state: 'draining' }), 300)).toMatchObject({ kind: 'update' })
    expect(nodes.get('n1')).toMatchObject({ state: 'draining', since: 300 })
  })

  it('a later connection of the same process is a birth; an older one is stale', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.2'), 0)
    expect(nodes.apply('n1', state('aa.1', { slots: 9 }), 1)).toEqual({ kind: 'stale', nodeId: 'n1', epoch: 'aa.1' })
    expect(nodes.get('n1')).toMatchObject({ epoch: 'aa.2', slots: 2 })
    expect(nodes.apply('n1', state('aa.3'), 2)).toMatchObject({ kind: 'birth', previousEpoch: 'aa.2' })
  })

  it('another process replaces the node whatever its counter', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.7'), 0)
    expect(nodes.apply('n1', state('bb.1'), 1)).toMatchObject({ kind: 'birth', previousEpoch: 'aa.7' })
    expect(nodes.get('n1')).toMatchObject({ epoch: 'bb.1', instance: 'bb' })
  })

  it('an offline counts only for the current connection: a late will is stale', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.1'), 0)
    nodes.apply('n1', state('aa.2'), 1)
    expect(nodes.apply('n1', state('aa.1', { state: 'offline' }), 2)).toMatchObject({ kind: 'stale' })
    expect(nodes.get('n1')!.state).toBe('online')
    expect(nodes.apply('n1', state('aa.2', { state: 'offline' }), 3)).toMatchObject({ kind: 'offline', epoch: 'aa.2' })
    expect(nodes.get('n1')).toMatchObject({ state: 'offline', since: 3 })
    expect(nodes.apply('n1', state('aa.2', { state: 'offline' }), 4)).toMatchObject({ kind: 'stale' })
    expect(nodes.apply('n2', state('cc.1', { state: 'offline' }), 5)).toMatchObject({ kind: 'stale' })
    expect(nodes.get('n2')).toBeUndefined()
  })

  it('after an offline, the same epoch\'s birth is a new connection again', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.1'), 0)
    nodes.apply('n1', state('aa.1', { state: 'offline' }), 1)
    expect(nodes.apply('n1', state('aa.1'), 2)).toMatchObject({ kind: 'birth', authoritative: true })
  })

  it('a retained birth updates the node but never decides what it holds', () => {
    const nodes = new NodeTable()
    expect(nodes.apply('n1', state('aa.1', { running: [{ jobId: 'j', attempt: 1 }] }), 0, true)).toMatchObject({ kind: 'update' })
    expect(nodes.get('n1')!.state).toBe('online')
    // The same connection speaking live is no new connection: still nothing decided.
    expect(nodes.apply('n1', state('aa.1'), 1)).toMatchObject({ kind: 'update' })
  })

  it('a placeholder from the store waits offline, and the node\'s next birth, whatever its epoch, is authoritative', () => {
    const nodes = new NodeTable()
    const placeholder = nodes.placeholder('n1', 'aa.1')
    placeholder.inFlight.add('j')
    expect(placeholder).toMatchObject({ state: 'offline', reconciling: true })
    expect(nodes.countOnline()).toBe(0)
    // A retained birth does not end the wait.
    expect(nodes.apply('n1', state('aa.1'), 0, true)).toMatchObject({ kind: 'update' })
    expect(nodes.get('n1')!.reconciling).toBe(true)
    expect(nodes.apply('n1', state('aa.1'), 1)).toMatchObject({ kind: 'birth', authoritative: true })
    expect(nodes.get('n1')).toMatchObject({ reconciling: false })
    expect(nodes.get('n1')!.inFlight.has('j')).toBe(true)
  })

  it('a node marked reconciling treats a birth of its current connection as authoritative', () => {
    const nodes = new NodeTable()
    nodes.apply('n1', state('aa.1'), 0)
    expect(nodes.placeholder('n1', 'aa.1')).toBe(nodes.get('n1'))
    expect(nodes.apply('n1', state('aa.1'), 1)).toMatchObject({ kind: 'birth', authoritative: true })
    expect(nodes.apply('n1', state('aa.1'), 2)).toMatchObject({ kind: 'update' })
  })

  it('counts online and draining nodes, not offline ones', () => {
    const nodes = new NodeTable()
    nodes.apply('a', state('a.1'), 0)
    nodes.apply('b', state('b.1', { state: 'draining' }), 0)
    nodes.apply('c', state('c.1'), 0)
    nodes.apply('c', state('c.1', { state: 'offline' }), 0)
    expect(nodes.countOnline()).toBe(2)
    expect(nodes.size).toBe(3)
    expect([...nodes.all()].map((node) => node.id)).toEqual(['a', 'b', 'c'])
  })
})
