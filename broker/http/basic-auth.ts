import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { burnVerify, verifyPassword } from '../auth/password.js'
import type { UsersTable } from '../auth/users-file.js'

/** A scrape every few seconds must not cost an scrypt each: a verified pair is trusted this long. */
const TRUSTED_MS = 60_000

/**
 * HTTP basic credentials checked against the users file (broker/auth): any user of it may read
 * /metrics and /readyz (docs/security.md, "HTTP"). Unknown users cost the same scrypt as known ones.
 */
export class BasicAuth {
  private readonly trusted = new Map<string, number>()

  constructor(private readonly users: UsersTable) {}

  async check(request: IncomingMessage): Promise<string | undefined> {
    const header = request.headers.authorization
    const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null
    if (!match) return undefined
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const username = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    const entry = this.users.get(username)
    const key = `${username}\0${createHash('sha256').update(password).digest('base64')}\0${entry?.hash ?? ''}`
    const until = this.trusted.get(key)
    if (until !== undefined && until > Date.now()) return username
    const ok = entry ? await verifyPassword(password, entry.hash) : await burnVerify(password)
    if (!ok) return undefined
    if (this.trusted.size > 1000) this.trusted.clear()
    this.trusted.set(key, Date.now() + TRUSTED_MS)
    return username
  }
}
