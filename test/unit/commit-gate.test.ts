import { describe, expect, it } from 'vitest'
import { CommitGate } from '../../broker/master/commit-gate.js'
import { Counters } from '../../broker/master/counters.js'
import { NodeTable } from '../../broker/master/node-table.js'
import { Notifier } from '../../broker/master/notifier.js'
import { admittedRecord } from '../../broker/store/job-record.js'
import { silentLogger } from '../../src/logging/logger.js'
import { jobSpecSchema, topics } from '../../src/protocol/index.js'
import { RecordingTransport } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'

const NS = 'gate'
const REPLY = `${NS}/reply/c1`

/** A store whose flushes settle only when the test says so, one by one, as a slow disk would. */
class HeldFlushes {
  readonly settle: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  flush(): Promise<void> {
    return new Promise((resolve, reject) => this.settle.push({ resolve, reject }))
  }
}

function gateOver(store: { flush(): Promise<void> }, onFlushError?: (error: Error) => void) {
  // Nobody follows the jobs' event topics: only reply topics and node topics are written.
  const transport = Object.assign(new RecordingTransport(), { hasSubscribers: () => false })
  const notifier = new Notifier(transport, NS)
  const nodes = new NodeTable()
  const counters = new Counters()
  const gate = new CommitGate(store, notifier, nodes, counters, silentLogger(), onFlushError)
  return { gate, transport, notifier, nodes, counters }
}

function job(id: string, fields: { batchReplies?: boolean } = {}) {
  return admittedRecord(jobSpecSchema.parse({ id, kind: 'noop', ...fields }), { replyTo: REPLY, owner: 'c1', seq: 1, now: 0 })
}

function birth(nodes: NodeTable, id: string, features: string[]) {
  nodes.apply(id, { v: 1, type: 'node', state: 'online', epoch: `${id}i.1`, slots: 4, labels: [], capabilities: { languages: [], commands: [] }, running: [], version: 't', ts: 0, features }, 0)
}

