import * as Args from '@oclif/core/args'
import { BaseCommand } from '../../cli/base-command.js'
import { connectionFlags } from '../../cli/flags.js'
import type { ResultReply } from '../../src/protocol/index.js'

export default class JobsFollow extends BaseCommand {
  static override summary = 'Follow a job live until it is final (at once if it already is).'
  static override examples = ['<%= config.bin %> jobs follow j-lx2k3-abc']
  static override args = { id: Args.string({ description: 'job id', required: true }) }
  static override flags = { ...connectionFlags }

  async run(): Promise<ResultReply> {
    const { args, flags } = await this.parse(JobsFollow)
    const { withClient } = await import('../../cli/with-client.js')
    const { describeEvent } = await import('../../cli/job-progress.js')
    const result = await withClient(flags, (client) =>
      client.follow(args.id, (event) => {
        if (event.type !== 'result') this.note(describeEvent(event))
      }),
    )
    if (!this.jsonEnabled()) this.log(describeEvent(result))
    if (result.state !== 'succeeded') process.exitCode = 1
    return result
  }
}
