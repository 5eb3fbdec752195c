import { filters, isId, parseTopic, topics } from '../../src/protocol/index.js'
import type { Role } from './users-file.js'

/**
 * Who is on the other end of a connection. `anonymous` is every connection of a broker without
 * `--auth` (loopback by default, or `--allow-anonymous`).
 */
export type Principal = { kind: 'anonymous' } | { kind: 'user'; username: string; role: Role }

export const ANONYMOUS: Principal = { kind: 'anonymous' }

export type Decision = { ok: true } | { ok: false; reason: string }

export interface AclContext {
  /** The one namespace the in-process master serves. Non-admin users live only inside it. */
  namespace: string
  /** The owner (reply-client id) of a job the master knows, or undefined if it knows none. */
  ownerOf(jobId: string): string | null | undefined
}

const ALLOW: Decision = { ok: true }
const deny = (reason: string): Decision => ({ ok: false, reason })

/**
 * docs/security.md as code. Pure: the Aedes hooks (broker/aedes/hooks.ts) call these and do the I/O.
 *
 * Rules for everyone, anonymous and admin included:
 * - nothing may be published under `$` (`$SYS`): the broker's own reports;
 * - a retained message may only be a node's state or the master's state. A retained `submit`
 *   or `rpc` would be replayed to the master on every restart.
 *
 * Rules by role (only with `--auth`):
 * - worker (its node id is its username): publishes `nodes/{me}/state` (retained allowed) and
 *   `nodes/{me}/events`; subscribes `nodes/{me}/assign`, `nodes/{me}/control`, `nodes/{me}/state`
 *   (to see stale wills and duplicate ids) and `master/state`;
 * - client: publishes `submit` and `rpc` whose payload's `replyTo` is `{ns}/reply/{me}`, and, for a
 *   submit, whose `id` is not a job of someone else; subscribes `{ns}/reply/{me}`,
 *   `{ns}/nodes/+/state` (or one node's state) and `{ns}/jobs/{id}/events` of jobs it owns; never
 *   `{ns}/master/stats` or `{ns}/master/jobs`, which tell of every client's jobs (admin only);
 * - admin: anything within the rules for everyone, in any namespace.
 * Non-admin users are confined to the served namespace.
 */
export function authorizePublish(ctx: AclContext, who: Principal, topic: string, retain: boolean, payload: Buffer | string): Decision {
  if (topic.startsWith('$')) return deny('topics beginning with $ are reserved for the broker')
  if (retain && !mayRetain(ctx, who, topic)) return deny('retained messages are only allowed on node and master state topics')
  if (who.kind === 'anonymous' || who.role === 'admin') return ALLOW
  const ns = ctx.namespace
  const parsed = parseTopic(ns, topic)
  if (!parsed) return deny(`topic outside namespace "${ns}" or not a protocol topic`)
  const me = who.username
  if (who.role === 'worker') {
    if ((parsed.kind === 'nodeState' || parsed.kind === 'nodeEvents') && parsed.node === me) return ALLOW
    return deny(`worker ${me} may only publish its own nodes/${me}/state and nodes/${me}/events`)
  }
  // client
  if (parsed.kind !== 'submit' && parsed.kind !== 'rpc') return deny('a client may only publish submit and rpc')
  const body = objectOf(payload)
  if (!body) return deny(`a client's ${parsed.kind} must be a JSON object carrying its replyTo`)
  const own = topics.reply(ns, me)
  if (body.replyTo !== own) return deny(`replyTo must be ${own}`)
  // A job id another client owns is refused by the master, with a `rejected NOT_AUTHORIZED` on
  // this client's reply topic: closing the connection would make the client resend it forever.
  return ALLOW
}

export function authorizeSubscribe(ctx: AclContext, who: Principal, filter: string): Decision {
  if (who.kind === 'anonymous' || who.role === 'admin') return ALLOW
  const ns = ctx.namespace
  const me = who.username
  if (who.role === 'worker') {
    if (filter === topics.nodeAssign(ns, me) || filter === topics.nodeControl(ns, me) || filter === topics.nodeState(ns, me) || filter === topics.masterState(ns)) {
      return ALLOW
    }
    return deny(`worker ${me} may only subscribe to its own assign, control and state topics and master/state`)
  }
  // client: the master's state too, so that it can tell a restarted master and resend to it
  if (filter === topics.reply(ns, me) || filter === filters.allNodeStates(ns) || filter === topics.masterState(ns) || filter === filters.allMasterStates(ns)) return ALLOW
  const parsed = parseTopic(ns, filter)
  if (parsed?.kind === 'nodeState') return ALLOW
  if (parsed?.kind === 'jobEvents') {
    if (ctx.ownerOf(parsed.jobId) === me) return ALLOW
    return deny(`job ${parsed.jobId} is not a job of ${me}`)
  }
  return deny(`a client may only subscribe to ${topics.reply(ns, me)}, node states, master state and its own jobs' events`)
}

/**
 * Node state (`{ns}/nodes/{id}/state`), master state (`{ns}/master/state`), each master's own
 * state (`{ns}/masters/{instance}/state`) and the master's stats (`{ns}/master/stats`) are the
 * retained topics.
 */
function mayRetain(ctx: AclContext, who: Principal, topic: string): boolean {
  if (who.kind === 'user' && who.role === 'worker') return topic === topics.nodeState(ctx.namespace, who.username)
  if (who.kind === 'user' && who.role === 'client') return false
  const levels = topic.split('/')
  if (levels.length === 3) return isId(levels[0]) && levels[1] === 'master' && (levels[2] === 'state' || levels[2] === 'stats')
  // Each master's own state (docs/protocol.md §7a) too.
  if (levels.length === 4) return isId(levels[0]) && (levels[1] === 'nodes' || levels[1] === 'masters') && isId(levels[2]) && levels[3] === 'state'
  return false
}

function objectOf(payload: Buffer | string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
