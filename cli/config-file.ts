import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { EdgerunError } from '../src/errors/index.js'
import { closest } from './parse-errors.js'

/**
 * A config file (`--config FILE`, or EDGERUN_CONFIG): flag values by flag name, at the top for
 * every command that has the flag, or under a section named for one command (`worker:`,
 * `jobs list:`), which wins over the top. docs/config.md describes it.
 */
export interface ConfigFile {
  path: string
  /** The top level, sections left out. */
  common: Record<string, unknown>
  /** Command id (`worker`, `jobs:list`) → its section. */
  sections: Record<string, Record<string, unknown>>
}

export function configError(path: string, message: string, details: Record<string, unknown> = {}): EdgerunError {
  return new EdgerunError('BAD_CONFIG', `${path}: ${message}`, { details: { file: path, ...details } })
}

/** Reads and parses FILE: JSON for `.json`, YAML otherwise (JSON is YAML too). */
export async function readConfigFile(path: string, commandIds: readonly string[]): Promise<ConfigFile> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw configError(path, `cannot read the config file: ${reason}`)
  }
  const document = extname(path) === '.json' ? parseJson(path, text) : await parseYaml(path, text)
  if (document === null || document === undefined) return { path, common: {}, sections: {} }
  if (!isPlainObject(document)) throw configError(path, 'must be a mapping of flag names to values')
  const common: Record<string, unknown> = {}
  const sections: Record<string, Record<string, unknown>> = {}
  for (const [key, value] of Object.entries(document)) {
    const id = sectionId(key, commandIds)
    // A command's section is a mapping; `master: false` is the broker's --no-master, not a section.
    if (id && isPlainObject(value)) sections[id] = value
    else if (isPlainObject(value)) {
      // No flag takes a mapping: this is a section whose name is mistyped. Left at the top, a
      // name that is also a flag (`workers`, demo's) would be skipped by every other command.
      const names = commandIds.map((commandId) => commandId.split(':').join(' '))
      const guess = closest(key.trim().split(/[\s:]+/).join(' '), names)
      throw configError(path, `${key}: a mapping, but no command is named so${guess ? ` (did you mean ${guess}?)` : ''}`, { key })
    } else common[key] = value
  }
  return { path, common, sections }
}

function sectionId(key: string, commandIds: readonly string[]): string | undefined {
  const id = key.trim().split(/[\s:]+/).join(':')
  return commandIds.includes(id) ? id : undefined
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw configError(path, `not valid JSON: ${(error as Error).message}`)
  }
}

/**
 * The YAML parser loads only when a YAML file is given: no command pays for it otherwise. A
 * number whose text is not how the number prints (`007`, `0123`, `1e3`, `0x1A`) keeps its text:
 * every value becomes a command-line token, and a namespace `007` or a password `0123` must not
 * arrive as `7` or `123`.
 */
async function parseYaml(path: string, text: string): Promise<unknown> {
  const { parseDocument, visit } = await import('yaml')
  const document = parseDocument(text)
  const error = document.errors[0]
  if (error) throw configError(path, `not valid YAML: ${error.message.split('\n')[0]!.replace(/:$/, '')}`)
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined && node.source !== String(node.value)) node.value = node.source
    },
  })
  return document.toJS()
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
