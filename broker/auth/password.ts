import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { EdgerunError } from '../../src/errors/index.js'

/**
 * Password hashing for the users file (docs/security.md): scrypt from node:crypto, stored as
 * `scrypt$N$r$p$salt$hash` (salt and hash in base64url). Plain text is never stored.
 */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** ~100 ms and 16 MiB per check on a small machine: slow for guessing, fine per connection. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 16_384, r: 8, p: 1 }
const KEY_BYTES = 32
const SALT_BYTES = 16
/** A users file is trusted input, but a typo in it must not cost a gigabyte per connection. */
const MAX_N = 1 << 20
const MAX_R = 32
const MAX_P = 16

export const HASH_PATTERN = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,256})$/

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 }
  return new Promise((resolve, reject) => {
    // The async form runs on libuv's pool: a connection storm never blocks the broker's loop.
    scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export function isValidParams(params: ScryptParams): boolean {
  const { N, r, p } = params
  return Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0 && r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (!isValidParams(params)) throw new EdgerunError('BAD_FLAG', `invalid scrypt parameters N=${params.N} r=${params.r} p=${params.p}`)
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, params, KEY_BYTES)
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export function parseHash(hash: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const match = HASH_PATTERN.exec(hash)
  if (!match) return undefined
  const params = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) }
  if (!isValidParams(params)) return undefined
  return { params, salt: Buffer.from(match[4]!, 'base64url'), key: Buffer.from(match[5]!, 'base64url') }
}

/** Constant-time comparison; a malformed hash never verifies. Never throws. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash)
  if (!parsed) return false
  try {
    const key = await derive(password, parsed.salt, parsed.params, parsed.key.length)
    return timingSafeEqual(key, parsed.key)
  } catch {
    return false
  }
}

let dummy: Promise<string> | undefined

/** Spends the time a real check would, so an unknown username cannot be told apart by timing. */
export async function burnVerify(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(12).toString('hex'))
  await verifyPassword(password, await dummy)
  return false
}
