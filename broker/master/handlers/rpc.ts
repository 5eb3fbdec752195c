import type { z } from 'zod'
import {
  decode,
  replyClientOf,
  rpcParamsSchemas,
  rpcRequestSchema,
  type RejectCode,
  type RpcRequest,
  type StatsView,
} from '../../../src/protocol/index.js'
import { toView } from '../../store/job-record.js'
import type { MasterContext } from '../context.js'
import type { Lifecycle } from '../lifecycle.js'
import { nodePage } from '../node-queries.js'
import { correlationOf, usableReplyTo } from './reply-target.js'

/** Decides whether a requester sees every job or only its own (the security layer sets it). */
export type Visibility = (clientId: string) => 'all' | 'own'

class RpcError extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
  ) {
    super(message)
  }
}

/** `{ns}/rpc`: jobs.get, jobs.list, jobs.cancel, nodes.list and stats. */
export function handleRpc(ctx: MasterContext, lifecycle: Lifecycle, payload: Buffer, visibility: Visibility): void {
  const ns = ctx.options.namespace
  const decoded = decode(rpcRequestSchema, payload, ctx.options.maxPayloadBytes)
  if (!decoded.ok) {
    ctx.counters.inc(`rejected_${decoded.code}`)
    const replyTo = usableReplyTo(ns, decoded.raw?.replyTo)
    const id = typeof decoded.raw?.id === 'string' ? decoded.raw.id : correlationOf(decoded.raw)
    if (replyTo && id) ctx.notifier.rpc(replyTo, { correlationId: id.slice(0, 128), ok: false, error: { code: decoded.code, message: decoded.message } })
    else ctx.counters.inc('ignored_unanswerable')
    return
  }
  const request = decoded.value
  const client = replyClientOf(ns, request.replyTo)
  if (client === undefined) {
    ctx.counters.inc('ignored_unanswerable')
    return
  }
  const seeAll = visibility(client) === 'all'
  try {
    const result = call(ctx, lifecycle, request, seeAll ? undefined : client)
    ctx.afterFlush(() => ctx.notifier.rpc(request.replyTo, { correlationId: request.id, ok: true, result }))
  } catch (error) {
    const code: RejectCode = error instanceof RpcError ? error.code : 'BAD_MESSAGE'
    ctx.counters.inc(`rpc_error_${code}`)
    ctx.notifier.rpc(request.replyTo, { correlationId: request.id, ok: false, error: { code, message: (error as Error).message } })
  }
}

function params<M extends keyof typeof rpcParamsSchemas>(method: M, raw: unknown): z.infer<(typeof rpcParamsSchemas)[M]> {
  const parsed = (rpcParamsSchemas[method] as z.ZodType).safeParse(raw ?? undefined)
  if (!parsed.success) throw new RpcError('BAD_MESSAGE', `invalid params for ${method}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data as z.infer<(typeof rpcParamsSchemas)[M]>
}

function call(ctx: MasterContext, lifecycle: Lifecycle, request: RpcRequest, owner: string | undefined): unknown {
  switch (request.method) {
    case 'jobs.get': {
      const { id } = params('jobs.get', request.params)
      return toView(findJob(ctx, id, owner))
    }
    case 'jobs.list': {
      const { state, limit } = params('jobs.list', request.params)
      return ctx.store.list({ state, limit, owner }).map((job) => toView(ctx.active.get(job.id) ?? job))
    }
    case 'jobs.cancel': {
      const { id } = params('jobs.cancel', request.params)
      const job = findJob(ctx, id, owner)
      const live = lifecycle.unpark(job.id)
      if (!live) return toView(job)
      const node = live.node
      const attempt = live.attempt
      const ran = live.state === 'assigned' || live.state === 'running' ? 1 : 0
      lifecycle.finalize(live, 'canceled', null, 'canceled by request', node, live.charged + ran)
      if (node) ctx.notifier.control(node, 'cancel', { jobId: live.id, attempt })
      return toView(live)
    }
    case 'nodes.list': {
      const { limit, cursor } = params('nodes.list', request.params)
      return nodePage(ctx.nodes, limit, cursor).map((node) => ctx.nodes.view(node))
    }
    case 'stats':
      params('stats', request.params)
      return stats(ctx)
  }
}

function findJob(ctx: MasterContext, id: string, owner: string | undefined) {
  const job = ctx.active.get(id) ?? ctx.store.get(id)
  if (!job || (owner !== undefined && job.owner !== owner)) throw new RpcError('NOT_FOUND', `no job with id ${id}`)
  return job
}

const startedAt = Date.now()

function stats(ctx: MasterContext): StatsView {
  const counters = ctx.counters.toJSON()
  const pick = (prefix: string) =>
    Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]))
  return {
    instance: ctx.instance,
    uptimeMs: Date.now() - startedAt,
    nodes: { online: ctx.nodes.countOnline(), total: ctx.nodes.size },
    jobs: ctx.store.counts(),
    queued: ctx.queue.size,
    rejected: pick('rejected_'),
    ignored: pick('ignored_'),
    ...(ctx.brokerCounters ? { refused: ctx.brokerCounters() } : {}),
  }
}
