import { custom as customFlag } from '@oclif/core/flags'
import type { Interfaces } from '@oclif/core'
import { EdgerunError } from '../src/errors/index.js'
import { printable } from './printable.js'

/**
 * Flags whose values are checked by edgerun itself, so that every bad value fails with one line
 * naming the flag, the value and what is allowed (`--limit 100000: must be an integer from 1 to
 * 1000`), code BAD_FLAG, and the same three facts under `details` with --json.
 *
 * oclif's own integer flag and `options` say it differently, and a throwing `parse` reaches the
 * command wrapped as "Parsing --limit \n\t…": cli/parse-errors.ts rebuilds the message from
 * `details` rather than trusting that wrapper.
 */
export interface FlagValueDetails {
  flag: string
  value: string
  allowed: string
  /** The environment variable the value came from, when it did not come from the command line. */
  env?: string
  /** Why the value failed, when `allowed` alone does not say (a file that cannot be read). */
  reason?: string
}

export function flagValueMessage(details: FlagValueDetails): string {
  const from = details.env ? ` (from ${details.env})` : ''
  return `--${details.flag} ${shown(details.value)}${from}: must be ${details.allowed}${details.reason ? `; ${details.reason}` : ''}`
}

/** The value as it may be printed: a refused URL's password stays out of the line and the details. */
export function flagValueError(details: FlagValueDetails): EdgerunError {
  const safe = { ...details, value: String(printable(details.flag, details.value)) }
  return new EdgerunError('BAD_FLAG', flagValueMessage(safe), { details: safe })
}

export function isFlagValueDetails(value: unknown): value is FlagValueDetails {
  const d = value as Partial<FlagValueDetails> | undefined
  return typeof d?.flag === 'string' && typeof d.value === 'string' && typeof d.allowed === 'string'
}

/** A value as the user typed it; quoted when it would otherwise be hard to see (empty, spaces). */
function shown(value: string): string {
  return /^[\w.,:/@+=-]+$/.test(value) ? value : JSON.stringify(value)
}

/** "an integer from 1 to 1000", "an integer of 0 or more": the words of both help and errors. */
export function integerRange(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`
  if (min !== undefined) return `an integer of ${min} or more`
  if (max !== undefined) return `an integer of ${max} or less`
  return 'an integer'
}

export function choiceList(choices: readonly string[]): string {
  return `one of ${choices.join(', ')}`
}

type ParseContext = { token?: unknown } | undefined
type CheckedParse<T> = (input: string, context: ParseContext, flag: { name: string; env?: string }) => Promise<T>

/** Where a refused value came from: a command-line token, or else the flag's environment variable. */
export function valueSource(context: ParseContext, flag: { env?: string }): { env?: string } {
  return context?.token === undefined && flag.env ? { env: flag.env } : {}
}

/**
 * What each checking parser allows, so that a flag given without a value can say it too. Keyed
 * by the parse function, which oclif keeps on the flag as it is, whatever else it copies.
 */
const allowedByParse = new WeakMap<object, string>()

/** Registers `parse` as one that accepts `allowed`; returns it unchanged. */
export function checkedParse<T>(allowed: string, parse: CheckedParse<T>): CheckedParse<T> {
  allowedByParse.set(parse, allowed)
  return parse
}

interface CommonOptions {
  description: string
  env?: string
  exclusive?: string[]
  dependsOn?: string[]
  helpGroup?: string
}

export interface IntegerFlagOptions extends CommonOptions {
  min?: number
  max?: number
}

/** An integer flag with an inclusive range; values outside it (or not integers) are BAD_FLAG. */
export function integerFlag(options: IntegerFlagOptions & { default: number }): Interfaces.OptionFlag<number>
export function integerFlag(options: IntegerFlagOptions & { required: true }): Interfaces.OptionFlag<number>
export function integerFlag(options: IntegerFlagOptions): Interfaces.OptionFlag<number | undefined>
export function integerFlag(options: IntegerFlagOptions & { default?: number; required?: boolean }) {
  const { min, max, ...rest } = options
  const allowed = integerRange(min, max)
  const flag = customFlag<number>({
    parse: checkedParse(allowed, async (input, context, flag) => {
      const value = /^\s*-?\d+\s*$/.test(input) ? Number(input) : Number.NaN
      if (!Number.isSafeInteger(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
        throw flagValueError({ flag: flag.name, value: input, allowed, ...valueSource(context, flag) })
      }
      return value
    }),
  })()
  return Object.assign(flag, rest, { min, max, description: `${options.description} (${allowed})` })
}

/**
 * A flag that takes one of a fixed list of words. The list is its help value (`--state=queued|…`)
 * rather than oclif's `options`, which oclif would check first with its own wording.
 */
export function choiceFlag<const C extends readonly string[]>(choices: C, options: CommonOptions & { default: C[number] }): Interfaces.OptionFlag<C[number]>
export function choiceFlag<const C extends readonly string[]>(choices: C, options: CommonOptions & { required: true }): Interfaces.OptionFlag<C[number]>
export function choiceFlag<const C extends readonly string[]>(choices: C, options: CommonOptions): Interfaces.OptionFlag<C[number] | undefined>
export function choiceFlag(choices: readonly string[], options: CommonOptions & { default?: string; required?: boolean }) {
  const allowed = choiceList(choices)
  const flag = customFlag<string>({
    parse: checkedParse(allowed, async (input, context, flag) => {
      if (!choices.includes(input)) throw flagValueError({ flag: flag.name, value: input, allowed, ...valueSource(context, flag) })
      return input
    }),
  })()
  return Object.assign(flag, options, { helpValue: choices.join('|') })
}

/** The `allowed` words of a flag whose parser checks its value, if it is one. */
export function allowedOf(flag: unknown): string | undefined {
  const parse = (flag as { parse?: unknown } | undefined)?.parse
  return typeof parse === 'function' ? allowedByParse.get(parse) : undefined
}
