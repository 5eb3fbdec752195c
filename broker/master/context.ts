import type { Logger } from '../../src/logging/logger.js'
import type { JobRecord } from '../store/job-record.js'
import type { JobStore } from '../store/job-store.js'
import type { ResultAcks } from './acks.js'
import type { Counters } from './counters.js'
import type { JobQueue } from './job-queue.js'
import type { NodeTable } from './node-table.js'
import type { Notifier } from './notifier.js'
import type { MasterOptions } from './options.js'
import type { JobTimers } from './job-timers.js'

/** The state the master's parts share. Each part owns its own behaviour; none owns this. */
export interface MasterContext {
  options: MasterOptions
  instance: string
  store: JobStore
  nodes: NodeTable
  queue: JobQueue
  notifier: Notifier
  acks: ResultAcks
  counters: Counters
  logger: Logger
  timers: JobTimers
  /** Jobs that are not final, by id. Final jobs live only in the store. */
  active: Map<string, JobRecord>
  /** Per job: nodes that refused it as unable to run it. */
  excluded: Map<string, Set<string>>
  nextSeq(): number
  now(): number
  /** Runs `fn` once everything written so far is durable: nobody hears of a state the disk lacks. */
  afterFlush(fn: () => void): void
  brokerCounters?: () => Record<string, number>
}
