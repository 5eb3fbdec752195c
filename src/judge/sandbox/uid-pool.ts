/**
 * Each running job gets a uid of its own. RLIMIT_NPROC counts every process of a uid, so with a
 * shared uid (say nobody) one fork bomb would starve a neighbouring job's threads, and the
 * nobody account may be in use by unrelated daemons. The uids come from a range no distribution
 * allocates (and away from the usual /etc/subuid ranges); they need no passwd entry.
 *
 * Uniqueness is guaranteed within this process. Several worker processes on one machine draw
 * at random from a million uids, so two running jobs share one only by rare accident (and then
 * merely share a process budget: the pid namespace still cleans each job up on its own).
 */
import { randomInt } from 'node:crypto'

export const UID_BASE = 3_000_000
export const UID_SPAN = 1_000_000

const inUse = new Set<number>()

export function leaseUid(): { uid: number; release: () => void } {
  for (;;) {
    const uid = UID_BASE + randomInt(UID_SPAN)
    if (inUse.has(uid)) continue
    inUse.add(uid)
    let released = false
    return {
      uid,
      release: () => {
        if (released) return
        released = true
        inUse.delete(uid)
      },
    }
  }
}

/** The uid used by the start-up self-test; never leased to a job. */
export function probeUid(): number {
  return UID_BASE - 1
}
