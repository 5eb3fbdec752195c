import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { TEST_SEEDS, testSeeds } from './seeds.js'

describe('chaos seeds', () => {
  it('npm test runs the fixed list, and CHAOS_SEED replays one seed', () => {
    expect(testSeeds({})).toEqual([...TEST_SEEDS])
    expect(testSeeds({ CHAOS_SEED: '' })).toEqual([...TEST_SEEDS])
    expect(testSeeds({ CHAOS_SEED: '42' })).toEqual([42])
    expect(() => testSeeds({ CHAOS_SEED: 'x' })).toThrow('CHAOS_SEED=x')
  })

  it('the chaos tests draw no seed of their own', () => {
    for (const file of ['chaos.test.ts', 'flaky.test.ts', 'failover-chaos.test.ts']) {
      const text = readFileSync(new URL(file, import.meta.url), 'utf8')
      expect(text, file).not.toMatch(/Math\.random/)
      expect(text, file).toContain('testSeeds()')
    }
  })
})
