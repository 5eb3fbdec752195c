/**
 * One pattern for every identifier that becomes a topic level. Excluding `/`, `+` and `#` is what
 * keeps an id from escaping its topic or acting as a wildcard. Free of zod, so that topics.ts can
 * be bundled into the browser dashboard without it.
 */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}
