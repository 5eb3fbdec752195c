import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { JobState } from '../../src/protocol/index.js'
import type { JobRecord } from '../../broker/store/job-record.js'
import type { JobStore } from '../../broker/store/job-store.js'

/** What a store under test needs: the store, and how to throw it away afterwards. */
export interface StoreHarness {
  store: JobStore
  /**
   * Another store on the same file or memory as `store`, bound to `namespace`, made as the
   * store's own kind makes them (for SQLite: the same file opened again). `dispose` closes it.
   */
  openNamespace(namespace: string): Promise<JobStore>
  dispose(): Promise<void>
}

export type StoreFactory = () => Promise<StoreHarness>

const FINAL: JobState[] = ['succeeded', 'failed', 'timed_out', 'canceled']
const ALL_STATES: JobState[] = ['queued', 'assigned', 'running', ...FINAL]

/** A minimal valid record; `seq` also drives the timestamps so ordering tests read naturally. */
export function makeJob(id: string, seq: number, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    spec: {
      kind: 'noop',
      id,
      priority: 0,
      timeoutMs: 60_000,
      maxAttempts: 3,
      requires: { labels: [] },
      wait: true,
    },
    state: 'queued',
    replyTo: `edgerun/test/clients/c1/replies`,
    owner: 'c1',
    priority: 0,
    seq,
    createdAt: 1_700_000_000_000 + seq,
    updatedAt: 1_700_000_000_000 + seq,
    attempt: 0,
    charged: 0,
    node: null,
    epoch: null,
    history: [],
    ...overrides,
  }
}

/** A record using every optional field, nested structures and awkward strings. */
export function makeRichJob(id: string, seq: number): JobRecord {
  return makeJob(id, seq, {
    spec: {
      kind: 'judge',
      id,
      priority: -5,
      timeoutMs: 30_000,
      maxAttempts: 2,
      requires: { labels: ['gpu', 'zone=eu-1'] },
      wait: false,
      correlationId: 'corr-1',
      language: 'python3',
      source: 'print(input()[::-1])  # üñí©ødé \u2028 "quotes" \\ back\nslash',
      tests: [
        { name: 't1', input: 'abc\n', expected: 'cba\n' },
        { input: '', expected: '' },
      ],
      timeLimitMs: 1000,
      memoryLimitMb: 256,
      checker: 'tokens',
    },
    state: 'succeeded',
    correlationId: 'corr-1',
    owner: null,
    priority: -5,
    attempt: 2,
    charged: 1,
    node: 'node-a',
    epoch: 'inst-1.3',
    history: [
      { attempt: 1, node: 'node-b', epoch: 'inst-2.1', at: 1_700_000_000_100 },
      { attempt: 2, node: 'node-a', epoch: 'inst-1.3', at: 1_700_000_000_200 },
    ],
    output: {
      verdict: 'WA',
      tests: [
        { name: 't1', verdict: 'AC', timeMs: 12.5, memoryKb: 1024 },
        { name: 't2', verdict: 'WA', timeMs: 3, memoryKb: 900, detail: 'line 1: expected "" got "x"' },
      ],
      compile: { ok: true, output: '' },
    },
    error: 'not really an error, just a string with\ttabs',
    finalState: 'succeeded',
  })
}

function ids(jobs: JobRecord[]): string[] {
  return jobs.map((job) => job.id)
}

function countsOf(entries: Partial<Record<JobState, number>>): Record<JobState, number> {
  const counts = Object.fromEntries(ALL_STATES.map((s) => [s, 0])) as Record<JobState, number>
  return { ...counts, ...entries }
}

/**
 * The behaviour every JobStore must have (docs/storage.md). `factory` gives a fresh, empty store per test.
 * Each behaviour is checked twice where it matters: with the writes still pending (read-your-writes)
 * and after `flush()` (what is committed).
 */
