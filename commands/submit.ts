import * as Flags from '@oclif/core/flags'
import { BaseCommand, EdgerunError } from '../cli/base-command.js'
import type { BulkReport } from '../cli/bulk-submit.js'
import { choiceFlag, flagValueError, integerFlag } from '../cli/checked-flags.js'
import { connectionFlags, connectionOptions, idFlag, labelFlag, readFlagFile } from '../cli/flags.js'
import type { BatchReport } from '../cli/judge-batch.js'
import type { SubmitSpec } from '../src/client/client.js'
import { DEFAULT_MAX_LOST, JUDGE_LANGUAGES, jobSpecSchema, type JobReply } from '../src/protocol/index.js'
import { schemaDefault } from '../cli/schema-default.js'
import { LIMITS } from '../src/protocol/schemas/limits.js'

/** The fields every kind of job shares, with their defaults (the noop kind has no others). */
const jobFields = jobSpecSchema.options[2]

export default class SubmitCommand extends BaseCommand {
  static override summary = 'Submit a job and wait for its result (exit 0 only if it succeeded).'
  static override examples = [
    '<%= config.bin %> submit --noop',
    '<%= config.bin %> submit --noop --count 1000',
    '<%= config.bin %> submit --command echo --arg hello --arg world',
    '<%= config.bin %> submit --judge sol.cpp --problem examples/problems/sum',
    "<%= config.bin %> submit --judge 'examples/problems/sum/solutions/*' --problem examples/problems/sum",
    '<%= config.bin %> submit --file job.json --detach --json',
  ]

  static override flags = {
    ...connectionFlags,
    noop: Flags.boolean({ description: 'a no-op job (smoke tests, benchmarks)', exclusive: ['command', 'judge', 'file'] }),
    sleep: integerFlag({ description: 'with --noop: ms the job sleeps', min: 0, max: LIMITS.maxTimeoutMs, dependsOn: ['noop'] }),
    command: idFlag({ description: 'run a command the worker registered under this name', exclusive: ['noop', 'judge', 'file'] }),
    arg: Flags.string({ description: 'argument for --command (repeatable)', multiple: true, default: [] }),
    stdin: Flags.string({ description: 'file fed to --command on stdin' }),
    judge: Flags.string({ description: 'source file(s) to judge; several files or a glob make a batch', multiple: true, exclusive: ['noop', 'command', 'file'] }),
    problem: Flags.string({ description: 'problem directory for --judge (problem.json and tests/)' }),
    language: choiceFlag(JUDGE_LANGUAGES, { description: 'language for --judge (default: from the file extension)' }),
    file: Flags.string({ description: 'a JSON job spec (the fields of a submit message)', exclusive: ['noop', 'command', 'judge'] }),
    id: idFlag({ description: 'job id (the idempotency key; default: generated)' }),
    // The protocol's own bounds (docs/protocol.md, the job spec), checked before anything is sent.
    priority: integerFlag({ description: 'higher runs first', default: schemaDefault(jobFields, 'priority'), min: -LIMITS.maxPriority, max: LIMITS.maxPriority }),
    timeout: integerFlag({ description: 'ms one attempt may run', min: 1, max: LIMITS.maxTimeoutMs }),
    attempts: integerFlag({ description: 'maxAttempts: attempts lost to a dying worker before the job fails', min: 1, max: LIMITS.maxAttempts }),
    'max-lost': integerFlag({ description: `maxLost: attempts lost for any reason, dropped links included, before the job fails (default: ${DEFAULT_MAX_LOST}, at least --attempts)`, min: 1, max: LIMITS.maxLost }),
    label: labelFlag({ description: 'label the node must have (repeatable)', default: [] }),
    wait: Flags.boolean({ description: 'queue the job while no node can take it (--no-wait: reject at once)', default: schemaDefault(jobFields, 'wait'), allowNo: true }),
    detach: Flags.boolean({ description: 'return once the job is accepted, without waiting for its result', default: false }),
    count: integerFlag({ description: 'submit N copies at once (ids ID-0…ID-N-1) and print a summary', min: 1, max: 1_000_000, exclusive: ['detach', 'judge'] }),
  }

