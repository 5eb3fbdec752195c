import * as Args from '@oclif/core/args'
import { BaseCommand } from '../../cli/base-command.js'
import { connectionFlags } from '../../cli/flags.js'
import type { JobView } from '../../src/protocol/index.js'

export default class JobsCancel extends BaseCommand {
  static override summary = 'Cancel a job: it ends canceled and its node is told to stop it.'
  static override examples = ['<%= config.bin %> jobs cancel j-lx2k3-abc']
  static override args = { id: Args.string({ description: 'job id', required: true }) }
  static override flags = { ...connectionFlags }

  async run(): Promise<JobView> {
    const { args, flags } = await this.parse(JobsCancel)
    const { withClient } = await import('../../cli/with-client.js')
    const job = await withClient(flags, (client) => client.cancelJob(args.id))
    if (!this.jsonEnabled()) this.log(job.state === 'canceled' ? `${job.id}: canceled` : `${job.id}: already ${job.state}, nothing to cancel`)
    return job
  }
}
