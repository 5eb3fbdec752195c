import { Readable } from 'node:stream'
import type { Aedes } from 'aedes'

interface RetainedPacket {
  topic: string
  payload: Buffer | string
}

interface RetainedPersistence {
  storeRetained(packet: RetainedPacket, ...rest: unknown[]): unknown
  createRetainedStreamCombi(patterns: string[]): Readable
}

/**
 * Aedes's memory persistence answers every SUBSCRIBE by testing each retained message against each
 * filter: with a fleet's thousands of retained births, a worker's subscription to its own assign
 * and control topics cost a pass over all of them, so a connect storm grew with the square of the
 * fleet (BENCHMARKS.md, "Fleet"). A filter without wildcards can match only the
 * message of that exact topic: this keeps those in a map of its own and answers such SUBSCRIBEs
 * from it. Filters with `+` or `#` still go to Aedes.
 *
 * Only for the in-process memory persistence: a Redis-backed cluster shares its retained messages
 * through Redis, which this map would not see.
 */
export function indexRetained(aedes: Aedes): void {
  const persistence = (aedes as unknown as { persistence: RetainedPersistence }).persistence
  const exact = new Map<string, RetainedPacket>()
  const store = persistence.storeRetained.bind(persistence)
  const combi = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.storeRetained = (packet, ...rest) => {
    if (packet.payload.length === 0) exact.delete(packet.topic)
    else exact.set(packet.topic, { ...packet })
    return store(packet, ...rest)
  }
  persistence.createRetainedStreamCombi = (patterns) => {
    if (patterns.some(hasWildcard)) return combi(patterns)
    const found: RetainedPacket[] = []
    for (const topic of patterns) {
      const packet = exact.get(topic)
      if (packet) found.push(packet)
    }
    return Readable.from(found)
  }
}

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#')
}
