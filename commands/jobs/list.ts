import { BaseCommand } from '../../cli/base-command.js'
import { choiceFlag, integerFlag } from '../../cli/checked-flags.js'
import { connectionFlags } from '../../cli/flags.js'
import { JOB_STATES, type JobView } from '../../src/protocol/index.js'

export default class JobsList extends BaseCommand {
  static override summary = 'List jobs, newest first.'
  static override examples = ['<%= config.bin %> jobs', '<%= config.bin %> jobs list --state running --limit 20 --json']

  static override flags = {
    ...connectionFlags,
    state: choiceFlag(JOB_STATES, { description: 'only jobs in this state' }),
    // The rpc's own bound (docs/protocol.md, jobs.list).
    limit: integerFlag({ description: 'at most this many', default: 50, min: 1, max: 1000 }),
  }

  async run(): Promise<JobView[]> {
    const { flags } = await this.parse(JobsList)
    const { withClient } = await import('../../cli/with-client.js')
    const { jobsTable } = await import('../../cli/job-table.js')
    const jobs = await withClient(flags, (client) => client.listJobs({ limit: flags.limit, ...(flags.state ? { state: flags.state } : {}) }))
    if (!this.jsonEnabled()) this.log(jobsTable(jobs))
    return jobs
  }
}
