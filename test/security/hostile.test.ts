import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { topics } from '../../src/protocol/index.js'
import { TestCluster } from '../helpers/cluster.js'
import { FakeWorker } from '../helpers/fake-worker.js'
import { waitFor } from '../helpers/wait.js'
import { fire, grantOf, login, rawClient, tempDir, writeUsersFile, type RawClient } from './helpers.js'

const MiB = 1024 * 1024
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

type Outcome =
  | { reply: string } // a `rejected` (or rpc error) with this code on the sender's reply topic
  | { counted: string } // no usable replyTo: the master counts it under this key, and says nothing
  | { closed: true } // the broker closes the sender's connection
  | { refused: true } // SUBACK 0x80

interface Kind {
  name: string
  /** who sends it: anonymous (no --auth) or a user of the authenticating broker */
  as: 'anonymous' | 'alice' | 'w1' | 'root'
  send: (ns: string, raw: RawClient) => void | Promise<number>
  expect: Outcome
}

const submit = (ns: string, fields: Record<string, unknown>) =>
  JSON.stringify({ v: 1, type: 'submit', id: `h-${fields.correlationId as string}`, kind: 'noop', replyTo: topics.reply(ns, 'h'), ...fields })
const rpc = (ns: string, fields: Record<string, unknown>) => JSON.stringify({ v: 1, type: 'rpc', method: 'jobs.get', params: { id: 'x' }, replyTo: topics.reply(ns, 'h'), ...fields })

