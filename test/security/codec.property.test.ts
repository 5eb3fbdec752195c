import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ID_PATTERN,
  REJECT_CODES,
  assignSchema,
  controlSchema,
  decode,
  jobReplySchema,
  jobFeedSchema,
  masterStateSchema,
  masterStatsSchema,
  nodeStateSchema,
  parseTopic,
  rpcReplySchema,
  rpcRequestSchema,
  submitSchema,
  topics,
  workerEventSchema,
} from '../../src/protocol/index.js'
import { withMaster } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

const NS = 'prop'
const SCHEMAS = { submitSchema, rpcRequestSchema, workerEventSchema, nodeStateSchema, masterStateSchema, jobReplySchema, rpcReplySchema, assignSchema, controlSchema }
const CODES = new Set<string>(REJECT_CODES)

const idArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/)
const nastyString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('#', '+', 'a/b', '', '$SYS/x', 'x'.repeat(65), '\u0000', '../..', `${NS}/reply/+`, `${NS}/reply/ok`, 'other/reply/x'),
  idArb,
)
const nastyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1, 1e300, -1e300, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 1.5))
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nastyString, nastyNumber, fc.constantFrom(null, true, false, [], {}))

const validSubmits = [
  { v: 1, type: 'submit', id: 'n1', kind: 'noop', replyTo: `${NS}/reply/ok` },
  { v: 1, type: 'submit', id: 'c1', kind: 'command', name: 'echo', args: ['a'], stdin: 'x', replyTo: `${NS}/reply/ok`, correlationId: 'k' },
  { v: 1, type: 'submit', id: 'j1', kind: 'judge', language: 'c', source: 'int main(){}', tests: [{ input: '1', expected: '1' }], replyTo: `${NS}/reply/ok`, priority: 3, requires: { labels: ['gpu'] } },
]
const validRpc = { v: 1, type: 'rpc', id: 'r1', method: 'jobs.list', params: { limit: 5 }, replyTo: `${NS}/reply/ok` }
const validEvent = { v: 1, type: 'result', jobId: 'n1', attempt: 1, epoch: 'abc.1', state: 'succeeded', output: { ok: true } }
const validState = { v: 1, type: 'node', state: 'online', epoch: 'abc.1', slots: 2, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: '1', ts: 1 }