export function describeJobStore(name: string, factory: StoreFactory, traits: { borrows?: boolean } = {}): void {
  describe(`JobStore conformance: ${name}`, () => {
    let harness: StoreHarness
    let store: JobStore

    beforeEach(async () => {
      harness = await factory()
      store = harness.store
    })

    afterEach(async () => {
      await harness.dispose()
    })

    /** Runs `check` with the writes pending, then again after a flush. */
    async function bothWays(check: () => void): Promise<void> {
      check()
      await store.flush()
      check()
    }

    it('starts empty', () => {
      expect(store.get('nope')).toBeUndefined()
      expect(store.list({ limit: 10 })).toEqual([])
      expect(store.loadUnfinished()).toEqual([])
      expect(store.maxSeq()).toBe(0)
      expect(store.counts()).toEqual(countsOf({}))
    })

    // Every store, borrowing or not: a second save of the same object carries its latest state.
    it('the latest saved state of the object is what commits; reads are copies', async () => {
      const job = makeJob('borrow-1', 1)
      store.save(job)
      job.state = 'running'
      store.save(job)
      const read = store.get('borrow-1')!
      read.state = 'failed'
      await bothWays(() => expect(store.get('borrow-1')!.state).toBe('running'))
    })

    it('getMany returns the stored ones, pending or committed, and leaves out the missing', async () => {
      const a = makeJob('many-a', 1)
      const b = makeRichJob('many-b', 2)
      store.save(a)
      store.save(b)
      await bothWays(() => {
        const found = store.getMany(['many-a', 'nope', 'many-b'])
        expect([...found.keys()].sort()).toEqual(['many-a', 'many-b'])
        expect(found.get('many-a')).toEqual(a)
        expect(found.get('many-b')).toEqual(b)
      })
    })

    it('round-trips a record deeply', async () => {
      const plain = makeJob('plain-1', 1)
      const rich = makeRichJob('rich-1', 2)
      store.save(plain)
      store.save(rich)
      await bothWays(() => {
        expect(store.get('plain-1')).toEqual(plain)
        expect(store.get('rich-1')).toEqual(rich)
        expect(store.get('missing')).toBeUndefined()
      })
    })

    it('keeps a snapshot: later mutation of the saved or returned object does not leak in', async ({ skip }) => {
      skip(traits.borrows === true, 'a borrowing store keeps the caller\'s object until it commits (docs/storage.md)')
      const job = makeJob('snap-1', 1)
      store.save(job)
      job.state = 'running'
      job.history.push({ attempt: 1, node: 'x', epoch: 'e.1', at: 1 })
      const read = store.get('snap-1')!
      read.state = 'failed'
      read.history.push({ attempt: 9, node: 'y', epoch: 'e.2', at: 2 })
      await bothWays(() => {
        const again = store.get('snap-1')!
        expect(again.state).toBe('queued')
        expect(again.history).toEqual([])
      })
    })

    it('replaces the whole record on a second save of the same id', async () => {
      store.save(makeRichJob('r-1', 1))
      await store.flush()
      const replacement = makeJob('r-1', 1, { state: 'running', node: 'n1', epoch: 'i.1', attempt: 1, charged: 1 })
      store.save(replacement)
      await bothWays(() => {
        const got = store.get('r-1')!
        expect(got).toEqual(replacement)
        // Fields only the old record had are gone, not merged.
        expect(got.output).toBeUndefined()
        expect(got.finalState).toBeUndefined()
        expect(store.list({ limit: 10 })).toHaveLength(1)
        expect(store.counts()).toEqual(countsOf({ running: 1 }))
      })
    })

    it('keeps the last of several saves of one id in the same tick', async () => {
      for (const state of ['queued', 'assigned', 'running', 'succeeded'] as const) {
        store.save(makeJob('multi', 7, { state }))
      }
      await bothWays(() => {
        expect(store.get('multi')!.state).toBe('succeeded')
        expect(store.counts()).toEqual(countsOf({ succeeded: 1 }))
        expect(store.loadUnfinished()).toEqual([])
      })
    })

    describe('list', () => {
      beforeEach(() => {
        // Saved out of seq order on purpose.
        const jobs: JobRecord[] = [
          makeJob('j3', 3, { owner: 'alice', state: 'running' }),
          makeJob('j1', 1, { owner: 'alice', state: 'queued' }),
          makeJob('j5', 5, { owner: 'bob', state: 'succeeded' }),
          makeJob('j2', 2, { owner: 'bob', state: 'queued' }),
          makeJob('j4', 4, { owner: null, state: 'queued' }),
          makeJob('j6', 6, { owner: 'alice', state: 'failed' }),
        ]
        for (const job of jobs) store.save(job)
      })

      it('returns newest seq first', async () => {
        await bothWays(() => {
          expect(ids(store.list({ limit: 100 }))).toEqual(['j6', 'j5', 'j4', 'j3', 'j2', 'j1'])
        })
      })

      it('applies the limit after ordering', async () => {
        await bothWays(() => {
          expect(ids(store.list({ limit: 2 }))).toEqual(['j6', 'j5'])
          expect(ids(store.list({ limit: 1 }))).toEqual(['j6'])
        })
      })

      it('filters by state', async () => {
        await bothWays(() => {
          expect(ids(store.list({ state: 'queued', limit: 100 }))).toEqual(['j4', 'j2', 'j1'])
          expect(ids(store.list({ state: 'queued', limit: 2 }))).toEqual(['j4', 'j2'])
          expect(ids(store.list({ state: 'timed_out', limit: 100 }))).toEqual([])
        })
      })

      it('filters by owner (a null owner matches no owner filter)', async () => {
        await bothWays(() => {
          expect(ids(store.list({ owner: 'alice', limit: 100 }))).toEqual(['j6', 'j3', 'j1'])
          expect(ids(store.list({ owner: 'bob', limit: 1 }))).toEqual(['j5'])
          expect(ids(store.list({ owner: 'carol', limit: 100 }))).toEqual([])
        })
      })

      it('filters by state and owner together', async () => {
        await bothWays(() => {
          expect(ids(store.list({ state: 'queued', owner: 'alice', limit: 100 }))).toEqual(['j1'])
          expect(ids(store.list({ state: 'queued', owner: 'bob', limit: 100 }))).toEqual(['j2'])
          expect(ids(store.list({ state: 'running', owner: 'bob', limit: 100 }))).toEqual([])
        })
      })

      it('sees a pending replacement that moves a job in or out of a filter', async () => {
        await store.flush()
        // j2 leaves `queued`; j5 enters it. (A job's owner never changes: JobStore.save.)
        store.save(makeJob('j2', 2, { owner: 'bob', state: 'running' }))
        store.save(makeJob('j5', 5, { owner: 'bob', state: 'queued' }))
        await bothWays(() => {
          expect(ids(store.list({ state: 'queued', limit: 100 }))).toEqual(['j5', 'j4', 'j1'])
          expect(ids(store.list({ owner: 'bob', limit: 100 }))).toEqual(['j5', 'j2'])
          expect(ids(store.list({ state: 'queued', owner: 'bob', limit: 100 }))).toEqual(['j5'])
          expect(ids(store.list({ state: 'running', owner: 'alice', limit: 100 }))).toEqual(['j3'])
          expect(ids(store.list({ state: 'running', owner: 'bob', limit: 100 }))).toEqual(['j2'])
          expect(ids(store.list({ limit: 3 }))).toEqual(['j6', 'j5', 'j4'])
          expect(store.list({ limit: 100 })).toHaveLength(6)
        })
      })

      it('returns copies', () => {
        const [first] = store.list({ limit: 1 })
        first!.state = 'canceled'
        expect(store.get('j6')!.state).toBe('failed')
      })
    })

    describe('loadUnfinished', () => {
      it('returns only queued, assigned and running jobs, oldest seq first', async () => {
        const states: JobState[] = ['succeeded', 'running', 'queued', 'failed', 'assigned', 'timed_out', 'canceled', 'queued']
        // Saved newest first, so insertion order cannot pass for seq order.
        for (let i = states.length; i >= 1; i--) store.save(makeJob(`u${i}`, i * 10, { state: states[i - 1]! }))
        await bothWays(() => {
          const unfinished = store.loadUnfinished()
          expect(ids(unfinished)).toEqual(['u2', 'u3', 'u5', 'u8'])
          expect(unfinished.map((job) => job.state)).toEqual(['running', 'queued', 'assigned', 'queued'])
        })
      })

      it('follows replacements in both directions', async () => {
        store.save(makeJob('a', 1, { state: 'queued' }))
        store.save(makeJob('b', 2, { state: 'succeeded' }))
        store.save(makeJob('c', 3, { state: 'running' }))
        await store.flush()
        store.save(makeJob('a', 1, { state: 'canceled' })) // leaves
        store.save(makeJob('b', 2, { state: 'queued' })) // comes back (e.g. a requeue after a restore)
        await bothWays(() => {
          expect(ids(store.loadUnfinished())).toEqual(['b', 'c'])
        })
      })

      it('returns full records', async () => {
        const job = makeJob('full', 1, {
          state: 'assigned',
          node: 'n',
          epoch: 'e.1',
          attempt: 1,
          history: [{ attempt: 1, node: 'n', epoch: 'e.1', at: 5 }],
        })
        store.save(job)
        await bothWays(() => {
          expect(store.loadUnfinished()).toEqual([job])
        })
      })
    })

    it('maxSeq is the highest seq stored, whatever the save order', async () => {
      store.save(makeJob('m2', 20))
      store.save(makeJob('m1', 10))
      store.save(makeJob('m9', 90, { state: 'succeeded' }))
      store.save(makeJob('m3', 30))
      await bothWays(() => {
        expect(store.maxSeq()).toBe(90)
      })
      store.save(makeJob('m10', 100))
      await bothWays(() => {
        expect(store.maxSeq()).toBe(100)
      })
    })

    it('counts every state, zero included, and follows replacements', async () => {
      store.save(makeJob('c1', 1, { state: 'queued' }))
      store.save(makeJob('c2', 2, { state: 'queued' }))
      store.save(makeJob('c3', 3, { state: 'running' }))
      store.save(makeJob('c4', 4, { state: 'failed' }))
      await bothWays(() => {
        expect(store.counts()).toEqual(countsOf({ queued: 2, running: 1, failed: 1 }))
      })
      store.save(makeJob('c1', 1, { state: 'assigned' }))
      store.save(makeJob('c3', 3, { state: 'succeeded' }))
      store.save(makeJob('c5', 5, { state: 'timed_out' }))
      await bothWays(() => {
        expect(store.counts()).toEqual(countsOf({ queued: 1, assigned: 1, succeeded: 1, failed: 1, timed_out: 1 }))
      })
    })

    describe('flush', () => {
      it('resolves at once when nothing is pending', async () => {
        await expect(store.flush()).resolves.toBeUndefined()
        store.save(makeJob('f1', 1))
        await store.flush()
        await expect(store.flush()).resolves.toBeUndefined()
      })

      it('resolves every concurrent flush, and the writes are kept', async () => {
        store.save(makeJob('f1', 1))
        const first = store.flush()
        store.save(makeJob('f2', 2))
        const second = store.flush()
        const third = store.flush()
        await expect(Promise.all([first, second, third])).resolves.toEqual([undefined, undefined, undefined])
        expect(ids(store.list({ limit: 10 }))).toEqual(['f2', 'f1'])
      })

      it('covers saves made in earlier ticks', async () => {
        store.save(makeJob('t1', 1))
        await new Promise((resolve) => setImmediate(resolve))
        store.save(makeJob('t2', 2))
        await new Promise((resolve) => setTimeout(resolve, 1))
        store.save(makeJob('t3', 3))
        await store.flush()
        expect(ids(store.list({ limit: 10 }))).toEqual(['t3', 't2', 't1'])
      })
    })

    it('reads its own writes synchronously, before any flush', () => {
      store.save(makeJob('ryw', 42, { state: 'running', owner: 'zed' }))
      expect(store.get('ryw')?.state).toBe('running')
      expect(ids(store.list({ owner: 'zed', limit: 5 }))).toEqual(['ryw'])
      expect(ids(store.loadUnfinished())).toEqual(['ryw'])
      expect(store.maxSeq()).toBe(42)
      expect(store.counts().running).toBe(1)
    })

    it('handles 10,000 saves in one tick with one flush', async () => {
      const n = 10_000
      for (let i = 1; i <= n; i++) {
        store.save(makeJob(`bulk-${i}`, i, { state: i % 10 === 0 ? 'queued' : 'succeeded', owner: `o${i % 7}` }))
      }
      await store.flush()
      expect(store.maxSeq()).toBe(n)
      expect(store.counts()).toEqual(countsOf({ queued: n / 10, succeeded: n - n / 10 }))
      expect(ids(store.list({ limit: 3 }))).toEqual([`bulk-${n}`, `bulk-${n - 1}`, `bulk-${n - 2}`])
      const unfinished = store.loadUnfinished()
      expect(unfinished).toHaveLength(n / 10)
      expect(unfinished[0]!.id).toBe('bulk-10')
      expect(unfinished.at(-1)!.id).toBe(`bulk-${n}`)
      expect(store.get('bulk-4321')).toEqual(makeJob('bulk-4321', 4321, { state: 'succeeded', owner: `o${4321 % 7}` }))
    })

    describe('namespaces: two on one file or memory never see each other', () => {
      let alpha: JobStore
      let beta: JobStore

      beforeEach(async () => {
        alpha = await harness.openNamespace('alpha')
        beta = await harness.openNamespace('beta')
      })

      /** `check` with the writes of both pending, then again once both are flushed. */
      async function bothFlushed(check: () => void): Promise<void> {
        check()
        await Promise.all([alpha.flush(), beta.flush()])
        check()
      }

      it('says which namespace it holds', () => {
        expect(alpha.namespace).toBe('alpha')
        expect(beta.namespace).toBe('beta')
      })

      it('the same id in two namespaces is two jobs: get and getMany answer with their own', async () => {
        const alphas = makeRichJob('same-id', 1)
        const betas = makeJob('same-id', 1, { owner: 'bob', state: 'running', node: 'n-beta' })
        const onlyAlpha = makeJob('only-alpha', 2)
        alpha.save(alphas)
        beta.save(betas)
        alpha.save(onlyAlpha)
        await bothFlushed(() => {
          expect(alpha.get('same-id')).toEqual(alphas)
          expect(beta.get('same-id')).toEqual(betas)
          expect(beta.get('only-alpha')).toBeUndefined()
          expect([...beta.getMany(['same-id', 'only-alpha'])]).toEqual([['same-id', betas]])
          expect(new Map(alpha.getMany(['same-id', 'only-alpha']))).toEqual(new Map([['same-id', alphas], ['only-alpha', onlyAlpha]]))
          expect(store.get('same-id')).toBeUndefined()
          expect(store.getMany(['same-id', 'only-alpha']).size).toBe(0)
        })
      })

      it('a replacement in one namespace leaves the other\'s job of that id alone', async () => {
        alpha.save(makeJob('same-id', 1, { state: 'queued' }))
        beta.save(makeJob('same-id', 1, { state: 'queued', owner: 'bob' }))
        await Promise.all([alpha.flush(), beta.flush()])
        alpha.save(makeJob('same-id', 1, { state: 'canceled', error: 'alpha canceled it' }))
        await bothFlushed(() => {
          expect(alpha.get('same-id')).toMatchObject({ state: 'canceled', error: 'alpha canceled it' })
          expect(beta.get('same-id')).toEqual(makeJob('same-id', 1, { state: 'queued', owner: 'bob' }))
          expect(ids(beta.loadUnfinished())).toEqual(['same-id'])
          expect(alpha.loadUnfinished()).toEqual([])
        })
      })

      it('list, counts, loadUnfinished and scanUnfinished see their own namespace only', async () => {
        alpha.save(makeJob('j1', 1, { owner: 'alice', state: 'queued' }))
        alpha.save(makeJob('j2', 2, { owner: 'bob', state: 'running' }))
        alpha.save(makeJob('j3', 3, { owner: 'alice', state: 'succeeded' }))
        beta.save(makeJob('j1', 1, { owner: 'alice', state: 'failed' }))
        beta.save(makeJob('k4', 4, { owner: 'alice', state: 'assigned' }))
        await bothFlushed(() => {
          expect(ids(alpha.list({ limit: 10 }))).toEqual(['j3', 'j2', 'j1'])
          expect(ids(beta.list({ limit: 10 }))).toEqual(['k4', 'j1'])
          expect(ids(beta.list({ state: 'queued', limit: 10 }))).toEqual([])
          expect(ids(alpha.list({ state: 'failed', limit: 10 }))).toEqual([])
          expect(ids(beta.list({ owner: 'alice', limit: 10 }))).toEqual(['k4', 'j1'])
          expect(ids(alpha.list({ owner: 'alice', limit: 10 }))).toEqual(['j3', 'j1'])
          expect(ids(beta.list({ state: 'failed', owner: 'alice', limit: 10 }))).toEqual(['j1'])
          expect(ids(alpha.list({ state: 'queued', owner: 'alice', limit: 10 }))).toEqual(['j1'])
          expect(alpha.counts()).toEqual(countsOf({ queued: 1, running: 1, succeeded: 1 }))
          expect(beta.counts()).toEqual(countsOf({ failed: 1, assigned: 1 }))
          expect(store.counts()).toEqual(countsOf({}))
          expect(ids(alpha.loadUnfinished())).toEqual(['j1', 'j2'])
          expect(ids(beta.loadUnfinished())).toEqual(['k4'])
          expect(store.list({ limit: 10 })).toEqual([])
          expect(store.loadUnfinished()).toEqual([])
        })
        for (const [one, expected] of [[alpha, ['j1', 'j2']], [beta, ['k4']]] as const) {
          if (one.scanUnfinished) expect(ids([...one.scanUnfinished()])).toEqual(expected)
        }
      })

      it('seq is numbered per namespace: the same seq in both never collides, and maxSeq is each one\'s own', async () => {
        // Two masters starting at once would both number from 1: their writes must all land.
        for (let seq = 1; seq <= 3; seq++) alpha.save(makeJob(`a${seq}`, seq))
        for (let seq = 1; seq <= 2; seq++) beta.save(makeJob(`b${seq}`, seq))
        beta.save(makeJob('a1', 9, { state: 'succeeded' }))
        await bothFlushed(() => {
          expect(alpha.maxSeq()).toBe(3)
          expect(beta.maxSeq()).toBe(9)
          expect(store.maxSeq()).toBe(0)
          expect(ids(alpha.list({ limit: 10 }))).toEqual(['a3', 'a2', 'a1'])
          expect(ids(beta.list({ limit: 10 }))).toEqual(['a1', 'b2', 'b1'])
        })
        // Each numbers its next admissions from its own maxSeq.
        alpha.save(makeJob('a4', alpha.maxSeq() + 1))
        beta.save(makeJob('b10', beta.maxSeq() + 1))
        await bothFlushed(() => {
          expect(alpha.maxSeq()).toBe(4)
          expect(beta.maxSeq()).toBe(10)
          expect(alpha.get('a1')).toEqual(makeJob('a1', 1))
          expect(beta.get('a1')).toEqual(makeJob('a1', 9, { state: 'succeeded' }))
        })
      })

      it('a parked job comes back from its own namespace, and its dispatch is saved there', async () => {
        // The master parks a queued record (saved, then dropped from memory) and reads it back
        // with getMany or get when it dispatches, cancels or answers it.
        const parkedAlpha = makeJob('parked', 5, { priority: 7 })
        const parkedBeta = makeJob('parked', 5, { priority: -1, owner: 'bob' })
        alpha.save(parkedAlpha)
        beta.save(parkedBeta)
        await Promise.all([alpha.flush(), beta.flush()])
        const back = alpha.getMany(['parked']).get('parked')!
        expect(back).toEqual(parkedAlpha)
        alpha.save({ ...back, state: 'assigned', node: 'n1', epoch: 'e.1', attempt: 1 })
        await bothFlushed(() => {
          expect(beta.get('parked')).toEqual(parkedBeta)
          expect(beta.getMany(['parked']).get('parked')).toEqual(parkedBeta)
          expect(beta.loadUnfinished()).toEqual([parkedBeta])
          expect(alpha.loadUnfinished().map((job) => [job.id, job.state])).toEqual([['parked', 'assigned']])
          expect(beta.counts()).toEqual(countsOf({ queued: 1 }))
          expect(alpha.counts()).toEqual(countsOf({ assigned: 1 }))
        })
      })

      it('many jobs in one namespace are not counted, listed or numbered in the other', async () => {
        for (let i = 1; i <= 1000; i++) alpha.save(makeJob(`bulk-${i}`, i, { state: i % 2 === 0 ? 'queued' : 'succeeded' }))
        beta.save(makeJob('bulk-1', 1, { state: 'running' }))
        await bothFlushed(() => {
          expect(beta.counts()).toEqual(countsOf({ running: 1 }))
          expect(beta.maxSeq()).toBe(1)
          expect(ids(beta.list({ limit: 5 }))).toEqual(['bulk-1'])
          expect(beta.loadUnfinished()).toHaveLength(1)
          expect(alpha.counts()).toEqual(countsOf({ queued: 500, succeeded: 500 }))
          expect(alpha.maxSeq()).toBe(1000)
        })
      })
    })

    describe('close', () => {
      it('is idempotent', async () => {
        store.save(makeJob('x', 1))
        await store.close()
        await expect(store.close()).resolves.toBeUndefined()
      })

      it('refuses writes afterwards with a clear error', async () => {
        await store.close()
        expect(() => store.save(makeJob('late', 1))).toThrow(/closed/)
      })
    })
  })
}
