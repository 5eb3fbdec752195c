import { randomBytes } from 'node:crypto'

/** Sortable by creation time, unique without coordination, and legal in a topic level. */
export function newJobId(): string {
  return `j-${Date.now().toString(36)}-${randomBytes(6).toString('base64url')}`
}

export function newClientId(): string {
  return `c-${randomBytes(8).toString('base64url')}`
}
