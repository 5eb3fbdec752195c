import type { JobOutput } from './outputs.js'
import type { JobKind, JobSpec } from './job-spec.js'
import type { ResultCode } from './replies.js'
import type { JobState, NodeLifecycle } from './states.js'

/** What `jobs.get` and `jobs.list` return for one job. */
export interface JobView {
  id: string
  kind: JobKind
  state: JobState
  priority: number
  attempts: number
  maxAttempts: number
  node: string | null
  owner: string | null
  createdAt: number
  updatedAt: number
  /** Set once the job is final. */
  output?: JobOutput
  error?: string
  /** As in the result: why the master ended the job, and the attempts lost so far. */
  code?: ResultCode
  lost?: number
  /** Only from `jobs.get` with `detail: true`: the spec as admitted, and every attempt. */
  spec?: JobSpec
  history?: AttemptView[]
}

/** One attempt of a job: where it went, and, if it was lost, why (docs/protocol.md §10). */
export interface AttemptView {
  attempt: number
  node: string
  at: number
  lost?: { at: number; kind: string; reason: string; verdict?: string }
}

/** What `nodes.list` returns for one node. */
export interface NodeView {
  id: string
  state: NodeLifecycle
  epoch: string
  slots: number
  inFlight: number
  labels: string[]
  languages: string[]
  commands: string[]
  version: string
  since: number
}

export interface StatsView {
  instance: string
  uptimeMs: number
  nodes: { online: number; total: number }
  jobs: Record<JobState, number>
  queued: number
  rejected: Record<string, number>
  ignored: Record<string, number>
  /** What the broker itself refused (auth, ACL, limits), when the master runs inside it. */
  refused?: Record<string, number>
}
