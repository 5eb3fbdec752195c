import { EdgerunError, isEdgerunError } from '../src/errors/index.js'
import { allowedOf, flagValueMessage, isFlagValueDetails } from './checked-flags.js'

/** What a parse error needs to know of the command it happened in. */
export interface CommandShape {
  /** As the user types it: `edgerun jobs list`. */
  usage: string
  flags: Record<string, { type?: string; allowNo?: boolean; hidden?: boolean; char?: string } | undefined>
  args: Record<string, { description?: string } | undefined>
}

type OclifError = Error & { oclif?: { exit?: number }; flags?: string[]; args?: unknown[] }

/**
 * Any error a command ends with → the EdgerunError it is reported as. oclif's parse errors
 * (unknown flag, missing value, missing required flag, exclusive flags, missing or extra
 * arguments) become BAD_FLAG with one line that names the flag and what is allowed; oclif
 * words them across several lines, with colour and a "See more help" tail, or, for a value our
 * own parser refused, under a "Parsing --flag" prefix.
 */
export function toEdgerunError(error: unknown, command: CommandShape): EdgerunError {
  if (isEdgerunError(error)) {
    // oclif prefixes the message of whatever a flag's parse throws: rebuild ours from its facts.
    if (error.code === 'BAD_FLAG' && isFlagValueDetails(error.details)) {
      return new EdgerunError('BAD_FLAG', flagValueMessage(error.details), { details: error.details })
    }
    return error
  }
  const e = (error instanceof Error ? error : new EdgerunError('INTERNAL', String(error))) as OclifError
  const kind = e.constructor?.name
  if (kind === 'NonExistentFlagsError' && Array.isArray(e.flags)) return unknownFlags(e.flags, command)
  if (kind === 'FailedFlagValidationError' || kind === 'ViolatedFlagConstraintError') return failedValidation(e.message, command)
  if (kind === 'RequiredArgsError' && Array.isArray(e.args)) return missingArgs(e.args as Array<{ name?: string; description?: string }>, command)
  if (kind === 'UnexpectedArgsError' && Array.isArray(e.args)) return unexpectedArgs(e.args.map(String), command)
  const text = plain(e.message)
  const missingValue = /^Flag --([\w-]+) expects (a value|one of these values)/.exec(text)
  if (missingValue) {
    const name = missingValue[1]!
    const allowed = allowedOf(command.flags[name])
    return new EdgerunError('BAD_FLAG', `--${name} needs a value${allowed ? `: ${allowed}` : ''}`, { details: { flag: name, ...(allowed ? { allowed } : {}) } })
  }
  if (e.oclif?.exit === 2 || e.name === 'CLIError' || kind?.endsWith('ParseError') || kind?.endsWith('OptionError')) {
    return new EdgerunError('BAD_FLAG', firstLine(text))
  }
  return new EdgerunError('INTERNAL', e.message || String(error), { cause: error })
}

function unknownFlags(given: string[], command: CommandShape): EdgerunError {
  const names = visibleFlags(command)
  const known = names.map((name) => (command.flags[name]?.allowNo ? `--[no-]${name}` : `--${name}`))
  const first = given[0]!.replace(/^-+/, '').split('=')[0]!
  const guess = closest(first, names)
  const subject = given.length === 1 ? `${given[0]} is not a flag` : `${given.join(', ')} are not flags`
  const hint = guess ? ` (did you mean --${guess}?)` : ''
  const message = `${subject} of ${command.usage}${hint}; its flags: ${known.join(', ')}`
  return new EdgerunError('BAD_FLAG', message, { details: { flag: first, allowed: `one of ${known.join(', ')}` } })
}

function failedValidation(message: string, command: CommandShape): EdgerunError {
  const reasons = plain(message)
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('See more help'))
    .map((reason) => {
      const required = /^Missing required flag ([\w-]+)$/.exec(reason)
      if (required) {
        const allowed = allowedOf(command.flags[required[1]!])
        return `--${required[1]} is required${allowed ? `: ${allowed}` : ''}`
      }
      const exclusive = /^--([\w-]+)(?:=\S*)? cannot also be provided when using --([\w-]+)$/.exec(reason)
      // oclif reports an exclusive pair from both sides: one line says it.
      if (exclusive) return `--${[exclusive[1], exclusive[2]].sort().join(' and --')} cannot be used together`
      const needs = /^All of the following must be provided when using --([\w-]+): (.+)$/.exec(reason)
      if (needs) return `--${needs[1]} needs ${needs[2]}`
      return reason
    })
    .filter((reason, i, all) => all.indexOf(reason) === i)
  const flag = /--([\w-]+)/.exec(reasons[0] ?? '')?.[1]
  return new EdgerunError('BAD_FLAG', reasons.join('; '), flag ? { details: { flag } } : undefined)
}

function missingArgs(args: Array<{ name?: string; description?: string }>, command: CommandShape): EdgerunError {
  const named = args.map((arg) => `${(arg.name ?? 'arg').toUpperCase()}${arg.description ? ` (${arg.description})` : ''}`)
  return new EdgerunError('BAD_FLAG', `missing argument ${named.join(', ')}: ${usageLine(command)}`)
}

function unexpectedArgs(args: string[], command: CommandShape): EdgerunError {
  const takes = Object.keys(command.args).length === 0 ? `${command.usage} takes no arguments` : usageLine(command)
  return new EdgerunError('BAD_FLAG', `unexpected argument${args.length === 1 ? '' : 's'} ${args.join(' ')}: ${takes}`)
}

function usageLine(command: CommandShape): string {
  return [command.usage, ...Object.keys(command.args).map((name) => name.toUpperCase())].join(' ')
}

function visibleFlags(command: CommandShape): string[] {
  return Object.entries(command.flags)
    .filter(([, flag]) => flag && !flag.hidden)
    .map(([name]) => name)
}

/** The nearest flag name within two edits, or one the typed name is a prefix of. */
export function closest(typed: string, names: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const name of names) {
    const distance = name.startsWith(typed) && typed.length >= 2 ? 1 : editDistance(typed, name)
    if (distance < bestDistance) {
      best = name
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** Without ANSI colour and oclif's "Error: " and "See more help" decorations. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').replace(/^Error: /, '')
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text
}
