import * as Args from '@oclif/core/args'
import { BaseCommand, EdgerunError } from '../../cli/base-command.js'
import type { FlagShape, Origin } from '../../cli/config-layers.js'
import { printable } from '../../cli/printable.js'

export interface ShownValue {
  value: unknown
  /** `unset`: no layer gave a value and the flag has no default. */
  from: Origin['from'] | 'unset'
  env?: string
  file?: string
}

export default class ConfigShow extends BaseCommand {
  static override summary = 'Print the flag values a command would run with, and where each came from (flag, env, file, default).'
  static override description =
    'Merges EDGERUN_* variables and the config file (--config FILE or EDGERUN_CONFIG) over the defaults, as COMMAND would; flags typed on its own command line would win over all of these.'
  static override examples = [
    '<%= config.bin %> config show worker --config /etc/edgerun/edgerun.yaml',
    'EDGERUN_LABEL=gpu,linux <%= config.bin %> config show worker --json',
    '<%= config.bin %> config show jobs list',
  ]
  static override strict = false
  static override flags = {}
  static override args = { command: Args.string({ description: 'the command whose values to show (words, as typed: jobs list); without one, what the file and the environment set' }) }

  async run(): Promise<{ command: string | null; config: string | null; values: Record<string, ShownValue> }> {
    const { argv, flags } = await this.parse(ConfigShow)
    if ((argv as string[]).length === 0) return this.showLayers(flags.config ?? null)
    const id = (argv as string[]).join(':')
    const found = this.config.findCommand(id)
    if (!found || found.id === 'config:show') {
      const ids = this.config.commands.map((c) => c.id.split(':').join(' ')).filter((c) => c !== 'config show')
      throw new EdgerunError('BAD_FLAG', `${(argv as string[]).join(' ')} is not a command; one of: ${ids.join(', ')}`, { details: { command: id, allowed: ids } })
    }
    const command = await found.load()
    const { Parser } = await import('@oclif/core')
    const { NOT_LAYERED } = await import('../../cli/config-layers.js')
    // Its flags without what only its own command line can satisfy (required, exclusive, dependsOn).
    const own = Object.entries({ ...command.baseFlags, ...command.flags }).filter(([name]) => !NOT_LAYERED.has(name))
    const shown = Object.fromEntries(own.map(([name, flag]) => [name, { ...flag, required: false, exclusive: [], dependsOn: [] }]))
    // The layers still see `exclusive`: a file's value gives way to an env value that excludes it.
    const { tokens, origins } = await this.layers(Object.fromEntries(own) as unknown as Record<string, FlagShape>, this.argv, found.id)
    const parsed = await Parser.parse(tokens, { flags: shown, args: {}, strict: false, context: this }).catch((error: unknown) => {
      this.origins = origins
      throw error
    })
    const values: Record<string, ShownValue> = {}
    for (const name of Object.keys(shown).sort()) {
      const origin = origins.get(name) ?? { from: 'default' as const }
      const value = (parsed.flags as Record<string, unknown>)[name] ?? null
      values[name] = {
        // A secret is shown as set or not, a URL without its password (cli/printable.ts).
        value: printable(name, value),
        from: value === null && origin.from === 'default' ? 'unset' : origin.from,
        ...(origin.from === 'env' ? { env: origin.env } : {}),
        ...(origin.from === 'file' ? { file: origin.file } : {}),
      }
    }
    const config = flags.config ?? null
    if (!this.jsonEnabled()) {
      const { table } = await import('../../cli/format.js')
      const where = (v: ShownValue) => (v.from === 'env' ? `env ${v.env}` : v.from === 'file' ? `file ${v.file}` : v.from)
      const rows = Object.entries(values).map(([name, v]) => [`--${name}`, Array.isArray(v.value) ? v.value.join(',') : v.value === null ? '-' : String(v.value), where(v)])
      this.log(`edgerun ${found.id.split(':').join(' ')}${config ? ` with ${config}` : ''}:\n`)
      this.log(table(['flag', 'value', 'from'], rows))
    }
    return { command: found.id.split(':').join(' '), config, values }
  }

  /**
   * No command named: every value the environment and the file set, each checked as every
   * command that has the flag would check its shape (types, lists, unknown keys), with the
   * commands it applies to. A section's keys show as `section.key`.
   */
  private async showLayers(config: string | null): Promise<{ command: null; config: string | null; values: Record<string, ShownValue & { commands: string[] }> }> {
    const { envNameOf, layer, NOT_LAYERED } = await import('../../cli/config-layers.js')
    const { readConfigFile } = await import('../../cli/config-file.js')
    const commands = this.config.commands.filter((c) => c.id !== 'config:show')
    const allFlagNames = new Set(commands.flatMap((c) => Object.keys(c.flags ?? {})))
    const configPath = this.configPathGiven()
    const file = configPath ? await readConfigFile(configPath, commands.map((c) => c.id)) : undefined
    const values: Record<string, ShownValue & { commands: string[] }> = {}
    const users = (name: string) => commands.filter((c) => c.flags?.[name] && !NOT_LAYERED.has(name)).map((c) => c.id.split(':').join(' '))
    for (const command of commands) {
      const flags = command.flags as unknown as Record<string, FlagShape>
      // Refuses what this command would refuse in the file; the environment is shown as it is.
      if (file) layer({ flags, argv: [], env: {}, file, commandId: command.id, allFlagNames })
      for (const [name, flag] of Object.entries(flags)) {
        const variable = envNameOf(name, flag)
        const text = process.env[variable]
        if (NOT_LAYERED.has(name) || text === undefined || text === '' || values[name]?.from === 'env') continue
        values[name] = { value: printable(name, text), from: 'env', env: variable, commands: users(name) }
      }
    }
    if (file) {
      for (const [name, value] of Object.entries(file.common)) {
        values[name] ??= { value: printable(name, value), from: 'file', file: file.path, commands: users(name) }
      }
      for (const [id, section] of Object.entries(file.sections)) {
        for (const [name, value] of Object.entries(section)) {
          values[`${id.split(':').join(' ')}.${name}`] = { value: printable(name, value), from: 'file', file: file.path, commands: [id.split(':').join(' ')] }
        }
      }
    }
    if (!this.jsonEnabled()) {
      const { table } = await import('../../cli/format.js')
      const rows = Object.entries(values)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, v]) => [key, Array.isArray(v.value) ? v.value.join(',') : String(v.value), v.from === 'env' ? `env ${v.env}` : `file ${v.file}`, v.commands.join(', ')])
      this.log(rows.length ? table(['key', 'value', 'from', 'for'], rows) : 'no EDGERUN_* variable and no config file sets a value')
    }
    return { command: null, config, values }
  }
}
