import { EdgerunError, isEdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { masterJobStore } from './index.js'
import type { JobStore } from './job-store.js'
import { maskUrl } from '../../src/logging/mask-url.js'

/** Where a master keeps its jobs: what `--store URL` names (docs/storage.md). */
export type StoreSpec = { kind: 'sqlite'; dataDir?: string } | { kind: 'memory' } | { kind: 'postgres'; url: string }

/**
 * `sqlite:DIR` (or `sqlite:` for the default data dir), `memory`, or `postgres://…` /
 * `postgresql://…`. Anything else is a BAD_FLAG naming the value and the choices.
 */
export function parseStoreUrl(value: string): StoreSpec {
  if (value === 'memory') return { kind: 'memory' }
  if (value.startsWith('sqlite:')) {
    const dir = value.slice('sqlite:'.length)
    return dir ? { kind: 'sqlite', dataDir: dir } : { kind: 'sqlite' }
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value)
    } catch {
      throw badStore(value, 'not a valid URL')
    }
    return { kind: 'postgres', url: value }
  }
  throw badStore(value, 'must be sqlite:DIR, memory or postgres://user:pass@host:port/db')
}

function badStore(value: string, why: string): EdgerunError {
  const shown = /^postgres/.test(value) ? maskUrl(value) : value
  return new EdgerunError('BAD_FLAG', `--store ${shown}: ${why}`, { details: { flag: 'store', value: shown, allowed: ['sqlite:DIR', 'memory', 'postgres://…'] } })
}

/**
 * The store the flags choose: `--store`, or its shorthands `--data-dir DIR` (sqlite:DIR) and
 * `--memory`; none of them is sqlite in the default data dir. The CLI declares `--store`
 * exclusive of both, so a shorthand on the same layer is oclif's one-line BAD_FLAG and one from
 * a lower layer (EDGERUN_DATA_DIR, the config file) gives way; this check is for other callers.
 */
export function storeFromFlags(flags: { store?: string | undefined; dataDir?: string | undefined; memory: boolean }): StoreSpec {
  if (flags.store !== undefined) {
    const clash = flags.memory ? 'memory' : flags.dataDir !== undefined ? 'data-dir' : undefined
    if (clash) throw new EdgerunError('BAD_FLAG', `--${clash} and --store cannot be used together`, { details: { flag: 'store', value: `--${clash}` } })
    return parseStoreUrl(flags.store)
  }
  if (flags.memory) return { kind: 'memory' }
  return flags.dataDir !== undefined ? { kind: 'sqlite', dataDir: flags.dataDir } : { kind: 'sqlite' }
}

/** How the store is named in logs and the listening line; a password never shows. */
export function describeStore(spec: StoreSpec, defaultDir: string): string {
  if (spec.kind === 'memory') return 'memory'
  if (spec.kind === 'postgres') return maskUrl(spec.url)
  return `sqlite:${spec.dataDir ?? defaultDir}`
}

/**
 * Opens the store a master of `namespace` runs on. Postgres that cannot be reached or opened is
 * STORE_UNREACHABLE with one line naming the URL (password masked), never a stack trace.
 */
export async function openMasterStore(
  spec: StoreSpec,
  options: { namespace: string; logger?: Logger | undefined; beforeCommit?: (() => void) | undefined },
): Promise<JobStore> {
  if (spec.kind !== 'postgres') {
    const { namespace, logger, beforeCommit } = options
    return masterJobStore({ namespace, memory: spec.kind === 'memory', dataDir: spec.kind === 'sqlite' ? spec.dataDir : undefined, logger, ...(beforeCommit ? { beforeCommit } : {}) })
  }
  // No beforeCommit for Postgres: its commits never block the event loop, so nothing waits behind them.
  try {
    // Loaded only here: a SQLite or memory master never loads pg.
    const { PostgresJobStore } = await import('./postgres-store.js')
    return await PostgresJobStore.open({ url: spec.url, namespace: options.namespace, borrow: true, ...(options.logger ? { logger: options.logger } : {}) })
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
    const line = message.includes(maskUrl(spec.url)) ? message : `cannot open the job store at ${maskUrl(spec.url)}: ${message}`
    // A schema too new keeps its own code; anything else is a server that could not be reached.
    const code = isEdgerunError(error) && error.code === 'STORE_UNAVAILABLE' ? 'STORE_UNAVAILABLE' : 'STORE_UNREACHABLE'
    throw new EdgerunError(code, line, { cause: error, details: { store: maskUrl(spec.url) } })
  }
}