/** The hostile-input suite of the security issue: every kind sent by a real mqtt.js client. */
const KINDS: Kind[] = [
  { name: 'non-JSON', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), 'this is not json {'), expect: { counted: 'ignored_unanswerable' } },
  { name: 'invalid UTF-8', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), Buffer.from([0xff, 0xfe, 0x7b, 0x80])), expect: { counted: 'ignored_unanswerable' } },
  { name: 'JSON that is not an object (array)', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), '[1,2,3]'), expect: { counted: 'ignored_unanswerable' } },
  { name: 'JSON that is not an object (string)', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), '"jobs.list"'), expect: { counted: 'ignored_unanswerable' } },
  { name: 'JSON null', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), 'null'), expect: { counted: 'ignored_unanswerable' } },
  { name: 'a wrong v', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { v: 2, correlationId: 'v2' })), expect: { reply: 'UNSUPPORTED_VERSION' } },
  { name: 'v as a string', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { v: '1', correlationId: 'vs' })), expect: { reply: 'UNSUPPORTED_VERSION' } },
  { name: 'an unknown type', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { type: 'frobnicate', correlationId: 'type' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'an unknown kind', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { kind: 'shell', correlationId: 'kind' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'an unknown rpc method', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), rpc(ns, { id: 'method', method: 'jobs.purge' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a missing field (kind)', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { kind: undefined, correlationId: 'nokind' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a missing field (judge tests)', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { kind: 'judge', language: 'c', source: '', correlationId: 'notests' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a 10 MB payload', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), Buffer.alloc(10 * MiB, 0x20)), expect: { closed: true } },
  { name: '10,000-level nesting in a submit', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { correlationId: 'deep' }).replace('"kind":"noop"', `"kind":"noop","sleepMs":${nested(10_000)}`)), expect: { reply: 'BAD_MESSAGE' } },
  { name: '10,000-level nesting in rpc params', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), rpc(ns, { id: 'deep-rpc' }).replace('"params":{"id":"x"}', `"params":{"id":${nested(10_000)}}`)), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a replyTo of #', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { replyTo: '#', correlationId: 'hash' })), expect: { counted: 'ignored_unanswerable' } },
  { name: 'a replyTo with +', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { replyTo: `${ns}/reply/+`, correlationId: 'plus' })), expect: { counted: 'ignored_unanswerable' } },
  { name: 'a replyTo in another namespace', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), rpc(ns, { id: 'other-ns', replyTo: 'elsewhere/reply/h' })), expect: { counted: 'ignored_unanswerable' } },
  { name: 'a job id with /', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { id: 'a/b', correlationId: 'slash' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a job id with +', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { id: 'a+', correlationId: 'plusid' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a job id with #', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { id: '#', correlationId: 'hashid' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a job id of 65 chars', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { id: 'x'.repeat(65), correlationId: 'longid' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a negative timeout', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { timeoutMs: -1, correlationId: 'neg' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a huge maxAttempts', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { maxAttempts: 1e9, correlationId: 'attempts' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a priority of 1e300', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { priority: 1e300, correlationId: 'prio' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a judge memory limit of 1 TB', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { kind: 'judge', language: 'c', source: '', tests: [{ input: '', expected: '' }], memoryLimitMb: 1e6, correlationId: 'mem' })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a negative rpc list limit', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), rpc(ns, { id: 'neg-limit', method: 'jobs.list', params: { limit: -5 } })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a huge rpc list limit', as: 'anonymous', send: (ns, r) => fire(r, topics.rpc(ns), rpc(ns, { id: 'big-limit', method: 'jobs.list', params: { limit: 1e12 } })), expect: { reply: 'BAD_MESSAGE' } },
  { name: 'a worker event for an unknown job', as: 'anonymous', send: (ns, r) => fire(r, topics.nodeEvents(ns, 'ghost'), JSON.stringify({ v: 1, type: 'result', jobId: 'nope', attempt: 1, epoch: 'x.1', state: 'succeeded', output: null })), expect: { counted: 'ignored_result_unknown_job' } },
  { name: 'a malformed node state', as: 'anonymous', send: (ns, r) => fire(r, topics.nodeState(ns, 'ghost'), JSON.stringify({ v: 1, type: 'node', state: 'online', slots: -1 })), expect: { counted: 'rejected_BAD_MESSAGE' } },
  { name: 'a retained publish on submit', as: 'anonymous', send: (ns, r) => fire(r, topics.submit(ns), submit(ns, { correlationId: 'retained' }), { retain: true }), expect: { closed: true } },
  { name: 'a publish to $SYS', as: 'anonymous', send: (_ns, r) => fire(r, '$SYS/spoof/new/clients', 'x'), expect: { closed: true } },
  // With --auth: identities make more things refusable.
  { name: 'non-JSON from a client', as: 'alice', send: (ns, r) => fire(r, topics.submit(ns), 'nope'), expect: { closed: true } },
  { name: 'a replyTo of another client', as: 'alice', send: (ns, r) => fire(r, topics.submit(ns), JSON.stringify({ v: 1, type: 'submit', id: 'steal', kind: 'noop', replyTo: topics.reply(ns, 'bob') })), expect: { closed: true } },
  { name: 'a replyTo of # from a client', as: 'alice', send: (ns, r) => fire(r, topics.rpc(ns), JSON.stringify({ v: 1, type: 'rpc', id: 'r', method: 'stats', replyTo: '#' })), expect: { closed: true } },
  { name: 'a worker event for another node', as: 'w1', send: (ns, r) => fire(r, topics.nodeEvents(ns, 'w2'), JSON.stringify({ v: 1, type: 'accepted', jobId: 'j', attempt: 1, epoch: 'x.1' })), expect: { closed: true } },
  { name: 'a retained submit from an admin', as: 'root', send: (ns, r) => fire(r, topics.submit(ns), '{}', { retain: true }), expect: { closed: true } },
  { name: 'a publish to $SYS from an admin', as: 'root', send: (_ns, r) => fire(r, '$SYS/x/heartbeat', 'x'), expect: { closed: true } },
  { name: 'a subscription to # by a client', as: 'alice', send: (_ns, r) => grantOf(r, '#'), expect: { refused: true } },
  { name: 'a subscription to # by a worker', as: 'w1', send: (_ns, r) => grantOf(r, '#'), expect: { refused: true } },
  { name: 'a subscription to another client\'s replies', as: 'alice', send: (ns, r) => grantOf(r, topics.reply(ns, 'bob')), expect: { refused: true } },
  { name: 'a subscription to $SYS by a client', as: 'alice', send: (_ns, r) => grantOf(r, '$SYS/#'), expect: { refused: true } },
]

describe('hostile input: every kind is answered with its code or refused, and the master carries on', () => {
  const tmp = tempDir()
  let usersFile: string
  let open: TestCluster
  let authed: TestCluster
  const raws: RawClient[] = []
  beforeAll(async () => {
    usersFile = await writeUsersFile(tmp.dir)
    open = await TestCluster.start()
    authed = await TestCluster.start({ authFile: usersFile })
  })
  afterAll(async () => {
    await open?.close()
    await authed?.close()
    tmp.remove()
  })
  afterEach(async () => {
    await Promise.all(raws.splice(0).map((raw) => raw.end()))
  })

  async function sender(kind: Kind) {
    const cluster = kind.as === 'anonymous' ? open : authed
    const raw = await rawClient(cluster.url, kind.as === 'anonymous' ? {} : login(kind.as))
    raws.push(raw)
    if (kind.as !== 'w1') await raw.client.subscribeAsync(topics.reply(cluster.namespace, kind.as === 'anonymous' ? 'h' : kind.as), { qos: 1 })
    return { cluster, raw }
  }

  /** Sends one kind and checks its outcome; returns the master's counters' key count after it. */
  async function check(kind: Kind) {
    const { cluster, raw } = await sender(kind)
    const { master } = cluster.broker
    const key = 'counted' in kind.expect ? kind.expect.counted : undefined
    const before = key ? master.counter(key) : 0
    const grant = await kind.send(cluster.namespace, raw)
    const outcome = kind.expect
    if ('reply' in outcome) {
      const reply = await waitFor(() => raw.messages.map((m) => JSON.parse(m.payload.toString())).find((m) => m.type === 'rejected' || (m.type === 'rpc' && !m.ok)), {
        what: `a reply to "${kind.name}"`,
      })
      expect(reply.code ?? reply.error?.code, kind.name).toBe(outcome.reply)
    } else if ('counted' in outcome) {
      await waitFor(() => master.counter(outcome.counted) > before, { what: `"${kind.name}" counted as ${outcome.counted}` })
    } else if ('closed' in outcome) {
      await raw.waitClosed(`the broker closing the connection after "${kind.name}"`)
    } else {
      expect(grant, kind.name).toBe(128)
      expect(raw.closed()).toBe(false)
    }
  }

  it(`sends ${KINDS.length} kinds (${new Set(KINDS.map((k) => k.name.split(' from ')[0])).size} distinct)`, () => {
    expect(KINDS.length).toBeGreaterThanOrEqual(12)
  })

  for (const kind of KINDS) {
    it(`${kind.name} (${kind.as}) → ${Object.entries(kind.expect).map(([k, v]) => (v === true ? k : `${k} ${v as string}`))[0]}`, async () => {
      await check(kind)
    })
  }

  it('after all of them, five more rounds: the master still runs jobs and nothing grows', async () => {
    for (const cluster of [open, authed]) {
      const size = () => ({ ...cluster.broker.master.footprint(), clients: cluster.broker.aedes.connectedClients })
      await waitFor(() => cluster.broker.aedes.connectedClients === 0, { what: 'hostile connections gone' })
      const baseline = size()
      for (let round = 0; round < 5; round++) {
        for (const kind of KINDS.filter((k) => (k.as === 'anonymous') === (cluster === open))) {
          await check(kind)
          await Promise.all(raws.splice(0).map((raw) => raw.end()))
        }
      }
      await waitFor(() => cluster.broker.aedes.connectedClients === 0, { what: 'hostile connections gone again' })
      expect(size()).toEqual(baseline)
      expect(cluster.broker.master.counter('handler_errors')).toBe(0)
    }
    // And the masters still work.
    await open.worker()
    const client = await open.client()
    expect(await client.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded' })
    await authed.worker({ id: 'w1', ...login('w1') })
    const alice = await authed.client(login('alice'))
    expect(await alice.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded' })
  })

  it('rejections are counted by code and exposed by the stats rpc', async () => {
    const client = await open.client()
    const stats = await client.stats()
    const replied = (code: string) => KINDS.filter((k) => k.as === 'anonymous' && 'reply' in k.expect && k.expect.reply === code).length
    // Six rounds of every kind (the per-kind tests plus five more). rpc errors are counted apart.
    const rpcBad = KINDS.filter((k) => k.as === 'anonymous' && k.name.includes('rpc') && 'reply' in k.expect).length
    expect(stats.rejected.UNSUPPORTED_VERSION).toBe(6 * replied('UNSUPPORTED_VERSION'))
    expect(stats.rejected.BAD_MESSAGE).toBeGreaterThanOrEqual(6 * (replied('BAD_MESSAGE') - rpcBad))
    expect(stats.ignored.unanswerable).toBeGreaterThanOrEqual(6 * 7)
    expect(open.broker.security.counters.toJSON()).toMatchObject({ packet_too_large: 6, publish_denied: 12 })
    expect(authed.broker.security.counters.get('subscribe_denied')).toBe(6 * 4)
  })

  it('a worker\'s progress with 10,000-level detail costs that one message, never the job or the master', async () => {
    const fake = new FakeWorker(open.url, open.namespace, 'deep-worker')
    await fake.connect()
    try {
      const client = await open.client()
      await waitFor(async () => (await client.listNodes()).some((n) => n.id === 'deep-worker' && n.state === 'online'), { what: 'fake online' })
      for (const worker of open.workers) await worker.close({ drainTimeoutMs: 0 })
      open.workers.length = 0
      // A listener for events, so the master must relay the progress to the submitter.
      const done = client.submit({ kind: 'noop' }, { onEvent: () => {} })
      const assign = await fake.nextAssign()
      await fake.accept(assign)
      // Built by hand: JSON.stringify itself cannot write 10,000 levels.
      const progress = `{"v":1,"type":"progress","jobId":"${assign.job.id}","attempt":${assign.attempt},"epoch":"${assign.epoch}","state":"running","detail":${nested(10_000)}}`
      const raw = await rawClient(open.url)
      raws.push(raw)
      await raw.client.publishAsync(topics.nodeEvents(open.namespace, 'deep-worker'), progress, { qos: 1 })
      await fake.result(assign)
      expect(await done).toMatchObject({ type: 'result', state: 'succeeded', node: 'deep-worker' })
      // The master relays `detail` as is and JSON.stringify cannot write it: the handler's guard
      // counts one handler error and drops that one progress message (see docs/security.md).
      expect(open.broker.master.counter('handler_errors')).toBe(1)
    } finally {
      await fake.stop()
    }
  })
})
