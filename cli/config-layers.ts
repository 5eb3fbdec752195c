import { EdgerunError } from '../src/errors/index.js'
import { configError, isPlainObject, type ConfigFile } from './config-file.js'
import { closest } from './parse-errors.js'
import { printable } from './printable.js'

/**
 * Where a flag's value comes from, first match wins: the command line, then its EDGERUN_*
 * variable, then the config file, then the default (which the option schemas hold). Values from
 * the environment and the file become command-line tokens placed before the user's own, so oclif
 * parses and checks every value the same way, and each token's origin is kept to name the
 * variable or the file when a value is refused.
 */
export type Origin = { from: 'flag' } | { from: 'env'; env: string } | { from: 'file'; file: string; key: string } | { from: 'default' }

export interface FlagShape {
  type: 'boolean' | 'option'
  multiple?: boolean
  allowNo?: boolean
  env?: string
  /** Flags that cannot be given with this one (oclif's `exclusive`). */
  exclusive?: string[]
}

/** Flags that say how to run rather than what: never read from the environment or a file. */
export const NOT_LAYERED = new Set(['json', 'config', 'help', 'version'])

/** A flag's variable: the one it declares (EDGERUN_URL, EDGERUN_NODE_ID), else EDGERUN_ + its name. */
export function envNameOf(name: string, flag: FlagShape): string {
  return flag.env ?? `EDGERUN_${name.toUpperCase().replace(/-/g, '_')}`
}

/** The flags given on the command line (`--x`, `--x=v`, `--no-x`), up to a bare `--`. */
export function namesOnArgv(argv: readonly string[], flags: Record<string, FlagShape>): Set<string> {
  const names = new Set<string>()
  for (const token of argv) {
    if (token === '--') break
    const match = /^--([^=]+)/.exec(token)
    if (!match) continue
    const name = match[1]!
    if (flags[name]) names.add(name)
    else if (name.startsWith('no-') && flags[name.slice(3)]?.allowNo) names.add(name.slice(3))
  }
  return names
}

export interface Layered {
  /** Tokens to put before the user's argv. */
  tokens: string[]
  origins: Map<string, Origin>
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

export function layer(options: {
  flags: Record<string, FlagShape>
  argv: readonly string[]
  env: NodeJS.ProcessEnv
  file?: ConfigFile
  commandId: string
  /** Every flag name of every command: a top-level key that none has is unknown. */
  allFlagNames: ReadonlySet<string>
}): Layered {
  const { flags, env, file } = options
  const origins = new Map<string, Origin>()
  const onArgv = namesOnArgv(options.argv, flags)
  for (const name of onArgv) origins.set(name, { from: 'flag' })
  const fromFile = file ? fileValues(file, options.commandId, flags, options.allFlagNames) : new Map<string, unknown>()
  const tokens: string[] = []
  // A lower layer's flag gives way to a higher layer's that excludes it (`submit --command` typed,
  // `noop: true` in the file): precedence, not a conflict. Within one layer a conflict stays one.
  const excluded = (name: string, given: ReadonlySet<string>) =>
    [...given].some((other) => flags[name]?.exclusive?.includes(other) || flags[other]?.exclusive?.includes(name))
  const fromEnv = new Set<string>()
  for (const [name, flag] of Object.entries(flags)) {
    if (NOT_LAYERED.has(name) || onArgv.has(name) || excluded(name, onArgv)) continue
    const variable = envNameOf(name, flag)
    const text = env[variable]
    if (text === undefined || text === '') continue
    const given = envTokens(name, flag, variable, text)
    tokens.push(...given)
    origins.set(name, { from: 'env', env: variable })
    if (given.length > 0) fromEnv.add(name)
  }
  const above = new Set([...onArgv, ...fromEnv])
  for (const [name, flag] of Object.entries(flags)) {
    if (NOT_LAYERED.has(name) || origins.has(name) || !fromFile.has(name) || excluded(name, above)) continue
    tokens.push(...fileTokens(name, flag, file!, fromFile.get(name)))
    origins.set(name, { from: 'file', file: file!.path, key: name })
  }
  return { tokens, origins }
}

function envTokens(name: string, flag: FlagShape, variable: string, text: string): string[] {
  if (flag.type === 'boolean') {
    const word = text.trim().toLowerCase()
    if (TRUE.has(word)) return [`--${name}`]
    if (FALSE.has(word)) return flag.allowNo ? [`--no-${name}`] : []
    throw new EdgerunError('BAD_FLAG', `--${name} ${JSON.stringify(text)} (from ${variable}): must be true or false`, {
      details: { flag: name, value: text, allowed: 'true or false', env: variable },
    })
  }
  // A repeatable flag takes a comma-separated list: EDGERUN_LABEL=gpu,linux.
  const values = flag.multiple ? text.split(',').map((v) => v.trim()).filter((v) => v !== '') : [text]
  return values.map((value) => `--${name}=${value}`)
}

function fileTokens(name: string, flag: FlagShape, file: ConfigFile, value: unknown): string[] {
  const safe = printable(name, value)
  const bad = (allowed: string) => configError(file.path, `${name}: ${JSON.stringify(safe)}: must be ${allowed}`, { key: name, value: safe, allowed })
  if (flag.type === 'boolean') {
    if (typeof value !== 'boolean') throw bad('true or false')
    return value ? [`--${name}`] : flag.allowNo ? [`--no-${name}`] : []
  }
  const scalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
  if (Array.isArray(value)) {
    if (!flag.multiple) throw bad('one value, not a list')
    if (!value.every(scalar)) throw bad('a list of strings or numbers')
    return value.map((v) => `--${name}=${String(v)}`)
  }
  if (!scalar(value)) throw bad(flag.multiple ? 'a string, a number or a list of them' : 'a string or a number')
  return [`--${name}=${String(value)}`]
}

/** The file's values for this command: its section over the top level; unknown keys refused. */
function fileValues(file: ConfigFile, commandId: string, flags: Record<string, FlagShape>, allFlagNames: ReadonlySet<string>): Map<string, unknown> {
  const values = new Map<string, unknown>()
  const unknown = (key: string, names: Iterable<string>, where: string) => {
    const guess = closest(key, [...names])
    return configError(file.path, `unknown key "${key}"${where}${guess ? ` (did you mean ${guess}?)` : ''}`, { key })
  }
  for (const [key, value] of Object.entries(file.common)) {
    if (NOT_LAYERED.has(key) || !allFlagNames.has(key)) throw unknown(key, allFlagNames, ': no command has that flag')
    if (flags[key]) values.set(key, value)
  }
  const section = file.sections[commandId]
  if (section) {
    const where = ` in section "${commandId.split(':').join(' ')}"`
    for (const [key, value] of Object.entries(section)) {
      if (NOT_LAYERED.has(key) || !flags[key]) throw unknown(key, Object.keys(flags).filter((n) => !NOT_LAYERED.has(n)), `${where}: not a flag of that command`)
      if (isPlainObject(value)) throw configError(file.path, `${key}${where}: must be a value, not a mapping`, { key })
      values.set(key, value)
    }
  }
  return values
}
