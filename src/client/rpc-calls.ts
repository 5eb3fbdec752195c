import { randomBytes } from 'node:crypto'
import { EdgerunError } from '../errors/index.js'
import type { RpcReply } from '../protocol/index.js'

interface PendingRpc {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/** The rpc requests a client has sent and not had answered, each with its deadline (docs/protocol.md §6). */
export class RpcCalls {
  private readonly pending = new Map<string, PendingRpc>()

  /** `send` gets the request's fresh id; the answer is the reply's `result`, or its error as an EdgerunError. */
  call(send: (id: string) => void, timeoutMs: number, onTimeout: () => EdgerunError): Promise<unknown> {
    const id = randomBytes(8).toString('base64url')
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(onTimeout())
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      send(id)
    })
  }

  answer(reply: RpcReply): void {
    const rpc = this.pending.get(reply.correlationId)
    if (!rpc) return
    this.pending.delete(reply.correlationId)
    clearTimeout(rpc.timer)
    if (reply.ok) rpc.resolve(reply.result)
    else rpc.reject(new EdgerunError((reply.error?.code ?? 'INTERNAL') as never, reply.error?.message ?? 'rpc failed'))
  }

  rejectAll(error: EdgerunError): void {
    for (const rpc of this.pending.values()) {
      clearTimeout(rpc.timer)
      rpc.reject(error)
    }
    this.pending.clear()
  }
}
