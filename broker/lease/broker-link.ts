import type { Connection } from '../../src/net/connection.js'

/**
 * A master that cannot reach its broker serves nobody, yet its lease thread needs only Postgres
 * and would keep the lease for it (docs/deploy.md). After `graceMs` without its connection,
 * `lost` is called, for the master to step down so that one that can reach a broker takes over.
 * A shorter outage, a broker restarting, costs no takeover.
 */
export function watchBrokerLink(connection: Connection, graceMs: number, lost: (graceMs: number) => void): void {
  let timer: NodeJS.Timeout | undefined
  connection.on('disconnect', () => {
    if (timer) return
    timer = setTimeout(() => {
      timer = undefined
      if (!connection.connected) lost(graceMs)
    }, graceMs)
    timer.unref()
  })
  connection.on('connect', () => {
    clearTimeout(timer)
    timer = undefined
  })
}
