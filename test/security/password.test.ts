import { describe, expect, it } from 'vitest'
import { hashPassword, parseHash, verifyPassword } from '../../broker/auth/password.js'
import { TEST_SCRYPT } from './helpers.js'

describe('scrypt password hashes', () => {
  it('verifies the right password only, with a fresh salt every time', async () => {
    const a = await hashPassword('correct horse', TEST_SCRYPT)
    const b = await hashPassword('correct horse', TEST_SCRYPT)
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(a).not.toBe(b)
    expect(a).not.toContain('correct')
    expect(await verifyPassword('correct horse', a)).toBe(true)
    expect(await verifyPassword('correct horse ', a)).toBe(false)
    expect(await verifyPassword('', a)).toBe(false)
  })

  it('defaults to N=16384, r=8, p=1', async () => {
    expect(parseHash(await hashPassword('x'))?.params).toEqual({ N: 16384, r: 8, p: 1 })
  })

  it('never verifies against a malformed hash or absurd parameters, and never throws', async () => {
    const good = await hashPassword('pw', TEST_SCRYPT)
    for (const bad of ['', 'pw', 'plain:pw', good.replace('scrypt$1024', 'scrypt$1000'), good.replace('scrypt$1024', 'scrypt$1073741824'), good.replace('$8$1$', '$8$99$')]) {
      expect(await verifyPassword('pw', bad), bad).toBe(false)
    }
  })

  it('NFC-normalizes, so the same password typed two ways is one password', async () => {
    const hash = await hashPassword('caf\u00e9', TEST_SCRYPT)
    expect(await verifyPassword('cafe\u0301', hash)).toBe(true)
  })
})
