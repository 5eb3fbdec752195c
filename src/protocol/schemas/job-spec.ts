import { z } from 'zod'
import { jobIdSchema } from '../ids.js'
import { correlationIdSchema, v1 } from './common.js'
import { LIMITS } from './limits.js'

export const JOB_KINDS = ['judge', 'command', 'noop'] as const
export const CHECKERS = ['exact', 'lines', 'tokens'] as const
export const JUDGE_LANGUAGES = ['python3', 'c', 'cpp', 'js'] as const

const labelSchema = z.string().min(1).max(LIMITS.maxLabelLength).regex(/^[A-Za-z0-9._:=-]+$/)

/** Fields every kind shares. Defaults live here, so the CLI and raw MQTT clients get the same ones. */
const jobCommon = {
  id: jobIdSchema,
  priority: z.number().int().min(-LIMITS.maxPriority).max(LIMITS.maxPriority).default(0),
  timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).default(60_000),
  /** Attempts that may be charged: lost to a worker process that died, or silent past its run deadline. */
  maxAttempts: z.number().int().min(1).max(LIMITS.maxAttempts).default(3),
  /**
   * Attempts that may be lost for any reason, dropped and stalled connections included
   * (docs/protocol.md §10). Absent means `maxLostOf`'s default, which depends on maxAttempts.
   */
  maxLost: z.number().int().min(1).max(LIMITS.maxLost).optional(),
  requires: z
    .object({ labels: z.array(labelSchema).max(LIMITS.maxLabels).default([]) })
    .default({ labels: [] }),
  wait: z.boolean().default(true),
  /**
   * Whether `progress` replies go to `replyTo` (docs/protocol.md §4). Off by default: a submitter
   * that only wants the result gets two messages per job instead of four. `waiting` is sent
   * either way, and `{ns}/jobs/{id}/events` always carries every event.
   */
  progress: z.boolean().default(false),
  /**
   * Whether replies to `replyTo` may come packed in `batch` messages (an addition, docs/protocol.md §14,
   * see docs/protocol.md): one message per store commit instead of one per reply.
   */
  batchReplies: z.boolean().default(false),
  correlationId: correlationIdSchema.optional(),
}

export const judgeTestSchema = z.object({
  name: z.string().min(1).max(128).optional(),
  input: z.string().max(LIMITS.maxTestBytes),
  expected: z.string().max(LIMITS.maxTestBytes),
})

export const judgeFieldsSchema = z.object({
  kind: z.literal('judge'),
  language: z.enum(JUDGE_LANGUAGES),
  source: z.string().max(LIMITS.maxSourceBytes),
  tests: z.array(judgeTestSchema).min(1).max(LIMITS.maxTests),
  timeLimitMs: z.number().int().min(1).max(LIMITS.maxJudgeTimeLimitMs).default(1000),
  memoryLimitMb: z.number().int().min(1).max(LIMITS.maxJudgeMemoryMb).default(256),
  checker: z.enum(CHECKERS).default('tokens'),
})

export const commandFieldsSchema = z.object({
  kind: z.literal('command'),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  args: z.array(z.string().max(LIMITS.maxArgLength)).max(LIMITS.maxArgs).default([]),
  stdin: z.string().max(LIMITS.maxStdinBytes).optional(),
})

export const noopFieldsSchema = z.object({
  kind: z.literal('noop'),
  sleepMs: z.number().int().min(0).max(LIMITS.maxTimeoutMs).optional(),
})

/** A job as the master stores it and sends it to a worker: the submit minus its envelope. */
export const jobSpecSchema = z.discriminatedUnion('kind', [
  judgeFieldsSchema.extend(jobCommon),
  commandFieldsSchema.extend(jobCommon),
  noopFieldsSchema.extend(jobCommon),
])

export const submitSchema = z.discriminatedUnion('kind', [
  judgeFieldsSchema.extend({ ...jobCommon, v: v1, type: z.literal('submit'), replyTo: z.string() }),
  commandFieldsSchema.extend({ ...jobCommon, v: v1, type: z.literal('submit'), replyTo: z.string() }),
  noopFieldsSchema.extend({ ...jobCommon, v: v1, type: z.literal('submit'), replyTo: z.string() }),
])

export type JobKind = (typeof JOB_KINDS)[number]
export type JudgeLanguage = (typeof JUDGE_LANGUAGES)[number]
export type Checker = (typeof CHECKERS)[number]
export type JobSpec = z.infer<typeof jobSpecSchema>
export type JobSpecInput = z.input<typeof jobSpecSchema>
export type JudgeJobSpec = Extract<JobSpec, { kind: 'judge' }>
export type CommandJobSpec = Extract<JobSpec, { kind: 'command' }>
export type NoopJobSpec = Extract<JobSpec, { kind: 'noop' }>
export type SubmitMessage = z.infer<typeof submitSchema>
export type SubmitInput = z.input<typeof submitSchema>

/**
 * A flaky link may lose an attempt many times where a crash loses it a few: 20 losses in a row
 * is far beyond what a link that ever delivers causes (at one loss in two, 1 job in a million),
 * while a job that cannot be delivered at all still ends within 20 requeues.
 */
export const DEFAULT_MAX_LOST = 20

/** The job's budget of lost attempts: `maxLost`, by default 20 but never below maxAttempts. */
export function maxLostOf(spec: Pick<JobSpec, 'maxAttempts' | 'maxLost'>): number {
  return spec.maxLost ?? Math.max(DEFAULT_MAX_LOST, spec.maxAttempts)
}

/** Strips the submit envelope, keeping what the worker needs. */
export function specOf(submit: SubmitMessage): JobSpec {
  const { v: _v, type: _type, replyTo: _replyTo, ...spec } = submit
  return spec as JobSpec
}
