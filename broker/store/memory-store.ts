import { MemoryJobTable } from './memory-table.js'
import { TableJobStore } from './table-store.js'

export interface MemoryJobStoreOptions {
  /** The namespace whose jobs it holds; without one, a private store for one master. */
  namespace?: string
  /**
   * Hold the jobs in the same memory as this other store, as two SQLite stores share a file:
   * each still sees only its own namespace's jobs. For tests of exactly that.
   */
  shareWith?: MemoryJobStore
}

/**
 * For tests and throwaway clusters: nothing survives the process. Its table commits every save
 * at once, so it needs no write-behind layer.
 */
export class MemoryJobStore extends TableJobStore<MemoryJobTable> {
  constructor(options: MemoryJobStoreOptions = {}) {
    super(new MemoryJobTable({ namespace: options.namespace, shareWith: options.shareWith?.table }))
  }
}