describe('the commit gate: nothing is said before its write is durable', () => {
  it('a callback waits for the flush made after it, not for one already in flight', async () => {
    const store = new HeldFlushes()
    const { gate } = gateOver(store)
    const ran: string[] = []
    gate.afterCommit(() => ran.push('first'))
    await waitFor(() => store.settle.length === 1, { what: 'the flush covering first' })
    gate.afterCommit(() => ran.push('second'))
    await waitFor(() => store.settle.length === 2, { what: 'a flush of its own for second' })
    store.settle[0]!.resolve()
    await waitFor(() => ran.length > 0, { what: 'first released' })
    expect(ran).toEqual(['first'])
    store.settle[1]!.resolve()
    await waitFor(() => ran.length > 1, { what: 'second released' })
    expect(ran).toEqual(['first', 'second'])
  })

  it('the callbacks of one turn share one flush and run in the order they were made', async () => {
    const store = new HeldFlushes()
    const { gate } = gateOver(store)
    const ran: number[] = []
    for (let i = 0; i < 5; i++) gate.afterCommit(() => ran.push(i))
    await waitFor(() => store.settle.length === 1, { what: 'one flush' })
    store.settle[0]!.resolve()
    await waitFor(() => ran.length === 5, { what: 'every callback' })
    expect(ran).toEqual([0, 1, 2, 3, 4])
    expect(store.settle).toHaveLength(1)
  })

  it('a callback that throws costs only itself', async () => {
    const { gate, counters } = gateOver({ flush: async () => {} })
    const ran: string[] = []
    gate.afterCommit(() => ran.push('before'))
    gate.afterCommit(() => {
      throw new Error('a handler bug')
    })
    gate.afterCommit(() => ran.push('after'))
    await waitFor(() => ran.length === 2, { what: 'the other callbacks' })
    expect(ran).toEqual(['before', 'after'])
    expect(counters.get('handler_errors')).toBe(1)
  })

  it('replies one flush releases for batchReplies jobs leave as one batch; others one by one', async () => {
    const { gate, transport, notifier } = gateOver({ flush: async () => {} })
    for (const id of ['b1', 'b2', 'b3']) gate.afterCommit(() => notifier.toJob(job(id, { batchReplies: true }), { type: 'accepted', state: 'queued' }))
    await waitFor(() => transport.messagesOn(REPLY).length > 0, { what: 'the batch' })
    expect(transport.messagesOn(REPLY)).toMatchObject([{ type: 'batch', replies: [{ jobId: 'b1' }, { jobId: 'b2' }, { jobId: 'b3' }] }])
    for (const id of ['p1', 'p2']) gate.afterCommit(() => notifier.toJob(job(id), { type: 'accepted', state: 'queued' }))
    await waitFor(() => transport.messagesOn(REPLY).length === 3, { what: 'two replies on their own' })
    expect(transport.messagesOn(REPLY).slice(1).map((r) => [r.type, r.jobId])).toEqual([['accepted', 'p1'], ['accepted', 'p2']])
  })

  it('acks a node\'s results after the flush, after the replies, in one message if its birth announced ack-batch', async () => {
    const store = new HeldFlushes()
    const { gate, transport, nodes, notifier } = gateOver(store)
    birth(nodes, 'batching', ['ack-batch'])
    birth(nodes, 'plain', [])
    for (let i = 1; i <= 3; i++) gate.ack('batching', `j${i}`, 1)
    for (let i = 4; i <= 5; i++) gate.ack('plain', `j${i}`, 2)
    gate.afterCommit(() => notifier.toJob(job('j1'), { type: 'accepted', state: 'queued' }))
    await waitFor(() => store.settle.length === 1, { what: 'a flush' })
    expect(transport.sent).toEqual([])
    store.settle[0]!.resolve()
    await waitFor(() => transport.sent.length === 4, { what: 'the reply and the acks' })
    expect(transport.sent[0]!.topic).toBe(REPLY)
    expect(transport.messagesOn(topics.nodeControl(NS, 'batching'))).toMatchObject([{ op: 'ack', jobs: [{ jobId: 'j1' }, { jobId: 'j2' }, { jobId: 'j3' }] }])
    expect(transport.messagesOn(topics.nodeControl(NS, 'plain'))).toMatchObject([
      { op: 'ack', jobId: 'j4', attempt: 2 },
      { op: 'ack', jobId: 'j5', attempt: 2 },
    ])
  })

  it('after failed flushes, callbacks and acks wait, are retried without new traffic, and keep their order', async () => {
    const store = new HeldFlushes()
    const errors: Error[] = []
    const { gate, transport, nodes } = gateOver(store, (error) => errors.push(error))
    birth(nodes, 'w', [])
    const ran: string[] = []
    gate.afterCommit(() => ran.push('a'))
    gate.ack('w', 'ja', 1)
    await waitFor(() => store.settle.length === 1, { what: 'the first flush' })
    gate.afterCommit(() => ran.push('b'))
    gate.ack('w', 'jb', 1)
    await waitFor(() => store.settle.length === 2, { what: 'the second flush' })
    // The disk fails both, in the order they were made (as a store settles them).
    store.settle[0]!.reject(new Error('disk on fire'))
    store.settle[1]!.reject(new Error('disk on fire'))
    await waitFor(() => errors.length === 2, { what: 'both failures reported' })
    expect(ran).toEqual([])
    expect(transport.sent).toEqual([])
    await waitFor(() => store.settle.length === 3, { timeoutMs: 5000, what: 'a retried flush' })
    store.settle[2]!.resolve()
    await waitFor(() => ran.length === 2, { what: 'both released' })
    expect(ran).toEqual(['a', 'b'])
    expect(transport.messagesOn(topics.nodeControl(NS, 'w')).map((m) => m.jobId)).toEqual(['ja', 'jb'])
  })

  it('once closed, a failed flush is not retried', async () => {
    const store = new HeldFlushes()
    const errors: Error[] = []
    const { gate } = gateOver(store, (error) => errors.push(error))
    gate.afterCommit(() => {})
    await waitFor(() => store.settle.length === 1, { what: 'a flush' })
    gate.close()
    store.settle[0]!.reject(new Error('disk on fire'))
    await waitFor(() => errors.length === 1, { what: 'the failure reported' })
    // The first retry would come after 250 ms.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(store.settle).toHaveLength(1)
  })
})
