import * as Flags from '@oclif/core/flags'
import { masterOptionsSchema as master } from '../broker/master/options.js'
import { integerFlag } from './checked-flags.js'
import { schemaDefault } from './schema-default.js'

/**
 * Master tuning shared by `edgerun broker`, `edgerun master` and `edgerun up`. Defaults come from
 * the master's option schema (broker/master/options.ts); the bounds are its bounds, a test keeps
 * them equal.
 */
export const masterFlags = {
  store: Flags.string({
    description: 'where jobs are kept: sqlite:DIR (the default, in the default data dir), memory, or postgres://user:pass@host:port/db',
    helpValue: 'URL',
    // A shorthand from a lower layer (EDGERUN_DATA_DIR, the config file) gives way to --store.
    exclusive: ['data-dir', 'memory'],
  }),
  'data-dir': Flags.string({ description: 'directory of the SQLite job store (default: $EDGERUN_DATA_DIR or ~/.local/share/edgerun); --store sqlite:DIR' }),
  memory: Flags.boolean({ description: 'keep jobs in memory only (nothing survives a restart); --store memory', default: false }),
  'ack-timeout': integerFlag({ description: 'ms a worker has to accept an assignment', default: schemaDefault(master, 'ackTimeoutMs'), min: 10, max: 600_000 }),
  'lost-grace': integerFlag({ description: 'ms a dead connection\'s jobs wait for their node to return before requeue', default: schemaDefault(master, 'lostGraceMs'), min: 0, max: 3_600_000 }),
  'reconcile-timeout': integerFlag({ description: 'after a restart, ms running jobs wait for their node\'s rebirth before requeue', default: schemaDefault(master, 'reconcileMs'), min: 0, max: 3_600_000 }),
  'run-grace': integerFlag({ description: 'ms past a job\'s timeoutMs before the master gives up on a silent worker', default: schemaDefault(master, 'runGraceMs'), min: 0, max: 3_600_000 }),
  'max-queued': integerFlag({ description: 'queued jobs the master holds before QUEUE_FULL', default: schemaDefault(master, 'maxQueued'), min: 1 }),
  'max-queued-per-client': integerFlag({ description: 'queued jobs one client may hold before QUEUE_FULL', default: schemaDefault(master, 'maxQueuedPerClient'), min: 1 }),
}

export interface MasterFlagValues {
  'ack-timeout'?: number
  'lost-grace'?: number
  'reconcile-timeout'?: number
  'run-grace'?: number
  'max-queued'?: number
  'max-queued-per-client'?: number
}

export function masterOptionsFrom(flags: MasterFlagValues, namespace: string) {
  return {
    namespace,
    ...(flags['ack-timeout'] !== undefined ? { ackTimeoutMs: flags['ack-timeout'] } : {}),
    ...(flags['lost-grace'] !== undefined ? { lostGraceMs: flags['lost-grace'] } : {}),
    ...(flags['reconcile-timeout'] !== undefined ? { reconcileMs: flags['reconcile-timeout'] } : {}),
    ...(flags['run-grace'] !== undefined ? { runGraceMs: flags['run-grace'] } : {}),
    ...(flags['max-queued'] !== undefined ? { maxQueued: flags['max-queued'] } : {}),
    ...(flags['max-queued-per-client'] !== undefined ? { maxQueuedPerClient: flags['max-queued-per-client'] } : {}),
  }
}
