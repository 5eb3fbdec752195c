/** One sample of the Prometheus text format: `name{a="x",b="y"} value`. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** GET with optional HTTP basic credentials; the body as text. */
export async function get(url: string, credentials?: { username: string; password: string }): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = {}
  if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  return { status: response.status, text: await response.text(), headers: response.headers }
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}

/** The sum of a metric's samples whose labels include `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

export function has(samples: Sample[], name: string): boolean {
  return samples.some((s) => s.name === name)
}
