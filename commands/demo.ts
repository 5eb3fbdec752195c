import { BaseCommand } from '../cli/base-command.js'
import { integerFlag } from '../cli/checked-flags.js'
import { logLevelFlag } from '../cli/flags.js'
import type { DemoReport } from '../cli/demo.js'

export default class Demo extends BaseCommand {
  static override summary = 'Start a local cluster (broker-master + 3 workers) and judge the example problems.'
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --json']
  static override flags = {
    workers: integerFlag({ description: 'local workers', default: 3, min: 1, max: 16 }),
    'log-level': logLevelFlag,
  }

  async run(): Promise<Omit<DemoReport, 'table'>> {
    const { flags } = await this.parse(Demo)
    const { runDemo } = await import('../cli/demo.js')
    const { commandLogger } = await import('../cli/logger.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-demo' })
    const report = await runDemo({ workers: flags.workers, tty: !this.jsonEnabled() && process.stderr.isTTY === true, write: (line) => this.note(line), logger })
    if (!this.jsonEnabled()) {
      this.log(report.table)
      this.log(`\n${report.rows.length} solutions judged in ${(report.elapsedMs / 1000).toFixed(1)} s; ${report.mismatches === 0 ? 'every verdict as expected' : `${report.mismatches} verdict(s) not as expected`}`)
    }
    if (report.mismatches > 0) process.exitCode = 1
    const { table: _table, ...data } = report
    return data
  }
}
