import { EdgerunError } from '../errors/index.js'
import { decode, instanceOfEpoch, nodeStateSchema } from '../protocol/index.js'
import { delay } from './waits.js'

/**
 * docs/security.md: a node id is refused while its first holder lives. A retained state that shows
 * another process online under this id means it is taken. The wait counts from the SUBACK, after
 * which the broker sends what it retains; the check is armed before, in case it comes first.
 */
export class IdClaim {
  private check: ((payload: Buffer) => void) | undefined

  /** A state on the node's own topic: while a claim runs, it settles the claim (and returns true). */
  offer(payload: Buffer): boolean {
    if (!this.check) return false
    this.check(payload)
    return true
  }

  async run(subscribed: Promise<void>, claim: { nodeId: string; instance: string; waitMs: number }): Promise<void> {
    let settle!: (error?: Error) => void
    const verdict = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())))
    verdict.catch(() => {}) // read below, once subscribed; a verdict before that is not unhandled
    this.check = (payload) => {
      this.check = undefined
      const decoded = decode(nodeStateSchema, payload)
      if (decoded.ok && decoded.value.state !== 'offline' && instanceOfEpoch(decoded.value.epoch) !== claim.instance) {
        settle(new EdgerunError('DUPLICATE_NODE', `node id "${claim.nodeId}" is held by a live worker (epoch ${decoded.value.epoch}); pick another --id or stop that worker`))
      } else settle()
    }
    try {
      await subscribed
      await Promise.race([verdict, delay(claim.waitMs)])
    } finally {
      this.check = undefined
    }
  }
}
