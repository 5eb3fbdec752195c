import { Command } from '@oclif/core'
import { EdgerunError, exitCodeOf, isEdgerunError } from '../errors/index.js'

/**
 * What every edgerun command shares: `--json`, and errors that print one clear line (or one JSON
 * object) and exit with the code the error registry gives them.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Writes a human line to stderr unless --json is on (progress and notices, never results). */
  protected note(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }

  override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    const known = toEdgerunError(error)
    process.exitCode = known.exitCode
    if (this.jsonEnabled()) {
      this.logJson({ error: known.toJSON() })
      return
    }
    this.logToStderr(`error: ${known.message}`)
  }
}

function toEdgerunError(error: Error & { oclif?: { exit?: number }; code?: string }): EdgerunError {
  if (isEdgerunError(error)) return error
  // oclif's own parse errors (unknown flag, missing value, bad option) exit 2.
  if (error.oclif?.exit === 2 || error.name === 'CLIError' || /flag|argument/i.test(error.message)) {
    return new EdgerunError('BAD_FLAG', error.message.split('\n')[0]!.replace(/^Error: /, ''))
  }
  return new EdgerunError('INTERNAL', error.message || String(error), { cause: error })
}

export { EdgerunError, exitCodeOf }
