import type { FinalState, JobOutput, JobSpec } from '../../protocol/index.js'
import type { Logger } from '../../logging/logger.js'

export interface RunOutcome {
  state: Exclude<FinalState, 'canceled'> | 'canceled'
  output: JobOutput
  error?: string
}

export interface RunContext {
  signal: AbortSignal
  onProgress: (state: string, detail?: unknown) => void
  logger: Logger
}

export type Runner<S extends JobSpec = JobSpec> = (job: S, context: RunContext) => Promise<RunOutcome>
