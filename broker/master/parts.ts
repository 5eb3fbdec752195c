import type { Logger } from '../../src/logging/logger.js'
import type { CommitGate } from './commit-gate.js'
import type { Counters } from './counters.js'
import type { MasterEventSink } from './events.js'
import type { JobTable } from './job-table.js'
import type { Lifecycle } from './lifecycle.js'
import type { NodeTable } from './node-table.js'
import type { Notifier } from './notifier.js'
import type { MasterOptions } from './options.js'

/**
 * What the message handlers reach: the master's parts, each the one owner of its state. The
 * handlers hold no state of their own; they decode, check and hand over.
 */
export interface MasterParts {
  readonly options: MasterOptions
  readonly instance: string
  readonly jobs: JobTable
  readonly nodes: NodeTable
  readonly lifecycle: Lifecycle
  readonly gate: CommitGate
  readonly notifier: Notifier
  readonly counters: Counters
  readonly logger: Logger
  /** The embedding broker's own refusal counters, for the `stats` rpc. */
  readonly brokerCounters?: () => Record<string, number>
  /** The Master itself: typed events for metrics (events.ts). */
  readonly events: MasterEventSink
}
