import type { LossKind, JobRecord } from '../store/job-record.js'

/**
 * What the master tells whoever listens (metrics: broker/http/metrics.ts). Emitted where each
 * thing happens, with the record itself and no object built for the event: unheard, an emit is
 * a lookup and nothing more.
 */
export interface MasterEvents {
  error: [Error]
  /** A new job was admitted (a duplicate submit is not). */
  'job-admitted': [JobRecord]
  /** An attempt left the queue for a worker (which starts it on receipt). */
  'job-assigned': [JobRecord]
  /** The job reached its final state. */
  'job-finished': [JobRecord]
  /** An attempt went back to the queue: lost (why) or refused by its worker. */
  'attempt-requeued': [reason: LossKind | 'refused']
  /** A store commit (flush) went through, in seconds. */
  commit: [seconds: number]
}

export interface MasterEventSink {
  emit<K extends keyof MasterEvents>(event: K, ...args: MasterEvents[K]): boolean
}
