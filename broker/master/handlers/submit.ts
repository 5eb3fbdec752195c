import { decode, isId, replyClientOf, specOf, submitSchema, type SubmitMessage } from '../../../src/protocol/index.js'
import type { JobRecord } from '../../store/job-record.js'
import type { MasterContext } from '../context.js'
import type { Lifecycle } from '../lifecycle.js'
import { describeRequirement, requirementOf } from '../requirement.js'
import { availability } from '../scheduler.js'
import { correlationOf, usableReplyTo } from './reply-target.js'
import type { Visibility } from './rpc.js'

/** `{ns}/submit`: admit a job, or say exactly why not. */
export function handleSubmit(ctx: MasterContext, lifecycle: Lifecycle, payload: Buffer, visibility: Visibility = () => 'all'): void {
  const ns = ctx.options.namespace
  const decoded = decode(submitSchema, payload, ctx.options.maxPayloadBytes)
  if (!decoded.ok) {
    ctx.counters.inc(`rejected_${decoded.code}`)
    const replyTo = usableReplyTo(ns, decoded.raw?.replyTo)
    if (replyTo) {
      const jobId = isId(decoded.raw?.id) ? (decoded.raw?.id as string) : undefined
      ctx.notifier.rejected(replyTo, decoded.code, decoded.message, { jobId, correlationId: correlationOf(decoded.raw) })
    } else {
      ctx.counters.inc('ignored_unanswerable')
      ctx.logger.warn({ code: decoded.code, reason: decoded.message }, 'malformed submit with no usable replyTo')
    }
    return
  }
  const submit = decoded.value
  if (!usableReplyTo(ns, submit.replyTo)) {
    ctx.counters.inc('rejected_BAD_MESSAGE')
    ctx.counters.inc('ignored_unanswerable')
    ctx.logger.warn({ jobId: submit.id, replyTo: submit.replyTo }, 'submit whose replyTo is not a reply topic')
    return
  }
  const tooBig = submit.kind === 'judge' ? judgeSizeProblem(ctx, submit) : undefined
  if (tooBig) {
    reject(ctx, submit, 'BAD_MESSAGE', tooBig)
    return
  }
  const known = ctx.active.get(submit.id) ?? ctx.store.get(submit.id)
  const client = replyClientOf(ns, submit.replyTo)!
  if (known && known.owner !== client && visibility(client) === 'own') {
    // Under --auth a client sees only its own jobs: another's id is simply not its to reuse.
    reject(ctx, submit, 'NOT_AUTHORIZED', `job id ${submit.id} is taken by another client`)
    return
  }
  if (known) {
    ctx.counters.inc('duplicate_submits')
    // Idempotency: the same id never makes a second job; the reply describes the existing one.
    ctx.afterFlush(() => {
      ctx.notifier.toJob({ ...known, replyTo: submit.replyTo, correlationId: submit.correlationId }, {
        type: 'accepted',
        state: known.state,
        duplicate: true,
      })
    })
    return
  }
  const requirement = requirementOf(submit)
  const available = availability(ctx.nodes, requirement)
  if (!submit.wait && available !== 'capable') {
    const code = available === 'no-node' ? 'NO_NODE' : 'UNSUPPORTED'
    const message =
      available === 'no-node' ? 'no node is online' : `no online node supports ${describeRequirement(requirement)}`
    reject(ctx, submit, code, message)
    return
  }
  if (ctx.queue.size >= ctx.options.maxQueued) {
    reject(ctx, submit, 'QUEUE_FULL', `the master already holds ${ctx.queue.size} queued jobs`)
    return
  }
  const owner = replyClientOf(ns, submit.replyTo) ?? null
  if (ctx.queue.ownerCount(owner) >= ctx.options.maxQueuedPerClient) {
    reject(ctx, submit, 'QUEUE_FULL', `client ${owner} already has ${ctx.options.maxQueuedPerClient} queued jobs`)
    return
  }
  const job = newRecord(ctx, submit, owner)
  ctx.active.set(job.id, job)
  lifecycle.save(job)
  ctx.counters.inc('admitted')
  ctx.afterFlush(() => {
    ctx.notifier.toJob(job, { type: 'accepted', state: 'queued' })
    if (available !== 'capable') {
      const detail = available === 'no-node' ? 'no node is online yet' : `no online node supports ${describeRequirement(requirement)} yet`
      ctx.notifier.toJob(job, { type: 'progress', state: 'waiting', attempt: 0, detail })
    }
  })
  lifecycle.enqueue(job)
}

/** The broker's caps on a judge job (DESIGN §9 payload limits), tighter than the protocol's bounds. */
function judgeSizeProblem(ctx: MasterContext, submit: Extract<SubmitMessage, { kind: 'judge' }>): string | undefined {
  const { maxJudgeSourceBytes, maxJudgeTestsBytes } = ctx.options
  const source = Buffer.byteLength(submit.source)
  if (source > maxJudgeSourceBytes) return `judge source is ${source} bytes; this broker accepts at most ${maxJudgeSourceBytes}`
  let tests = 0
  for (const test of submit.tests) tests += Buffer.byteLength(test.input) + Buffer.byteLength(test.expected)
  if (tests > maxJudgeTestsBytes) return `judge tests total ${tests} bytes; this broker accepts at most ${maxJudgeTestsBytes}`
  return undefined
}

function reject(ctx: MasterContext, submit: SubmitMessage, code: 'BAD_MESSAGE' | 'NO_NODE' | 'UNSUPPORTED' | 'QUEUE_FULL' | 'NOT_AUTHORIZED', message: string): void {
  ctx.counters.inc(`rejected_${code}`)
  ctx.notifier.rejected(submit.replyTo, code, message, { jobId: submit.id, correlationId: submit.correlationId })
}

function newRecord(ctx: MasterContext, submit: SubmitMessage, owner: string | null): JobRecord {
  const now = ctx.now()
  return {
    id: submit.id,
    spec: specOf(submit),
    state: 'queued',
    replyTo: submit.replyTo,
    ...(submit.correlationId ? { correlationId: submit.correlationId } : {}),
    owner,
    priority: submit.priority,
    seq: ctx.nextSeq(),
    createdAt: now,
    updatedAt: now,
    attempt: 0,
    charged: 0,
    node: null,
    epoch: null,
    history: [],
  }
}
