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
import { nodePage } from '../node-queries.js'
import type { MasterParts } from '../parts.js'
import { detailView, drainNode, listJobs } from './dashboard-rpc.js'
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

/** `{ns}/rpc`: jobs.get, jobs.list, jobs.cancel, nodes.list, nodes.drain and stats. */
export function handleRpc(ctx: MasterParts, payload: Buffer, visibility: Visibility): void {
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
    const result = call(ctx, request, seeAll ? undefined : client)
    ctx.gate.afterCommit(() => ctx.notifier.rpc(request.replyTo, { correlationId: request.id, ok: true, result }))
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

function call(ctx: MasterParts, request: RpcRequest, owner: string | undefined): unknown {
  switch (request.method) {
    case 'jobs.get': {
      const { id, detail } = params('jobs.get', request.params)
      const job = findJob(ctx, id, owner)
      return detail ? detailView(job) : toView(job)
    }
    case 'jobs.list':
      return listJobs(ctx, params('jobs.list', request.params), owner)
    case 'jobs.cancel': {
      const { id } = params('jobs.cancel', request.params)
      const job = findJob(ctx, id, owner)
      const live = ctx.jobs.unpark(job.id)
      if (!live) return toView(job)
      const node = live.node
      const attempt = live.attempt
      const ran = live.state === 'assigned' || live.state === 'running' ? 1 : 0
      ctx.lifecycle.finalize(live, 'canceled', null, 'canceled by request', node, live.charged + ran)
      if (node) ctx.notifier.control(node, 'cancel', { jobId: live.id, attempt })
      return toView(live)
    }
    case 'nodes.list': {
      const { limit, cursor } = params('nodes.list', request.params)
      return nodePage(ctx.nodes, limit, cursor).map((node) => ctx.nodes.view(node))
    }
    case 'nodes.drain': {
      const { id } = params('nodes.drain', request.params)
      if (owner !== undefined) throw new RpcError('NOT_AUTHORIZED', 'nodes.drain is for admins')
      const view = drainNode(ctx, id)
      if (!view) throw new RpcError('NOT_FOUND', `no node with id ${id}`)
      return view
    }
    case 'stats':
      params('stats', request.params)
      return stats(ctx)
  }
}

function findJob(ctx: MasterParts, id: string, owner: string | undefined) {
  const job = ctx.jobs.lookup(id)
  if (!job || (owner !== undefined && job.owner !== owner)) throw new RpcError('NOT_FOUND', `no job with id ${id}`)
  return job
}

const startedAt = Date.now()

function stats(ctx: MasterParts): StatsView {
  const counters = ctx.counters.toJSON()
  const pick = (prefix: string) =>
    Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]))
  return {
    instance: ctx.instance,
    uptimeMs: Date.now() - startedAt,
    nodes: { online: ctx.nodes.countOnline(), total: ctx.nodes.size },
    jobs: ctx.jobs.counts(),
    queued: ctx.jobs.queued,
    rejected: pick('rejected_'),
    ignored: pick('ignored_'),
    ...(ctx.brokerCounters ? { refused: ctx.brokerCounters() } : {}),
  }
}
