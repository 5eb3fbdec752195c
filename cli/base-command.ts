import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type { Interfaces } from '@oclif/core'
import { EdgerunError, exitCodeOf } from '../src/errors/index.js'
import { flagValueMessage, isFlagValueDetails } from './checked-flags.js'
import type { FlagShape, Origin } from './config-layers.js'
import { toEdgerunError } from './parse-errors.js'

/**
 * What every edgerun command shares: `--json`, `--config`, flag values from EDGERUN_* and the
 * config file (cli/config-layers.ts), and errors that print one clear line (or one JSON object)
 * and exit with the code the error registry gives them.
 *
 * Commands import only oclif, their flags and this at the top, and `await import()` what they
 * run inside `run()`: oclif loads a command module to parse its flags, so a bad flag (and help,
 * which comes from oclif.manifest.json) never waits for mqtt, aedes, pino or SQLite to load.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    config: Flags.string({ description: 'a YAML or JSON file of flag values (docs/config.md); flags and EDGERUN_* win over it', env: 'EDGERUN_CONFIG', helpGroup: 'GLOBAL' }),
  }

  /** Where each flag's value came from, once parsed (`edgerun config show` prints it). */
  protected origins = new Map<string, Origin>()

  protected override async parse<F extends Interfaces.OutputFlags<Interfaces.FlagInput>, B extends Interfaces.OutputFlags<Interfaces.FlagInput>, A extends Interfaces.OutputArgs<Interfaces.ArgInput>>(
    options?: Interfaces.Input<F, B, A>,
    argv: string[] = this.argv,
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const input = (options ?? this.ctor) as Interfaces.Input<F, B, A>
    const flags = { ...input.baseFlags, ...input.flags } as unknown as Record<string, FlagShape>
    const { tokens, origins } = await this.layers(flags, argv, this.id ?? '')
    this.origins = origins
    const output = await super.parse(options, [...tokens, ...argv])
    for (const name of Object.keys(flags)) if (!origins.has(name)) origins.set(name, { from: 'default' })
    return output
  }

  /** The env and config-file layers under the command line, for the command `commandId`. */
  protected async layers(flags: Record<string, FlagShape>, argv: readonly string[], commandId: string) {
    const { layer } = await import('./config-layers.js')
    const path = configPath(argv)
    const commands = this.config.commands ?? []
    let file
    if (path !== undefined) {
      const { readConfigFile } = await import('./config-file.js')
      file = await readConfigFile(path, commands.map((command) => command.id))
    }
    const allFlagNames = new Set(commands.flatMap((command) => Object.keys(command.flags ?? {})))
    return layer({ flags, argv, env: process.env, ...(file ? { file } : {}), commandId, allFlagNames })
  }

  /** The config file this run reads, if any (`--config`, else EDGERUN_CONFIG). */
  protected configPathGiven(): string | undefined {
    return configPath(this.argv)
  }

  /** Writes a human line to stderr unless --json is on (progress and notices, never results). */
  protected note(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }

  override async catch(error: Error): Promise<void> {
    // A parse that threw was still a parse: without this, oclif warns outside production
    // (NODE_ENV development or test) that the command "did not parse its arguments".
    this.parsed = true
    const known = this.fromLayers(
      toEdgerunError(error, {
        usage: [this.config.bin, ...(this.id ?? '').split(':').filter(Boolean)].join(' '),
        // The flags as parsed: the command's own, the base ones, and --json.
        flags: { ...this.ctor.flags, ...this.ctor.baseFlags, ...(this.ctor.enableJsonFlag ? { json: { type: 'boolean' } } : {}) },
        args: this.ctor.args ?? {},
      }),
    )
    process.exitCode = known.exitCode
    if (this.jsonEnabled()) {
      this.logJson({ error: known.toJSON() })
      return
    }
    this.logToStderr(`error: ${known.message}`)
  }

  /** A refused value that came from a variable or the config file names it, not a flag typed. */
  private fromLayers(error: EdgerunError): EdgerunError {
    const details = error.details
    if (error.code !== 'BAD_FLAG' || !isFlagValueDetails(details)) return error
    const origin = this.origins.get(details.flag)
    if (origin?.from === 'env') {
      const withEnv = { ...details, env: origin.env }
      return new EdgerunError('BAD_FLAG', flagValueMessage(withEnv), { details: withEnv })
    }
    if (origin?.from === 'file') {
      const reason = details.reason ? `; ${details.reason}` : ''
      return new EdgerunError('BAD_CONFIG', `${origin.file}: ${origin.key}: ${shownValue(details.value)}: must be ${details.allowed}${reason}`, {
        details: { file: origin.file, key: origin.key, value: details.value, allowed: details.allowed, ...(details.reason ? { reason: details.reason } : {}) },
      })
    }
    return error
  }
}

/** As typed; quoted when it would otherwise be hard to see (empty, spaces). */
export function shownValue(value: unknown): string {
  return typeof value === 'string' && /^[\w.,:/@+=-]+$/.test(value) ? value : JSON.stringify(value)
}

/** `--config FILE` or `--config=FILE` on the command line, else EDGERUN_CONFIG. */
function configPath(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') break
    if (token === '--config') return argv[i + 1]
    if (token.startsWith('--config=')) return token.slice('--config='.length)
  }
  const env = process.env.EDGERUN_CONFIG
  return env === undefined || env === '' ? undefined : env
}

export { EdgerunError, exitCodeOf }
