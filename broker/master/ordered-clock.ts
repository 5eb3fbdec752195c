let last = 0

/**
 * Wall-clock milliseconds that never repeat and never go back within this process. Whether a
 * reply topic was subscribed to before a result was published is decided by comparing two such
 * stamps: with plain Date.now() both often fall in the same millisecond, and a tie cannot say
 * which came first. The stamps stay comparable with the wall-clock times a previous master saved.
 */
export function orderedNow(): number {
  const now = Date.now()
  last = now > last ? now : last + 0.001
  return last
}
