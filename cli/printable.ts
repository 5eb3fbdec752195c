import { maskUrl } from '../src/logging/mask-url.js'

/**
 * What a value may look like wherever the CLI prints it (config show, an error line, --json
 * details): a secret flag's value only as "(set)", and the password of a URL (mqtt://user:pass@
 * host, redis://:pass@host), which the connection uses as a credential, masked.
 */
export const SECRET_FLAGS: ReadonlySet<string> = new Set(['password'])

/** A value that starts as a URL with a password: only those go through maskUrl, the rest print as they are. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:[^/?#@]*@/i

export function printable(name: string, value: unknown): unknown {
  if (value === null || value === undefined) return value
  if (SECRET_FLAGS.has(name)) return '(set)'
  if (typeof value === 'string') return URL_PASSWORD.test(value) ? maskUrl(value) : value
  if (Array.isArray(value)) return value.map((item) => printable(name, item))
  return value
}
