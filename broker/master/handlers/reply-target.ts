import { replyClientOf } from '../../../src/protocol/index.js'

/** A `replyTo` is usable only if it is exactly a reply topic of this namespace (docs/protocol.md §4). */
export function usableReplyTo(ns: string, value: unknown): string | undefined {
  return replyClientOf(ns, value) !== undefined ? (value as string) : undefined
}

export function correlationOf(raw: Record<string, unknown> | undefined): string | undefined {
  const value = raw?.correlationId
  return typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined
}
