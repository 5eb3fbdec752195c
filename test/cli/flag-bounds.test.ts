import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { brokerOptionsSchema } from '../../broker/options.js'
import { masterOptionsSchema } from '../../broker/master/options.js'
import BrokerCommand from '../../commands/broker.js'
import JobsList from '../../commands/jobs/list.js'
import SubmitCommand from '../../commands/submit.js'
import Up from '../../commands/up.js'
import WorkerCommand from '../../commands/worker.js'
import { masterFlags } from '../../cli/master-flags.js'
import { jobSpecSchema, rpcParamsSchemas } from '../../src/protocol/index.js'
import { workerOptionsSchema } from '../../src/worker/options.js'

/**
 * A flag refuses exactly what the option schema it feeds would refuse, so a bad value fails
 * while the flags are parsed, with the flag's name, and never later as a schema error.
 */
type IntegerFlag = { min?: number; max?: number; parse: (input: string, context: unknown, flag: unknown) => Promise<unknown> }

async function flagAccepts(flag: IntegerFlag, name: string, value: number): Promise<boolean> {
  return flag.parse(String(value), { token: {} }, { ...flag, name }).then(
    () => true,
    () => false,
  )
}

/** Values either side of each bound the flag declares, and 0. */
function probes(flag: IntegerFlag): number[] {
  const bounds = [flag.min, flag.max].filter((b): b is number => b !== undefined)
  return [...new Set([0, ...bounds.flatMap((b) => [b - 1, b, b + 1])])]
}

const pairs: Array<[string, IntegerFlag, (value: number) => z.ZodSafeParseResult<unknown>]> = [
  ['worker --slots', WorkerCommand.flags.slots, (v) => workerOptionsSchema.shape.slots.safeParse(v)],
  ['worker --keepalive', WorkerCommand.flags.keepalive, (v) => workerOptionsSchema.shape.keepaliveSec.safeParse(v)],
  ['worker --drain-timeout', WorkerCommand.flags['drain-timeout'], (v) => workerOptionsSchema.shape.drainTimeoutMs.safeParse(v)],
  ['up --slots', Up.flags.slots, (v) => workerOptionsSchema.shape.slots.safeParse(v)],
  ['broker --port', BrokerCommand.flags.port, (v) => brokerOptionsSchema.shape.port.safeParse(v)],
  ['broker --tls-port', BrokerCommand.flags['tls-port'], (v) => brokerOptionsSchema.shape.tlsPort.safeParse(v)],
  ['broker --max-connections', BrokerCommand.flags['max-connections'], (v) => brokerOptionsSchema.shape.maxConnections.safeParse(v)],
  ['broker --max-workers', BrokerCommand.flags['max-workers'], (v) => brokerOptionsSchema.shape.maxWorkers.safeParse(v)],
  ['broker --max-packet-size', BrokerCommand.flags['max-packet-size'], (v) => brokerOptionsSchema.shape.maxPacketBytes.safeParse(v)],
  ['broker --max-judge-source', BrokerCommand.flags['max-judge-source'], (v) => masterOptionsSchema.shape.maxJudgeSourceBytes.safeParse(v)],
  ['broker --max-judge-tests', BrokerCommand.flags['max-judge-tests'], (v) => masterOptionsSchema.shape.maxJudgeTestsBytes.safeParse(v)],
  ['--ack-timeout', masterFlags['ack-timeout'], (v) => masterOptionsSchema.shape.ackTimeoutMs.safeParse(v)],
  ['--lost-grace', masterFlags['lost-grace'], (v) => masterOptionsSchema.shape.lostGraceMs.safeParse(v)],
  ['--reconcile-timeout', masterFlags['reconcile-timeout'], (v) => masterOptionsSchema.shape.reconcileMs.safeParse(v)],
  ['--run-grace', masterFlags['run-grace'], (v) => masterOptionsSchema.shape.runGraceMs.safeParse(v)],
  ['--max-queued', masterFlags['max-queued'], (v) => masterOptionsSchema.shape.maxQueued.safeParse(v)],
  ['--max-queued-per-client', masterFlags['max-queued-per-client'], (v) => masterOptionsSchema.shape.maxQueuedPerClient.safeParse(v)],
  ['jobs list --limit', JobsList.flags.limit, (v) => rpcParamsSchemas['jobs.list'].safeParse({ limit: v })],
  ['submit --priority', SubmitCommand.flags.priority, (v) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', priority: v })],
  ['submit --timeout', SubmitCommand.flags.timeout, (v) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', timeoutMs: v })],
  ['submit --attempts', SubmitCommand.flags.attempts, (v) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', maxAttempts: v })],
  ['submit --max-lost', SubmitCommand.flags['max-lost'], (v) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', maxLost: v })],
  ['submit --sleep', SubmitCommand.flags.sleep, (v) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', sleepMs: v })],
]

describe('integer flags and the option schemas they feed agree on their bounds', () => {
  it.each(pairs)('%s', async (name, flag, schema) => {
    expect(flag.min, `${name} declares no lower bound`).toBeDefined()
    for (const value of probes(flag)) {
      expect(await flagAccepts(flag, name, value), `${name} ${value}`).toBe(schema(value).success)
    }
  })
})

describe('label flags and the schemas agree on what a label is', () => {
  const samples = ['gpu', 'linux:x86_64', 'zone=eu-1', 'a.b_c-d', '', 'two words', 'a/b', 'é', 'x'.repeat(64), 'x'.repeat(65)]
  it.each([
    ['worker --label', WorkerCommand.flags.label, (v: string) => workerOptionsSchema.shape.labels.safeParse([v]).success],
    ['submit --label', SubmitCommand.flags.label, (v: string) => jobSpecSchema.safeParse({ kind: 'noop', id: 'x', requires: { labels: [v] } }).success],
  ] as const)('%s', async (name, flag, schemaAccepts) => {
    for (const value of samples) {
      const accepted = await (flag as unknown as IntegerFlag).parse(value, { token: {} }, { ...flag, name: 'label' }).then(
        () => true,
        () => false,
      )
      expect(accepted, `${name} ${JSON.stringify(value)}`).toBe(schemaAccepts(value))
    }
  })
})
