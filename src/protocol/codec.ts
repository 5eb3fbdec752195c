import type { z } from 'zod'
import type { ProtocolMessage } from './messages.js'
import { PROTOCOL_VERSION } from './version.js'

export type DecodeFailure = {
  ok: false
  code: 'BAD_MESSAGE' | 'UNSUPPORTED_VERSION'
  message: string
  /** The raw object, when the payload was at least a JSON object: lets a caller find a `replyTo`. */
  raw?: Record<string, unknown>
}
export type DecodeResult<T> = { ok: true; value: T } | DecodeFailure

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Only what src/protocol/messages.ts builds goes on the wire. */
export function encode(message: ProtocolMessage): Buffer {
  return Buffer.from(JSON.stringify(message))
}

/** `encode` as a string: for a message that becomes part of a bigger one (a reply in a batch). */
export function serialize(message: ProtocolMessage): string {
  return JSON.stringify(message)
}

/**
 * Bytes → validated message. Never throws: every failure is a code, so no payload can take a
 * handler (and with it the master) down.
 */
export function decode<S extends z.ZodType>(
  schema: S,
  payload: Buffer | Uint8Array | string,
  maxBytes = DEFAULT_MAX_PAYLOAD,
): DecodeResult<z.infer<S>> {
  const parsed = decodeObject(payload, maxBytes)
  return parsed.ok ? validate(schema, parsed.value) : parsed
}

/** The first decoding steps (size, JSON object, version), for a caller that picks the schema by `type`. */
export function decodeObject(payload: Buffer | Uint8Array | string, maxBytes = DEFAULT_MAX_PAYLOAD): DecodeResult<Record<string, unknown>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  if (size > maxBytes) return { ok: false, code: 'BAD_MESSAGE', message: `payload of ${size} bytes exceeds ${maxBytes}` }
  let parsed: unknown
  try {
    parsed = JSON.parse(typeof payload === 'string' ? payload : asText(payload))
  } catch {
    return { ok: false, code: 'BAD_MESSAGE', message: 'payload is not JSON' }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, code: 'BAD_MESSAGE', message: 'payload is not a JSON object' }
  }
  const raw = parsed as Record<string, unknown>
  if (raw.v !== PROTOCOL_VERSION) {
    return { ok: false, code: 'UNSUPPORTED_VERSION', message: `unsupported protocol version ${JSON.stringify(raw.v)}; this speaks v${PROTOCOL_VERSION}`, raw }
  }
  return { ok: true, value: raw }
}

/**
 * A Buffer decodes in place; `Buffer.from(buffer)` would copy every incoming payload first (a
 * reply batch of 256 KiB included) only to turn the copy into a string.
 */
function asText(payload: Buffer | Uint8Array): string {
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')
}

/** The last decoding step: the schema, on an object `decodeObject` accepted. */
export function validate<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): DecodeResult<z.infer<S>> {
  let result: z.ZodSafeParseResult<z.infer<S>>
  try {
    result = schema.safeParse(raw) as z.ZodSafeParseResult<z.infer<S>>
  } catch (error) {
    return { ok: false, code: 'BAD_MESSAGE', message: `invalid message: ${(error as Error).message}`, raw }
  }
  if (!result.success) return { ok: false, code: 'BAD_MESSAGE', message: describeIssues(result.error), raw }
  return { ok: true, value: result.data }
}

function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid message'
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)'
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : ''
  return `invalid message: ${path}: ${issue.message}${more}`
}
