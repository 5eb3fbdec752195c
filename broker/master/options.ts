import { z } from 'zod'
import { DEFAULT_NAMESPACE, namespaceSchema } from '../../src/protocol/index.js'

/** The master's knobs. Defaults live here; CLI flags and env only feed this schema. */
export const masterOptionsSchema = z.object({
  namespace: namespaceSchema.default(DEFAULT_NAMESPACE),
  /** How long a worker has to answer an assignment with `accepted` (docs/protocol.md §10: 5 s). */
  ackTimeoutMs: z.number().int().min(10).max(600_000).default(5_000),
  /** How long a dead connection's attempts wait for the node to come back before they are requeued. */
  lostGraceMs: z.number().int().min(0).max(3_600_000).default(0),
  /** Added to a job's timeoutMs before the master gives up on a silent worker. */
  runGraceMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** After a restart: how long running jobs wait for their node's rebirth before they are requeued. */
  reconcileMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** Back-off before a job a worker refused as busy is offered again. */
  busyRetryMs: z.number().int().min(0).max(60_000).default(100),
  maxQueued: z.number().int().min(1).default(2_000_000),
  maxQueuedPerClient: z.number().int().min(1).default(1_000_000),
  maxPayloadBytes: z.number().int().min(1024).default(1024 * 1024),
  /** A judge job's source, in UTF-8 bytes; a bigger one is rejected BAD_MESSAGE. */
  maxJudgeSourceBytes: z.number().int().min(1).default(256 * 1024),
  /** A judge job's tests together (every input plus every expected output), in UTF-8 bytes. */
  maxJudgeTestsBytes: z.number().int().min(1).default(8 * 1024 * 1024),
  /** Queued jobs beyond this many wait in the store only, with a small entry in memory. */
  parkAbove: z.number().int().min(0).default(10_000),
  /**
   * Past parkAbove: how many jobs at the head of the queue (split evenly among its requirement
   * classes) have their records loaded back while the master is idle, so dispatch does not wait
   * on the store. 0 turns this off.
   */
  readAhead: z.number().int().min(0).max(100_000).default(2_000),
  /** Worker rejections (busy, unsupported) a job may collect before it fails. */
  maxRejections: z.number().int().min(1).default(50),
})

export type MasterOptions = z.infer<typeof masterOptionsSchema>
export type MasterOptionsInput = z.input<typeof masterOptionsSchema>
