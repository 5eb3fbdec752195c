/** Timers that never keep the process alive: a worker's shutdown waits are all bounded by them. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

export function bounded(promise: Promise<void>, ms: number): Promise<void> {
  return Promise.race([promise, delay(ms)])
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition() && Date.now() < until) await delay(20)
}
