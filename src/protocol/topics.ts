import { isId } from './id-pattern.js'

/**
 * Every topic edgerun uses is built and parsed here (docs/protocol.md §2). Nothing else in the code base
 * writes a topic string, so the table in docs/protocol.md §2 and this file are the only two places to check.
 */
export const DEFAULT_NAMESPACE = 'edgerun'

export const topics = {
  masterState: (ns: string) => `${ns}/master/state`,
  /** Retained, one per master process, with its own will: standby, online or offline (§7a). */
  masterInstanceState: (ns: string, instance: string) => `${ns}/masters/${instance}/state`,
  /** Retained, at most once a second: counts and rates for dashboards (admin only). */
  masterStats: (ns: string) => `${ns}/master/stats`,
  /** Job changes, batched at most every 250 ms, for dashboards (admin only). */
  masterJobs: (ns: string) => `${ns}/master/jobs`,
  nodeState: (ns: string, node: string) => `${ns}/nodes/${node}/state`,
  nodeAssign: (ns: string, node: string) => `${ns}/nodes/${node}/assign`,
  nodeControl: (ns: string, node: string) => `${ns}/nodes/${node}/control`,
  nodeEvents: (ns: string, node: string) => `${ns}/nodes/${node}/events`,
  submit: (ns: string) => `${ns}/submit`,
  reply: (ns: string, client: string) => `${ns}/reply/${client}`,
  jobEvents: (ns: string, jobId: string) => `${ns}/jobs/${jobId}/events`,
  rpc: (ns: string) => `${ns}/rpc`,
} as const

/** Subscription filters (the only wildcard topics in the system). */
export const filters = {
  allNodeStates: (ns: string) => `${ns}/nodes/+/state`,
  allMasterStates: (ns: string) => `${ns}/masters/+/state`,
  allNodeEvents: (ns: string) => `${ns}/nodes/+/events`,
  allJobEvents: (ns: string) => `${ns}/jobs/+/events`,
  allReplies: (ns: string) => `${ns}/reply/+`,
  everything: (ns: string) => `${ns}/#`,
} as const

/** Topic prefixes, for code that must tell whole families of topics apart. */
export const prefixes = {
  jobs: (ns: string) => `${ns}/jobs/`,
  replies: (ns: string) => `${ns}/reply/`,
} as const

export type ParsedTopic =
  | { kind: 'masterState' | 'masterStats' | 'masterJobs' }
  | { kind: 'nodeState' | 'nodeAssign' | 'nodeControl' | 'nodeEvents'; node: string }
  | { kind: 'masterInstanceState'; instance: string }
  | { kind: 'submit' }
  | { kind: 'rpc' }
  | { kind: 'reply'; client: string }
  | { kind: 'jobEvents'; jobId: string }

const NODE_KINDS = {
  state: 'nodeState',
  assign: 'nodeAssign',
  control: 'nodeControl',
  events: 'nodeEvents',
} as const

/** Parses a topic of namespace `ns`; anything that is not exactly one of our topics is undefined. */
export function parseTopic(ns: string, topic: string): ParsedTopic | undefined {
  const prefix = `${ns}/`
  if (!topic.startsWith(prefix)) return undefined
  const parts = topic.slice(prefix.length).split('/')
  switch (parts.length) {
    case 1:
      if (parts[0] === 'submit') return { kind: 'submit' }
      if (parts[0] === 'rpc') return { kind: 'rpc' }
      return undefined
    case 2:
      if (parts[0] === 'master' && parts[1] === 'state') return { kind: 'masterState' }
      if (parts[0] === 'master' && parts[1] === 'stats') return { kind: 'masterStats' }
      if (parts[0] === 'master' && parts[1] === 'jobs') return { kind: 'masterJobs' }
      if (parts[0] === 'reply' && isId(parts[1])) return { kind: 'reply', client: parts[1] }
      return undefined
    case 3: {
      const [head, id, tail] = parts as [string, string, string]
      if (!isId(id)) return undefined
      if (head === 'nodes' && tail in NODE_KINDS) {
        return { kind: NODE_KINDS[tail as keyof typeof NODE_KINDS], node: id }
      }
      if (head === 'jobs' && tail === 'events') return { kind: 'jobEvents', jobId: id }
      if (head === 'masters' && tail === 'state') return { kind: 'masterInstanceState', instance: id }
      return undefined
    }
    default:
      return undefined
  }
}

/** The client id of a reply topic in namespace `ns`, or undefined if `topic` is not one. */
export function replyClientOf(ns: string, topic: unknown): string | undefined {
  if (typeof topic !== 'string') return undefined
  const parsed = parseTopic(ns, topic)
  return parsed?.kind === 'reply' ? parsed.client : undefined
}
