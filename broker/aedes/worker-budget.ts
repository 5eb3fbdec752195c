import type { Client } from 'aedes'

/**
 * How many connections may be workers' (`--max-workers`), so that a fleet at its limit leaves the
 * rest of `--max-connections` to submitters and operators (docs/security.md, "Connection limits").
 *
 * A connection counts as a worker from the moment it is known to be one:
 * - with `--auth`, at CONNECT, from its user's role;
 * - without, at CONNECT if its will is a node state (`{ns}/nodes/{id}/state`), as every worker's is
 *   (docs/protocol.md §8), else at its first publish of a node state (a birth);
 * - until then it counts only against `--max-connections`, like a client.
 * A worker over the limit is refused: CONNACK 3 (server unavailable) at CONNECT, or a closed
 * connection at the birth (MQTT 3.1.1 has no negative PUBACK).
 */
export class WorkerBudget {
  private open = 0
  private readonly counted = new WeakSet<Client>()

  constructor(readonly maxWorkers: number) {}

  get workers(): number {
    return this.open
  }

  isWorker(client: Client): boolean {
    return this.counted.has(client)
  }

  /** Counts `client` as a worker; false if the limit is reached (the caller refuses it). */
  admit(client: Client): boolean {
    if (this.counted.has(client)) return true
    const conn = client.conn as { destroyed?: boolean; once(event: 'close', listener: () => void): unknown }
    if (this.open >= this.maxWorkers || conn.destroyed) return false
    this.open++
    this.counted.add(client)
    conn.once('close', () => this.open--)
    return true
  }
}
