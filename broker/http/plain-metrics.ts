import type { Registry } from 'prom-client'

/**
 * Counters and histograms on the master's hot path, as plain numbers in cells made once per label
 * set. prom-client's own classes hash the labels object on every `inc` and `observe` (about 1 µs
 * each, 4 µs a job); these cost an increment. prom-client still writes them out: a registry
 * takes any object with a name, a type and `get()`.
 */
interface Cell {
  labels: Record<string, string>
}

abstract class Family<C extends Cell> {
  private readonly cells = new Map<string, C>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never)
  }

  /** The cell of these label values (in labelNames order); call once and keep it. */
  cell(...values: string[]): C {
    const key = values.join('\0')
    let cell = this.cells.get(key)
    if (!cell) {
      const labels: Record<string, string> = {}
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''))
      cell = this.blank(labels)
      this.cells.set(key, cell)
    }
    return cell
  }

  protected abstract blank(labels: Record<string, string>): C
  protected abstract samples(cell: C): Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum' as const, values: [...this.cells.values()].flatMap((cell) => this.samples(cell)) }
  }
}

export interface CounterCell extends Cell {
  value: number
}

export class PlainCounter extends Family<CounterCell> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry)
  }

  protected blank(labels: Record<string, string>): CounterCell {
    return { labels, value: 0 }
  }

  protected samples(cell: CounterCell) {
    return [{ labels: cell.labels, value: cell.value }]
  }
}

export interface HistogramCell extends Cell {
  /** Per bucket, not cumulative; the last one is +Inf. */
  counts: number[]
  sum: number
  count: number
}

export class PlainHistogram extends Family<HistogramCell> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', labelNames, registry)
  }

  observe(cell: HistogramCell, value: number): void {
    const { buckets } = this
    let i = 0
    while (i < buckets.length && value > buckets[i]!) i++
    cell.counts[i]!++
    cell.sum += value
    cell.count++
  }

  protected blank(labels: Record<string, string>): HistogramCell {
    return { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }
  }

  protected samples(cell: HistogramCell) {
    const out: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = []
    let cumulative = 0
    this.buckets.forEach((le, i) => {
      cumulative += cell.counts[i]!
      out.push({ metricName: `${this.name}_bucket`, labels: { ...cell.labels, le }, value: cumulative })
    })
    out.push({ metricName: `${this.name}_bucket`, labels: { ...cell.labels, le: '+Inf' }, value: cell.count })
    out.push({ metricName: `${this.name}_sum`, labels: cell.labels, value: cell.sum })
    out.push({ metricName: `${this.name}_count`, labels: cell.labels, value: cell.count })
    return out
  }
}
