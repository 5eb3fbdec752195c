import { describe, expect, it } from 'vitest'
import { NodeTable, type NodeEntry } from '../../broker/master/node-table.js'
import { requirementOf } from '../../broker/master/requirement.js'
import { freeSlots, markPlaced, pickNode } from '../../broker/master/scheduler.js'
import { jobSpecSchema } from '../../src/protocol/index.js'

const noop = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'noop' }))
const withGpu = requirementOf(jobSpecSchema.parse({ id: 'j', kind: 'noop', requires: { labels: ['gpu'] } }))

/** A seeded generator, so a failure replays. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
}

/** The scheduler's rule as one pass over every node: what the index must agree with. */
function bestByScan(nodes: NodeTable, gpu: boolean): { free: number; lastPlaced: number } | undefined {
  let best: NodeEntry | undefined
  for (const node of nodes.all()) {
    if (node.state !== 'online' || freeSlots(node) <= 0 || (gpu && !node.labels.has('gpu'))) continue
    if (!best || freeSlots(node) > freeSlots(best) || (freeSlots(node) === freeSlots(best) && node.lastPlaced > best.lastPlaced)) best = node
  }
  return best && { free: freeSlots(best), lastPlaced: best.lastPlaced }
}

describe('the node index behind the scheduler', () => {
  it('picks what a pass over every node would, through births, placements, finishes, drains and deaths', () => {
    const random = seeded(7)
    const nodes = new NodeTable()
    const birth = (id: string, state: 'online' | 'draining' | 'offline', slots: number, labels: string[], n: number) =>
      nodes.apply(id, { v: 1, type: 'node', state, epoch: `${id}i.${n}`, slots, labels, capabilities: { languages: [], commands: [] }, running: [], version: 't', ts: 0 }, 0)
    let job = 0
    let epoch = 1
    for (let step = 0; step < 5_000; step++) {
      const id = `n${Math.floor(random() * 40)}`
      const roll = random()
      if (roll < 0.1) birth(id, 'online', 1 + Math.floor(random() * 4), random() < 0.3 ? ['gpu'] : [], ++epoch)
      else if (roll < 0.13) birth(id, 'draining', 2, [], ++epoch)
      else if (roll < 0.16 && nodes.get(id)) birth(id, 'offline', 2, [], epoch)
      else if (roll < 0.6) {
        const gpu = random() < 0.2
        const picked = pickNode(nodes, gpu ? withGpu : noop, undefined, random)
        const expected = bestByScan(nodes, gpu)
        expect(picked && { free: freeSlots(picked), lastPlaced: picked.lastPlaced }).toEqual(expected)
        if (picked) {
          picked.inFlight.add(`j${++job}`)
          markPlaced(picked)
        }
      } else {
        const node = nodes.get(id)
        const first = node && [...node.inFlight][0]
        if (first) node.inFlight.delete(first)
      }
    }
    expect(job).toBeGreaterThan(500)
  })
})
