/** The same two load shapes for every system measured, so only the system differs. */
export interface LoadResult {
  jobsPerSec: number
  total: number
  elapsedMs: number
  /** CPU this (submitting) process used during the run. */
  cpuMs: number
}

/** Keeps `inFlight` jobs outstanding until `total` are done; returns jobs/s. */
export async function throughput(send: (i: number) => Promise<void>, total: number, inFlight: number): Promise<LoadResult> {
  let next = 0
  const started = performance.now()
  const cpu = process.cpuUsage()
  const lane = async () => {
    while (next < total) {
      const i = next++
      await send(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane))
  const elapsedMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return { jobsPerSec: (total / elapsedMs) * 1000, total, elapsedMs, cpuMs: (used.user + used.system) / 1000 }
}

/** One job at a time; returns each round trip in ms. */
export async function sequential(send: (i: number) => Promise<void>, count: number, warmup = 50): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await send(-1 - i)
  const latencies: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await send(i)
    latencies.push(performance.now() - started)
  }
  return latencies
}
