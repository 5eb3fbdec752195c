import { Command } from '@oclif/core/command'
import { EdgerunError, exitCodeOf } from '../src/errors/index.js'
import { toEdgerunError } from './parse-errors.js'

/**
 * What every edgerun command shares: `--json`, and errors that print one clear line (or one JSON
 * object) and exit with the code the error registry gives them.
 *
 * Commands import only oclif, their flags and this at the top, and `await import()` what they
 * run inside `run()`: oclif loads a command module to parse its flags, so a bad flag (and help,
 * which comes from oclif.manifest.json) never waits for mqtt, aedes, pino or SQLite to load.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Writes a human line to stderr unless --json is on (progress and notices, never results). */
  protected note(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }

  override async catch(error: Error): Promise<void> {
    // A parse that threw was still a parse: without this, oclif warns outside production
    // (NODE_ENV development or test) that the command "did not parse its arguments".
    this.parsed = true
    const known = toEdgerunError(error, {
      usage: [this.config.bin, ...(this.id ?? '').split(':').filter(Boolean)].join(' '),
      // The flags as parsed: the command's own, the base ones, and --json.
      flags: { ...this.ctor.baseFlags, ...this.ctor.flags, ...(this.ctor.enableJsonFlag ? { json: { type: 'boolean' } } : {}) },
      args: this.ctor.args ?? {},
    })
    process.exitCode = known.exitCode
    if (this.jsonEnabled()) {
      this.logJson({ error: known.toJSON() })
      return
    }
    this.logToStderr(`error: ${known.message}`)
  }
}

export { EdgerunError, exitCodeOf }