  async run(): Promise<JobReply | BatchReport | BulkReport> {
    const { flags } = await this.parse(SubmitCommand)
    const common = {
      priority: flags.priority,
      wait: flags.wait,
      requires: { labels: flags.label },
      ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
      ...(flags.attempts !== undefined ? { maxAttempts: flags.attempts } : {}),
      ...(flags['max-lost'] !== undefined ? { maxLost: flags['max-lost'] } : {}),
    }
    if (flags.judge && flags.judge.length > 0) {
      if (!flags.problem) throw new EdgerunError('BAD_FLAG', '--judge needs --problem DIR')
      const { buildJudgeSpecs, runJudgeBatch } = await import('../cli/judge-batch.js')
      const { EdgerunClient } = await import('../src/client/client.js')
      const specs = await buildJudgeSpecs(flags.judge, flags.problem, flags.language, common)
      if (specs.length > 1 || specs[0]?.batch) {
        const client = await EdgerunClient.connect(connectionOptions(flags))
        try {
          const report = await runJudgeBatch(client, specs, { tty: !this.jsonEnabled() && process.stderr.isTTY === true, write: (line) => this.note(line) })
          if (!this.jsonEnabled()) this.log(report.table)
          if (report.failed > 0) process.exitCode = 1
          return report
        } finally {
          await client.close()
        }
      }
      return this.submitOne({ ...specs[0]!.spec, ...(flags.id ? { id: flags.id } : {}) }, flags)
    }
    const spec = this.specFromFlags(flags, common)
    if (flags.count !== undefined && flags.count > 1) return this.submitCount(spec, flags.count, flags)
    return this.submitOne(spec, flags)
  }

  private async submitCount(spec: SubmitSpec, count: number, flags: Parameters<typeof connectionOptions>[0]): Promise<BulkReport> {
    const { EdgerunClient } = await import('../src/client/client.js')
    const { submitMany } = await import('../cli/bulk-submit.js')
    const client = await EdgerunClient.connect(connectionOptions(flags))
    try {
      const tty = !this.jsonEnabled() && process.stderr.isTTY === true
      const report = await submitMany(client, spec, count, (done) => {
        if (tty && (done % 100 === 0 || done === count)) process.stderr.write(`\r${done}/${count} done`)
      })
      if (tty) process.stderr.write('\n')
      if (!this.jsonEnabled()) {
        this.log(`${report.total} jobs: ${report.succeeded} succeeded, ${report.failed} failed, ${report.rejected} rejected in ${report.elapsedMs} ms (${report.jobsPerSec} jobs/s)`)
      }
      if (report.succeeded !== report.total) process.exitCode = 1
      return report
    } finally {
      await client.close()
    }
  }

  private specFromFlags(flags: Record<string, unknown> & { arg: string[] }, common: Record<string, unknown>): SubmitSpec {
    const id = flags.id as string | undefined
    const withId = id ? { id } : {}
    if (flags.file) {
      const text = readFlagFile('file', flags.file as string).toString('utf8')
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (error) {
        throw flagValueError({ flag: 'file', value: flags.file as string, allowed: 'a JSON job spec (the fields of a submit message)', reason: (error as Error).message })
      }
      return { ...common, ...(parsed as object), ...withId } as SubmitSpec
    }
    if (flags.command) {
      const stdin = flags.stdin ? readFlagFile('stdin', flags.stdin as string).toString('utf8') : undefined
      return { ...common, ...withId, kind: 'command', name: flags.command as string, args: flags.arg, ...(stdin !== undefined ? { stdin } : {}) } as SubmitSpec
    }
    if (flags.noop) return { ...common, ...withId, kind: 'noop', ...(flags.sleep !== undefined ? { sleepMs: flags.sleep } : {}) } as SubmitSpec
    throw new EdgerunError('BAD_FLAG', 'say what to run: --noop, --command NAME, --judge FILE --problem DIR, or --file SPEC.json')
  }

  private async submitOne(spec: SubmitSpec, flags: Parameters<typeof connectionOptions>[0] & { detach: boolean }): Promise<JobReply> {
    const { EdgerunClient } = await import('../src/client/client.js')
    const { describeEvent, testProgressBar } = await import('../cli/job-progress.js')
    const client = await EdgerunClient.connect(connectionOptions(flags))
    // A judge job in a terminal: one bar over its tests, as a batch shows one over its files.
    const progressBar = spec.kind === 'judge' && !flags.detach && !this.jsonEnabled() && process.stderr.isTTY === true ? testProgressBar((text) => process.stderr.write(text)) : undefined
    try {
      const reply = await client
        .submit(spec, {
          detach: flags.detach,
          onEvent: (event) => {
            if (progressBar) progressBar.update(event)
            else if (event.type !== 'result' && event.type !== 'rejected') this.note(describeEvent(event))
          },
        })
        .finally(() => progressBar?.end())
      if (reply.type === 'rejected') {
        process.exitCode = 1
        this.note(describeEvent(reply))
      } else if (reply.type === 'result') {
        if (reply.state !== 'succeeded') process.exitCode = 1
        if (!this.jsonEnabled()) this.log(describeEvent(reply))
        const output = reply.output as { stdout?: string } | null
        if (!this.jsonEnabled() && output?.stdout) process.stdout.write(output.stdout.endsWith('\n') ? output.stdout : `${output.stdout}\n`)
      } else if (!this.jsonEnabled()) {
        this.log(`${reply.jobId}: accepted (detached); follow with: edgerun jobs follow ${reply.jobId}`)
      }
      return reply
    } finally {
      await client.close()
    }
  }
}
