import { describe, expect, it } from 'vitest'
import { maskUrl } from '../../src/logging/mask-url.js'
import { describeStore, parseStoreUrl, storeFromFlags } from '../../broker/store/store-url.js'
import { EdgerunError } from '../../src/errors/index.js'

/** `--store URL` and its shorthands (docs/storage.md, "Choosing the store"). */
describe('--store URL', () => {
  it('names sqlite:DIR, memory and postgres:// stores', () => {
    expect(parseStoreUrl('sqlite:/var/lib/edgerun')).toEqual({ kind: 'sqlite', dataDir: '/var/lib/edgerun' })
    expect(parseStoreUrl('sqlite:')).toEqual({ kind: 'sqlite' })
    expect(parseStoreUrl('memory')).toEqual({ kind: 'memory' })
    expect(parseStoreUrl('postgres://u:p@db:5432/jobs')).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/jobs' })
    expect(parseStoreUrl('postgresql://db/jobs')).toEqual({ kind: 'postgres', url: 'postgresql://db/jobs' })
  })

  it('refuses anything else with BAD_FLAG, a password masked', () => {
    for (const value of ['mysql://x', 'sqlite', 'postgres://u:pw@[bad/db', 'MEMORY']) {
      let error: unknown
      try {
        parseStoreUrl(value)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(EdgerunError)
      expect((error as EdgerunError).code).toBe('BAD_FLAG')
      expect((error as EdgerunError).message).toMatch(/^--store /)
      expect((error as EdgerunError).message).not.toContain(':pw@')
    }
  })

  it('--data-dir and --memory are shorthands; either with --store is BAD_FLAG', () => {
    expect(storeFromFlags({ memory: false })).toEqual({ kind: 'sqlite' })
    expect(storeFromFlags({ dataDir: './d', memory: false })).toEqual({ kind: 'sqlite', dataDir: './d' })
    expect(storeFromFlags({ memory: true })).toEqual({ kind: 'memory' })
    expect(storeFromFlags({ store: 'memory', memory: false })).toEqual({ kind: 'memory' })
    expect(() => storeFromFlags({ store: 'memory', dataDir: './d', memory: false })).toThrow(/^--data-dir and --store cannot be used together/)
    expect(() => storeFromFlags({ store: 'sqlite:./d', memory: true })).toThrow(/^--memory and --store cannot be used together/)
  })

  it('never shows a password', () => {
    expect(maskUrl('postgres://edgerun:s3cret@db:5432/jobs')).toBe('postgres://edgerun:***@db:5432/jobs')
    expect(maskUrl('postgres://db/jobs')).toBe('postgres://db/jobs')
    expect(describeStore({ kind: 'postgres', url: 'postgres://a:b@h/d' }, '/x')).toBe('postgres://a:***@h/d')
    expect(describeStore({ kind: 'sqlite' }, '/x')).toBe('sqlite:/x')
  })
})
