/**
 * What a value may look like wherever the CLI prints it (config show, an error line, --json
 * details): a secret flag's value only as "(set)", and the password of a URL (mqtt://user:pass@
 * host, redis://:pass@host), which the connection uses as a credential, masked.
 */
export const SECRET_FLAGS: ReadonlySet<string> = new Set(['password'])

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i

export function printable(name: string, value: unknown): unknown {
  if (value === null || value === undefined) return value
  if (SECRET_FLAGS.has(name)) return '(set)'
  if (typeof value === 'string') return value.replace(URL_PASSWORD, '$1:***@')
  if (Array.isArray(value)) return value.map((item) => printable(name, item))
  return value
}
