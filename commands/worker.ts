import { hostname } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../cli/base-command.js'
import { integerFlag } from '../cli/checked-flags.js'
import { printable } from '../cli/printable.js'
import { commandSpecFlag, connectionFlags, connectionOptions, idFlag, labelFlag, logLevelFlag } from '../cli/flags.js'
import { schemaDefault } from '../cli/schema-default.js'
import { workerOptionsSchema as worker } from '../src/worker/options.js'

export default class WorkerCommand extends BaseCommand {
  static override summary = 'Join a worker to the cluster: it runs noop, judge and registered command jobs.'
  static override examples = [
    '<%= config.bin %> worker --id w1 --slots 4',
    '<%= config.bin %> worker --id gpu1 --label gpu --command render=/opt/render/bin/render',
  ]

  // Defaults from the worker's option schema (src/worker/options.ts); bounds as there, a test keeps them equal.
  static override flags = {
    ...connectionFlags,
    id: idFlag({ description: 'node id (default: --username, else the host name); a live id cannot be taken twice', env: 'EDGERUN_NODE_ID' }),
    slots: integerFlag({ description: 'jobs run at once', default: schemaDefault(worker, 'slots'), min: 1, max: 1024 }),
    label: labelFlag({ description: 'label jobs can require (repeatable)', default: schemaDefault(worker, 'labels') }),
    command: commandSpecFlag({ description: 'register a command: NAME=PATH (repeatable); jobs can run only these', default: [] }),
    keepalive: integerFlag({ description: 'MQTT keepalive in seconds: a silent death is seen after ~1.5x this', default: schemaDefault(worker, 'keepaliveSec'), min: 1, max: 3600 }),
    judge: Flags.boolean({ description: 'run judge jobs with the toolchains found here', default: schemaDefault(worker, 'judge'), allowNo: true }),
    'drain-timeout': integerFlag({ description: 'ms running jobs may finish on shutdown before they are handed back', default: schemaDefault(worker, 'drainTimeoutMs'), min: 0 }),
    'log-level': logLevelFlag,
  }

  async run(): Promise<{ id: string; epoch: string; slots: number }> {
    const { flags } = await this.parse(WorkerCommand)
    const { parseCommandSpec } = await import('../src/worker/options.js')
    const commands: Record<string, string> = {}
    for (const spec of flags.command) {
      const [name, path] = parseCommandSpec(spec)
      commands[name] = isAbsolute(path) ? path : resolve(path)
    }
    // With --auth a worker's node id is its user name (docs/security.md), so that is the default then.
    const id = flags.id ?? flags.username ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64)
    const { commandLogger } = await import('../cli/logger.js')
    const { Worker } = await import('../src/worker/worker.js')
    const { untilSignal } = await import('../cli/signals.js')
    const logger = await commandLogger({ level: flags['log-level'], name: 'edgerun-worker' })
    const worker = await Worker.start(
      {
        ...connectionOptions(flags),
        id,
        slots: flags.slots,
        labels: flags.label,
        commands,
        judge: flags.judge,
        keepaliveSec: flags.keepalive,
        drainTimeoutMs: flags['drain-timeout'],
      },
      { logger },
    )
    // Listen before saying "online": whoever reads that line may signal at once.
    const stopped = untilSignal()
    const caps = worker.options
    const languages = worker.capabilities.languages
    this.note(
      `worker ${id} online on ${String(printable('url', flags.url))} (epoch ${worker.epoch}, ${caps.slots} slots` +
        `${languages.length ? `, judges ${languages.join(',')}` : ''}` +
        `${Object.keys(commands).length ? `, commands ${Object.keys(commands).join(',')}` : ''}${caps.labels.length ? `, labels ${caps.labels.join(',')}` : ''})`,
    )
    // One line per outage, not one per failed reconnect attempt.
    let up = true
    worker.on('offline', () => {
      if (up) this.note(`worker ${id}: connection lost, reconnecting`)
      up = false
    })
    worker.on('online', (epoch) => {
      up = true
      this.note(`worker ${id}: online (epoch ${epoch})`)
    })
    const signal = await stopped
    this.note(`${signal}: draining ${worker.runningCount} running job(s), then stopping (again to force)`)
    const force = untilSignal().then(() => worker.crash())
    await Promise.race([worker.close(), force])
    return { id, epoch: worker.epoch, slots: flags.slots }
  }
}
