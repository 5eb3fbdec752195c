import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { brokerOptionsSchema } from '../../broker/options.js'
import { masterOptionsSchema } from '../../broker/master/options.js'
import { httpOptionsSchema } from '../../broker/http/options.js'
import BrokerCommand from '../../commands/broker.js'
import SubmitCommand from '../../commands/submit.js'
import Up from '../../commands/up.js'
import WorkerCommand from '../../commands/worker.js'
import { connectionFlags } from '../../cli/flags.js'
import { masterFlags } from '../../cli/master-flags.js'
import { clientOptionsSchema } from '../../src/client/options.js'
import { jobSpecSchema } from '../../src/protocol/index.js'
import { workerOptionsSchema } from '../../src/worker/options.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Defaults live in the option schemas; a flag takes its default from there (cli/schema-default.ts),
 * so `--help`, which shows the flag's default, says what the library does when the flag is left out.
 */
type Flag = { default?: unknown }
const schemaDefault = (schema: { shape: Record<string, { parse(value: undefined): unknown }> }, key: string) => schema.shape[key]!.parse(undefined)

const pairs: Array<[string, Flag, unknown]> = [
  ['--url', connectionFlags.url, schemaDefault(clientOptionsSchema, 'url')],
  ['--namespace', connectionFlags.namespace, schemaDefault(clientOptionsSchema, 'namespace')],
  ['broker --host', BrokerCommand.flags.host, schemaDefault(brokerOptionsSchema, 'host')],
  ['broker --port', BrokerCommand.flags.port, schemaDefault(brokerOptionsSchema, 'port')],
  ['broker --master', BrokerCommand.flags.master, schemaDefault(brokerOptionsSchema, 'runMaster')],
  ['broker --namespace', BrokerCommand.flags.namespace, schemaDefault(masterOptionsSchema, 'namespace')],
  ['broker --allow-anonymous', BrokerCommand.flags['allow-anonymous'], schemaDefault(brokerOptionsSchema, 'allowAnonymous')],
  ['broker --max-connections', BrokerCommand.flags['max-connections'], schemaDefault(brokerOptionsSchema, 'maxConnections')],
  ['broker --max-workers', BrokerCommand.flags['max-workers'], schemaDefault(brokerOptionsSchema, 'maxWorkers')],
  ['broker --max-packet-size', BrokerCommand.flags['max-packet-size'], schemaDefault(brokerOptionsSchema, 'maxPacketBytes')],
  ['broker --max-judge-source', BrokerCommand.flags['max-judge-source'], schemaDefault(masterOptionsSchema, 'maxJudgeSourceBytes')],
  ['broker --max-judge-tests', BrokerCommand.flags['max-judge-tests'], schemaDefault(masterOptionsSchema, 'maxJudgeTestsBytes')],
  ['broker --http-port', BrokerCommand.flags['http-port'], schemaDefault(httpOptionsSchema, 'port')],
  ['--ack-timeout', masterFlags['ack-timeout'], schemaDefault(masterOptionsSchema, 'ackTimeoutMs')],
  ['--lost-grace', masterFlags['lost-grace'], schemaDefault(masterOptionsSchema, 'lostGraceMs')],
  ['--reconcile-timeout', masterFlags['reconcile-timeout'], schemaDefault(masterOptionsSchema, 'reconcileMs')],
  ['--run-grace', masterFlags['run-grace'], schemaDefault(masterOptionsSchema, 'runGraceMs')],
  ['--max-queued', masterFlags['max-queued'], schemaDefault(masterOptionsSchema, 'maxQueued')],
  ['--max-queued-per-client', masterFlags['max-queued-per-client'], schemaDefault(masterOptionsSchema, 'maxQueuedPerClient')],
  ['worker --slots', WorkerCommand.flags.slots, schemaDefault(workerOptionsSchema, 'slots')],
  ['worker --label', WorkerCommand.flags.label, schemaDefault(workerOptionsSchema, 'labels')],
  ['worker --keepalive', WorkerCommand.flags.keepalive, schemaDefault(workerOptionsSchema, 'keepaliveSec')],
  ['worker --judge', WorkerCommand.flags.judge, schemaDefault(workerOptionsSchema, 'judge')],
  ['worker --drain-timeout', WorkerCommand.flags['drain-timeout'], schemaDefault(workerOptionsSchema, 'drainTimeoutMs')],
  ['up --slots', Up.flags.slots, schemaDefault(workerOptionsSchema, 'slots')],
  ['up --port', Up.flags.port, schemaDefault(brokerOptionsSchema, 'port')],
  ['submit --priority', SubmitCommand.flags.priority, jobSpecSchema.parse({ kind: 'noop', id: 'x' }).priority],
  ['submit --wait', SubmitCommand.flags.wait, jobSpecSchema.parse({ kind: 'noop', id: 'x' }).wait],
]

describe('a flag that feeds an option shows and uses the schema default', () => {
  it.each(pairs)('%s', (_name, flag, expected) => {
    expect(flag.default).toEqual(expected)
  })
})

/**
 * Defaults that belong to the CLI alone (no option schema has the field). Any other literal
 * `default:` in a flag would repeat a schema default, and could drift from it.
 */
const CLI_ONLY = new Map([
  ["commands/jobs/list.ts: default: 50", 'a page of the terminal table; the rpc default (100) is for programs'],
  ["commands/up.ts: default: 2", 'up --workers: how many local workers'],
  ["commands/demo.ts: default: 3", 'demo --workers'],
  ["commands/broker.ts: default: true", 'broker --http: the command serves HTTP unless --no-http; the library starts no listener unless asked'],
  ["cli/flags.ts: default: 'warn'", 'the CLI logs warnings; a library logger given no level logs info'],
])

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

it('no flag in commands/ or cli/ repeats a default as a literal, except the CLI-only ones', () => {
  const literals = ['commands', 'cli'].flatMap(sources).flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/\bdefault: (-?[\d_]+(?:\s*\*\s*[\d_]+)*|'[^']*'|"[^"]*"|true)(?=[\s,}])/g)].map((match) => `${file}: ${match[0]}`),
  )
  expect(literals.filter((site) => !CLI_ONLY.has(site))).toEqual([])
  expect([...CLI_ONLY.keys()].filter((site) => !literals.includes(site)), 'CLI_ONLY entries no longer in the source').toEqual([])
})
