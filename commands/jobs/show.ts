import * as Args from '@oclif/core/args'
import { BaseCommand } from '../../cli/base-command.js'
import { connectionFlags } from '../../cli/flags.js'
import type { JobView } from '../../src/protocol/index.js'

export default class JobsShow extends BaseCommand {
  static override summary = 'Show one job: its state, attempts and, once final, its output.'
  static override examples = ['<%= config.bin %> jobs show j-lx2k3-abc']
  static override args = { id: Args.string({ description: 'job id', required: true }) }
  static override flags = { ...connectionFlags }

  async run(): Promise<JobView> {
    const { args, flags } = await this.parse(JobsShow)
    const { withClient } = await import('../../cli/with-client.js')
    const { jobDetails } = await import('../../cli/job-table.js')
    const job = await withClient(flags, (client) => client.getJob(args.id))
    if (!this.jsonEnabled()) this.log(jobDetails(job))
    return job
  }
}