/** A valid message with up to three fields replaced by hostile values and up to two removed. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = [...Object.keys(base), 'extra', 'v', 'type']
  return fc
    .tuple(fc.dictionary(fc.constantFrom(...keys), nastyValue, { maxKeys: 3 }), fc.subarray(Object.keys(base), { maxLength: 2 }), fc.boolean())
    .map(([overrides, removed, proto]) => {
      const copy: Record<string, unknown> = { ...base, ...overrides }
      for (const key of removed) delete copy[key]
      const json = JSON.stringify(copy)
      // A literal "__proto__" key: JSON.parse makes it an own property, which must pollute nothing.
      return proto ? json.replace(/^\{/, '{"__proto__":{"polluted":true},') : json
    })
}

const anyPayload: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.constantFrom(...validSubmits).chain(mutated).map((s) => Buffer.from(s)),
  mutated(validRpc).map((s) => Buffer.from(s)),
  mutated(validEvent).map((s) => Buffer.from(s)),
  mutated(validState).map((s) => Buffer.from(s)),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
)

describe('codec and schemas (property tests)', () => {
  it('any byte string either decodes to a valid message or is rejected with a code; decode never throws', () => {
    fc.assert(
      fc.property(anyPayload, fc.constantFrom(...Object.values(SCHEMAS)), (payload, schema) => {
        const result = decode(schema as typeof submitSchema, payload)
        if (result.ok) {
          // What passed is exactly what the schema accepts: decoding it again gives the same value.
          const again = decode(schema as typeof submitSchema, Buffer.from(JSON.stringify(result.value)))
          expect(again).toEqual({ ok: true, value: result.value })
        } else {
          expect(CODES.has(result.code)).toBe(true)
          expect(typeof result.message).toBe('string')
        }
      }),
      { numRuns: 3000 },
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('an accepted submit has an id that is one topic level, and a string replyTo', () => {
    fc.assert(
      fc.property(fc.constantFrom(...validSubmits).chain(mutated), (json) => {
        const result = decode(submitSchema, json)
        if (!result.ok) return
        expect(result.value.id).toMatch(ID_PATTERN)
        expect(parseTopic(NS, topics.jobEvents(NS, result.value.id))).toEqual({ kind: 'jobEvents', jobId: result.value.id })
        expect(typeof result.value.replyTo).toBe('string')
      }),
      { numRuns: 2000 },
    )
  })

  it('the size limit is checked before parsing', () => {
    const big = Buffer.alloc(2048, 0x20)
    expect(decode(submitSchema, big, 1024)).toMatchObject({ ok: false, code: 'BAD_MESSAGE', message: expect.stringContaining('exceeds 1024') })
  })
})

const REPLY_SCHEMAS = { reply: [jobReplySchema, rpcReplySchema], jobEvents: [jobReplySchema], nodeAssign: [assignSchema], nodeControl: [controlSchema], masterState: [masterStateSchema], masterStats: [masterStatsSchema], masterJobs: [jobFeedSchema] } as const

describe('the master under random input (property tests)', () => {
  const topicArb = fc.oneof(
    fc.constant(topics.submit(NS)),
    fc.constant(topics.rpc(NS)),
    idArb.map((node) => topics.nodeEvents(NS, node)),
    idArb.map((node) => topics.nodeState(NS, node)),
    fc.constantFrom('abc', 'n1').map((node) => topics.nodeState(NS, node)),
  )

  it('never throws past a handler, and everything it sends is a valid v1 message on a protocol topic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(topicArb, anyPayload), { minLength: 1, maxLength: 30 }), async (messages) => {
        await withMaster(NS, async (master, transport, store) => {
          for (const [topic, payload] of messages) expect(() => transport.deliver(topic, payload)).not.toThrow()
          await store.flush()
          await new Promise((resolve) => setImmediate(resolve))
          expect(master.counter('handler_errors')).toBe(0)
          for (const { topic, payload } of transport.sent) {
            const parsed = parseTopic(NS, topic)
            expect(parsed, topic).toBeDefined()
            const schemas = REPLY_SCHEMAS[parsed!.kind as keyof typeof REPLY_SCHEMAS]
            expect(schemas, `the master publishes on ${topic}`).toBeDefined()
            expect(schemas.some((schema) => decode(schema as typeof jobReplySchema, payload).ok), `${topic}: ${payload.toString().slice(0, 200)}`).toBe(true)
          }
        })
      }),
      { numRuns: 150 },
    )
  })

  it('every submit ends in exactly one of: admitted, duplicate, or a rejection counted under its code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyPayload, { minLength: 1, maxLength: 40 }), async (payloads) => {
        await withMaster(NS, async (master, transport) => {
          for (const payload of payloads) transport.deliver(topics.submit(NS), payload)
          const outcomes = () => {
            const counters = master.counters()
            const rejected = Object.entries(counters).filter(([key]) => key.startsWith('rejected_'))
            const total = (counters.admitted ?? 0) + (counters.duplicate_submits ?? 0) + rejected.reduce((sum, [, n]) => sum + n, 0)
            return { rejected, total }
          }
          // Submits are admitted a burst at a time, once the burst is in.
          await waitFor(() => outcomes().total >= payloads.length, { what: 'every submit decided' })
          const { rejected, total } = outcomes()
          for (const [key] of rejected) expect(CODES.has(key.slice('rejected_'.length)), key).toBe(true)
          expect(total).toBe(payloads.length)
        })
      }),
      { numRuns: 150 },
    )
  })
})
