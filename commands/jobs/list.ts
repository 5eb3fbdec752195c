import { Flags } from '@oclif/core'
import { BaseCommand } from '../../src/cli/base-command.js'
import { connectionFlags } from '../../src/cli/flags.js'
import { jobsTable } from '../../src/cli/job-table.js'
import { withClient } from '../../src/cli/with-client.js'
import { JOB_STATES, type JobView } from '../../src/protocol/index.js'

export default class JobsList extends BaseCommand {
  static override summary = 'List jobs, newest first.'
  static override examples = ['<%= config.bin %> jobs', '<%= config.bin %> jobs list --state running --limit 20 --json']

  static override flags = {
    ...connectionFlags,
    state: Flags.string({ description: 'only jobs in this state', options: [...JOB_STATES] }),
    limit: Flags.integer({ description: 'at most this many', default: 50, min: 1, max: 1000 }),
  }

  async run(): Promise<JobView[]> {
    const { flags } = await this.parse(JobsList)
    const jobs = await withClient(flags, (client) => client.listJobs({ limit: flags.limit, ...(flags.state ? { state: flags.state } : {}) }))
    if (!this.jsonEnabled()) this.log(jobsTable(jobs))
    return jobs
  }
}
