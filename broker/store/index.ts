import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import type { Logger } from '../../src/logging/logger.js'
import type { JobStore } from './job-store.js'
import { MemoryJobStore } from './memory-store.js'
import { SqliteJobStore } from './sqlite-store.js'

export type { AttemptRecord, JobRecord } from './job-record.js'
export { toView } from './job-record.js'
export type { JobQuery, JobStore } from './job-store.js'
export { emptyCounts } from './job-store.js'
export type { BatchWriter, JobRow, JobTable, RowFilter, StoredRow } from './job-table.js'
export { MemoryJobStore, type MemoryJobStoreOptions } from './memory-store.js'
export { MemoryJobTable } from './memory-table.js'
export { SqliteJobTable } from './sqlite-table.js'
export { TableJobStore } from './table-store.js'
export { WriteBehindStore, type WriteBehindOptions } from './write-behind.js'
export {
  JOBS_DB_FILE,
  MIGRATIONS,
  SCHEMA_VERSION,
  SqliteJobStore,
  type SqliteJobStoreOptions,
} from './sqlite-store.js'

export type JobStoreOptions =
  | { kind: 'memory'; namespace?: string }
  | {
      kind: 'sqlite'
      dataDir: string
      /** Whose jobs: a store reads and writes one namespace's only (docs/storage.md). */
      namespace: string
      logger?: Logger
      synchronous?: 'normal' | 'full'
      borrow?: boolean
      beforeCommit?: () => void
    }

export function createJobStore(options: JobStoreOptions): JobStore {
  switch (options.kind) {
    case 'memory':
      return new MemoryJobStore(options.namespace !== undefined ? { namespace: options.namespace } : {})
    case 'sqlite':
      return SqliteJobStore.open({
        dataDir: options.dataDir,
        namespace: options.namespace,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.synchronous ? { synchronous: options.synchronous } : {}),
        ...(options.borrow ? { borrow: true } : {}),
        ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
      })
  }
}

/**
 * The store a master of `namespace` runs on, in the broker and in `edgerun master` alike: in
 * memory, or SQLite under `dataDir` (default: defaultDataDir()), borrowing the master's records.
 * `beforeCommit` is the master's: it flushes the master's transport before each inline commit,
 * so that an assignment leaves before the commit that records it (docs/storage.md).
 */
export function masterJobStore(options: {
  namespace: string
  memory: boolean
  dataDir?: string | undefined
  logger?: Logger | undefined
  beforeCommit?: (() => void) | undefined
}): JobStore {
  if (options.memory) return createJobStore({ kind: 'memory', namespace: options.namespace })
  return createJobStore({
    kind: 'sqlite',
    dataDir: options.dataDir ?? defaultDataDir(),
    namespace: options.namespace,
    ...(options.logger ? { logger: options.logger } : {}),
    borrow: true,
    ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
  })
}

/**
 * Where the master keeps its data when `--data-dir` is not given: `$EDGERUN_DATA_DIR`, else
 * `$XDG_DATA_HOME/edgerun` (only an absolute XDG_DATA_HOME counts, as the XDG spec says), else
 * `~/.local/share/edgerun`.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.EDGERUN_DATA_DIR
  if (explicit) return explicit
  const xdg = env.XDG_DATA_HOME
  if (xdg && isAbsolute(xdg)) return join(xdg, 'edgerun')
  return join(homedir(), '.local', 'share', 'edgerun')
}
