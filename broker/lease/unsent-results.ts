import type { Logger } from '../../src/logging/logger.js'
import type { Master } from '../master/master.js'
import type { PostgresJobStore } from '../store/postgres-store.js'

/** How far back a new master looks for results its predecessor committed but never sent. */
const UNSENT_RESULT_WINDOW_MS = 15_000
/** At most this many of the newest: half of what SentResults remembers. */
const UNSENT_RESULT_SCAN = 25_000

/**
 * Results the previous master committed in its last moments and never sent (docs/protocol.md §7a,
 * "Results across a failover"): it died between a commit and its replies, and the worker whose
 * outbox would bring the result back may have died with it. Only jobs that ended while the
 * standby saw every result (`watchedSince`; a result seen was noted by the master), and lately:
 * the predecessor's final moments are within a lease's lapse and a takeover. Newest first, and no
 * more than the standby remembers, so that none counted as unsent was merely forgotten.
 */
export function sendUnsentResults(master: Master, store: PostgresJobStore, watchedSince: number | undefined, logger: Logger): void {
  if (watchedSince === undefined) return
  const since = Math.max(watchedSince, Date.now() - UNSENT_RESULT_WINDOW_MS)
  try {
    const sent = master.sendUnsentResults(store.finishedSince(since, UNSENT_RESULT_SCAN))
    if (sent > 0) logger.info({ sent }, 'sent the results the previous master committed but never sent')
  } catch (error) {
    logger.warn({ err: error }, 'could not look for results the previous master never sent')
  }
}
