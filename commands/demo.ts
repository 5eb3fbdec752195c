import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import { integerFlag } from '../cli/checked-flags.js'
import { logLevelFlag } from '../cli/flags.js'
import type { DemoReport } from '../cli/demo.js'

export default class Demo extends BaseCommand {
  static override summary = 'Start a local cluster (broker-master + 3 workers) and judge the example problems.'
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --json', '<%= config.bin %> demo --keep     # then open the dashboard URL it prints']
  static override flags = {
    workers: integerFlag({ description: 'local workers', default: 3, min: 1, max: 16 }),
    keep: Flags.boolean({ description: 'keep the cluster up afterwards and print the dashboard URL; Ctrl-C stops it', default: false }),
    'log-level': logLevelFlag,
  }

  async run(): Promise<Omit<DemoReport, 'table' | 'close'>> {
    const { flags } = await this.parse(Demo)
    const { runDemo } = await import('../cli/demo.js')
    const { commandLogger } = await import('../cli/logger.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-demo' })
    const report = await runDemo({ workers: flags.workers, tty: !this.jsonEnabled() && process.stderr.isTTY === true, write: (line) => this.note(line), logger, keep: flags.keep })
    if (!this.jsonEnabled()) {
      this.log(report.table)
      this.log(`\n${report.rows.length} solutions judged in ${(report.elapsedMs / 1000).toFixed(1)} s; ${report.mismatches === 0 ? 'every verdict as expected' : `${report.mismatches} verdict(s) not as expected`}`)
    }
    if (report.mismatches > 0) process.exitCode = 1
    const { table: _table, close, ...data } = report
    if (close) {
      const { untilSignal } = await import('../cli/signals.js')
      const stopped = untilSignal()
      // With --json the URL is in the JSON line the command prints when it stops; say it now too.
      if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ event: 'kept', url: data.url, dashboardUrl: data.dashboardUrl ?? null })}\n`)
      else this.log(`the cluster stays up: dashboard on ${data.dashboardUrl}, MQTT on ${data.url}; Ctrl-C to stop`)
      const signal = await stopped
      this.note(`${signal}: stopping`)
      await close()
    }
    return data
  }
}
