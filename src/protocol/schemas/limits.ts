/**
 * Hard bounds on what a message may ask for. They are part of the protocol: a message outside
 * them is BAD_MESSAGE, whatever the broker's own, usually tighter, configured limits.
 */
export const LIMITS = {
  maxTimeoutMs: 24 * 60 * 60 * 1000,
  maxAttempts: 100,
  /** Bounded so that attempt numbers (lost + refused + 1) stay within an attempt's 1 … 1000. */
  maxLost: 500,
  maxPriority: 1_000_000,
  maxArgs: 256,
  maxArgLength: 8 * 1024,
  maxStdinBytes: 1024 * 1024,
  maxLabels: 32,
  maxLabelLength: 64,
  maxTests: 1000,
  maxSourceBytes: 1024 * 1024,
  maxTestBytes: 16 * 1024 * 1024,
  maxJudgeTimeLimitMs: 60_000,
  maxJudgeMemoryMb: 4096,
  /** Entries in one batched `control` `ack` (`jobs`). */
  maxAckBatch: 1000,
  /** Replies in one `batch` message, and its size: far below any broker's packet limit. */
  maxReplyBatch: 500,
  maxReplyBatchBytes: 256 * 1024,
} as const
