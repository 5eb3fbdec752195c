import { randomBytes } from 'node:crypto'
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { EdgerunError } from '../../src/errors/index.js'
import { ID_PATTERN } from '../../src/protocol/index.js'
import { DEFAULT_SCRYPT, HASH_PATTERN, hashPassword, type ScryptParams } from './password.js'

export const ROLES = ['worker', 'client', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface UserEntry {
  role: Role
  /** `scrypt$N$r$p$salt$hash`: never the password itself. */
  hash: string
}

/** username → entry. A username is a topic level (worker id, reply topic), so it is an id. */
export type UsersTable = ReadonlyMap<string, UserEntry>

const usersFileSchema = z.object({
  version: z.literal(1),
  users: z.record(
    z.string().refine((name) => isValidUsername(name), 'a username must be 1-64 chars of [A-Za-z0-9._-]'),
    z.object({ role: z.enum(ROLES), hash: z.string().regex(HASH_PATTERN, 'must be an scrypt hash written by `edgerun users add`') }),
  ),
})

type UsersFile = z.infer<typeof usersFileSchema>

const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

export function isValidUsername(name: string): boolean {
  return ID_PATTERN.test(name) && !RESERVED_NAMES.has(name)
}

async function readRaw(path: string, missingOk: boolean): Promise<UsersFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && missingOk) return { version: 1, users: {} }
    throw new EdgerunError('BAD_FLAG', `cannot read users file ${path}: ${code === 'ENOENT' ? 'no such file (create it with `edgerun users add`)' : (error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new EdgerunError('BAD_FLAG', `users file ${path} is not JSON`)
  }
  const parsed = usersFileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new EdgerunError('BAD_FLAG', `users file ${path} is invalid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'bad shape'}`)
  }
  return parsed.data
}

/** Loads and validates a users file; any problem is one BAD_FLAG line naming the file. */
export async function loadUsers(path: string): Promise<UsersTable> {
  const file = await readRaw(path, false)
  return new Map(Object.entries(file.users))
}

/**
 * Adds a user, or replaces the role and password of an existing one. The file is written
 * atomically (temp file, then rename) with mode 0600.
 */
export async function addUser(
  path: string,
  user: { name: string; role: Role; password: string },
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<{ created: boolean }> {
  if (!isValidUsername(user.name)) {
    throw new EdgerunError('BAD_FLAG', `invalid user name "${user.name}": use 1-64 chars of [A-Za-z0-9._-] (it becomes a topic level)`)
  }
  if (!(ROLES as readonly string[]).includes(user.role)) throw new EdgerunError('BAD_FLAG', `invalid role "${user.role}": use ${ROLES.join(', ')}`)
  if (user.password.length === 0) throw new EdgerunError('BAD_FLAG', 'the password is empty')
  const file = await readRaw(path, true)
  const created = !Object.hasOwn(file.users, user.name)
  file.users[user.name] = { role: user.role, hash: await hashPassword(user.password, params) }
  await writeAtomically(path, file)
  return { created }
}

/** Removes a user; false if there was none by that name. A running broker needs a restart to see it. */
export async function removeUser(path: string, name: string): Promise<boolean> {
  const file = await readRaw(path, false)
  if (!Object.hasOwn(file.users, name)) return false
  delete file.users[name]
  await writeAtomically(path, file)
  return true
}

/** Names and roles, never hashes. */
export async function listUsers(path: string): Promise<Array<{ name: string; role: Role }>> {
  const users = await loadUsers(path)
  return [...users].map(([name, entry]) => ({ name, role: entry.role })).sort((a, b) => a.name.localeCompare(b.name))
}

async function writeAtomically(path: string, file: object): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, path)
}
