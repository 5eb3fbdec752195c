import type { JobSpec } from '../../protocol/index.js'
import { commandRunner, type CommandRunnerOptions } from './command.js'
import { runJudgeJob } from './judge.js'
import { runNoop } from './noop.js'
import type { RunContext, RunOutcome } from './runner.js'

export type { RunOutcome, RunContext } from './runner.js'

export interface Capabilities {
  languages: string[]
  commands: string[]
}

/** Routes a job to the runner for its kind, and says up front what this worker can run. */
export class Runners {
  private readonly command: ReturnType<typeof commandRunner>

  constructor(
    private readonly options: CommandRunnerOptions & { languages: string[] },
  ) {
    this.command = commandRunner(options)
  }

  get capabilities(): Capabilities {
    return { languages: this.options.languages, commands: Object.keys(this.options.commands).sort() }
  }

  /** Why this worker cannot run the job, or undefined if it can. */
  unsupported(job: JobSpec): string | undefined {
    if (job.kind === 'command' && !(job.name in this.options.commands)) return `command "${job.name}" is not registered here`
    if (job.kind === 'judge' && !this.options.languages.includes(job.language)) return `no ${job.language} toolchain here`
    return undefined
  }

  run(job: JobSpec, context: RunContext): Promise<RunOutcome> {
    switch (job.kind) {
      case 'noop':
        return runNoop(job, context)
      case 'command':
        return this.command(job, context)
      case 'judge':
        return runJudgeJob(job, context)
    }
  }
}
