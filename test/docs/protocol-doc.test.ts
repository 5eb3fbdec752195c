import { readFileSync } from 'node:fs'
import type { z } from 'zod'
import { describe, expect, it } from 'vitest'
import {
  acceptedReplySchema,
  assignSchema,
  commandOutputSchema,
  controlSchema,
  CONTROL_OPS,
  decode,
  JOB_KINDS,
  jobReplySchema,
  judgeOutputSchema,
  masterInstanceStateSchema,
  masterStateSchema,
  masterStatsSchema,
  jobFeedSchema,
  nodeStateSchema,
  noopOutputSchema,
  parseTopic,
  progressReplySchema,
  rejectedReplySchema,
  replyBatchSchema,
  resultReplySchema,
  RPC_METHODS,
  rpcParamsSchemas,
  rpcReplySchema,
  rpcRequestSchema,
  specOf,
  submitSchema,
  workerEventSchema,
  type JobView,
  type NodeView,
  type StatsView,
} from '../../src/protocol/index.js'

/**
 * Every example in docs/protocol.md must be a valid message. Convention: each ```json block is a
 * whole message with a "type", preceded (blank lines aside) by `<!-- schema: NAME -->` naming the
 * zod schema it must pass, since a type alone does not say whether an `accepted` is a reply or a
 * worker event. The mosquitto_pub payloads (```sh) and the transcripts (```text lines of the form
 * `topic {json}`) are checked by the schema of their topic.
 */
const SCHEMAS = {
  submitSchema,
  acceptedReplySchema,
  rejectedReplySchema,
  progressReplySchema,
  resultReplySchema,
  replyBatchSchema,
  rpcRequestSchema,
  rpcReplySchema,
  nodeStateSchema,
  masterStateSchema,
  masterInstanceStateSchema,
  assignSchema,
  controlSchema,
  workerEventSchema,
  masterStatsSchema,
  jobFeedSchema,
} as const satisfies Record<string, z.ZodType>
type SchemaName = keyof typeof SCHEMAS

/** The namespace the examples use. */
const NS = 'edgerun'

interface Block {
  lang: string
  body: string
  /** 1-based line of the opening fence. */
  line: number
  /** The `<!-- schema: … -->` annotation right before it, if any. */
  schema?: string
}

function blocks(markdown: string): { blocks: Block[]; orphans: number[] } {
  const lines = markdown.split('\n')
  const found: Block[] = []
  const orphans: number[] = []
  let pending: { name: string; line: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const annotation = /^<!--\s*schema:\s*([A-Za-z]+)\s*-->\s*$/.exec(line.trim())
    if (annotation) {
      if (pending) orphans.push(pending.line)
      pending = { name: annotation[1]!, line: i + 1 }
      continue
    }
    const fence = /^```(\w*)\s*$/.exec(line)
    if (fence) {
      const start = i
      const body: string[] = []
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!)
      found.push({ lang: fence[1]!, body: body.join('\n'), line: start + 1, schema: pending?.name })
      if (pending && fence[1] !== 'json') orphans.push(pending.line)
      pending = undefined
      continue
    }
    if (line.trim() !== '' && pending) {
      orphans.push(pending.line)
      pending = undefined
    }
  }
  if (pending) orphans.push(pending.line)
  return { blocks: found, orphans }
}

/** Keys of `input` that parsing dropped: a field no schema knows is an invented field. */
function droppedKeys(input: unknown, output: unknown, path = ''): string[] {
  if (Array.isArray(input) && Array.isArray(output)) return input.flatMap((item, i) => droppedKeys(item, output[i], `${path}[${i}]`))
  if (input && typeof input === 'object' && output && typeof output === 'object') {
    const out = output as Record<string, unknown>
    return Object.entries(input as Record<string, unknown>).flatMap(([key, value]) =>
      key in out ? droppedKeys(value, out[key], path ? `${path}.${key}` : key) : [path ? `${path}.${key}` : key],
    )
  }
  return []
}

/** Decodes like the wire does (size, JSON, object, v, schema), and refuses fields the schema drops. */
function check(schema: z.ZodType, text: string, where: string): Record<string, unknown> {
  const decoded = decode(schema, text)
  if (!decoded.ok) throw new Error(`${where}: ${decoded.code}: ${decoded.message}\n${text}`)
  const raw = JSON.parse(text) as Record<string, unknown>
  expect(droppedKeys(raw, decoded.value), `${where}: fields the schema does not know`).toEqual([])
  if (raw.type === 'rpc' && 'method' in raw) {
    const params = rpcParamsSchemas[raw.method as keyof typeof rpcParamsSchemas].safeParse(raw.params)
    if (!params.success) throw new Error(`${where}: params of ${String(raw.method)}: ${params.error.issues[0]?.message}`)
    expect(droppedKeys(raw.params, params.data), `${where}: params the method does not know`).toEqual([])
  }
  return raw
}

/** The schema a message on `topic` must pass. */
function schemaForTopic(topic: string, payload: string): z.ZodType {
  const parsed = parseTopic(NS, topic)
  if (!parsed) throw new Error(`${topic} is not an edgerun topic of namespace ${NS}`)
  const isRpc = (JSON.parse(payload) as { type?: unknown }).type === 'rpc'
  switch (parsed.kind) {
    case 'submit':
      return submitSchema
    case 'rpc':
      return rpcRequestSchema
    case 'reply':
      return isRpc ? rpcReplySchema : jobReplySchema
    case 'jobEvents':
      return jobReplySchema
    case 'masterState':
      return masterStateSchema
    case 'masterStats':
      return masterStatsSchema
    case 'masterJobs':
      return jobFeedSchema
    case 'nodeState':
      return nodeStateSchema
    case 'nodeAssign':
      return assignSchema
    case 'nodeControl':
      return controlSchema
    case 'nodeEvents':
      return workerEventSchema
  }
}

/** The rpc results are typed (src/protocol/schemas/views.ts), not zod schemas: check their keys. */
const JOB_VIEW = { id: true, kind: true, state: true, priority: true, attempts: true, maxAttempts: true, node: true, owner: true, createdAt: true, updatedAt: true, output: false, error: false, code: false, lost: false, spec: false, history: false } satisfies Record<keyof JobView, boolean>
const NODE_VIEW = { id: true, state: true, epoch: true, slots: true, inFlight: true, labels: true, languages: true, commands: true, version: true, since: true } satisfies Record<keyof NodeView, boolean>
const STATS_VIEW = { instance: true, uptimeMs: true, nodes: true, jobs: true, queued: true, rejected: true, ignored: true, refused: false } satisfies Record<keyof StatsView, boolean>

/** Problems of `value` as a view with these keys (true: required, false: optional). */
function viewProblems(keys: Record<string, boolean>, value: unknown, what: string): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${what} is not an object`]
  const present = Object.keys(value)
  return [
    ...present.filter((key) => !(key in keys)).map((key) => `${what}.${key} is not a field`),
    ...Object.entries(keys).filter(([key, required]) => required && !present.includes(key)).map(([key]) => `${what}.${key} is missing`),
  ]
}

function resultProblems(method: string, result: unknown): string[] {
  switch (method) {
    case 'jobs.get':
    case 'jobs.cancel':
      return viewProblems(JOB_VIEW, result, method)
    case 'jobs.list':
      return Array.isArray(result) ? result.flatMap((job, i) => viewProblems(JOB_VIEW, job, `${method}[${i}]`)) : [`${method} result is not an array`]
    case 'nodes.drain':
      return viewProblems(NODE_VIEW, result, method)
    case 'nodes.list':
      return Array.isArray(result) ? result.flatMap((node, i) => viewProblems(NODE_VIEW, node, `${method}[${i}]`)) : [`${method} result is not an array`]
    case 'stats':
      return viewProblems(STATS_VIEW, result, method)
    default:
      return [`unknown method ${method}`]
  }
}

const markdown = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')
const parsed = blocks(markdown)
const jsonBlocks = parsed.blocks.filter((block) => block.lang === 'json')

describe('docs/protocol.md examples', () => {
  it('has json examples, each annotated with a known schema, and no stray annotation', () => {
    expect(jsonBlocks.length).toBeGreaterThan(30)
    expect(parsed.orphans, 'schema annotations not directly followed by a ```json block (lines)').toEqual([])
    const unannotated = jsonBlocks.filter((block) => block.schema === undefined).map((block) => block.line)
    expect(unannotated, 'json blocks without <!-- schema: NAME --> (lines)').toEqual([])
    const unknown = jsonBlocks.filter((block) => block.schema !== undefined && !(block.schema in SCHEMAS)).map((block) => `${block.line}: ${block.schema}`)
    expect(unknown, 'annotations naming no schema of src/protocol').toEqual([])
  })

  it.each(jsonBlocks.map((block) => [`line ${block.line} (${block.schema})`, block] as const))('%s is valid', (_, block) => {
    const raw = JSON.parse(block.body) as Record<string, unknown>
    expect(typeof raw.type, 'every json example is a whole message with a "type"').toBe('string')
    check(SCHEMAS[block.schema as SchemaName], block.body, `docs/protocol.md line ${block.line}`)
  })

  it('shows every message the brief asks for', () => {
    const all = jsonBlocks.map((block) => ({ schema: block.schema as SchemaName, message: JSON.parse(block.body) as Record<string, unknown> }))
    const of = (schema: SchemaName) => all.filter((e) => e.schema === schema).map((e) => e.message)
    for (const name of Object.keys(SCHEMAS) as SchemaName[]) expect(of(name).length, `no example for ${name}`).toBeGreaterThan(0)
    expect(new Set(of('submitSchema').map((m) => m.kind))).toEqual(new Set(JOB_KINDS))
    const outputs = of('resultReplySchema').map((m) => m.output)
    expect(outputs.some((o) => noopOutputSchema.safeParse(o).success), 'a noop result').toBe(true)
    expect(outputs.some((o) => commandOutputSchema.safeParse(o).success), 'a command result').toBe(true)
    expect(outputs.some((o) => judgeOutputSchema.safeParse(o).success), 'a judge result').toBe(true)
    const requests = of('rpcRequestSchema')
    expect(new Set(requests.map((m) => m.method))).toEqual(new Set(RPC_METHODS))
    const replies = new Set(of('rpcReplySchema').map((m) => m.correlationId))
    for (const request of requests) expect(replies.has(request.id), `no reply example for rpc ${String(request.method)}`).toBe(true)
    expect(new Set(of('controlSchema').map((m) => m.op))).toEqual(new Set(CONTROL_OPS))
    expect(new Set(of('workerEventSchema').map((m) => m.type))).toEqual(new Set(['accepted', 'rejected', 'progress', 'result']))
    expect(of('nodeStateSchema').some((m) => m.state === 'online'), 'a birth').toBe(true)
    expect(of('nodeStateSchema').some((m) => m.state === 'offline'), 'a will').toBe(true)
    expect(of('acceptedReplySchema').some((m) => m.duplicate === true), 'a duplicate accepted').toBe(true)
  })

  it('each assign (examples and transcripts) is a real assignment: the job of a submit shown, every default filled in', () => {
    const submitted: string[] = []
    const assigned: Array<{ text: string; line: number }> = []
    for (const block of parsed.blocks) {
      if (block.schema === 'submitSchema') submitted.push(block.body)
      if (block.schema === 'assignSchema') assigned.push({ text: block.body, line: block.line })
      for (const line of block.lang === 'sh' ? block.body.split('\n') : []) {
        const payload = /\s-t\s+'[^']*\/submit'.*\s-m\s+'([^']*)'/.exec(line)?.[1]
        if (payload) submitted.push(payload)
      }
      for (const line of block.lang === 'text' ? block.body.split('\n') : []) {
        const payload = /^\S+\/assign (\{.*\})$/.exec(line)?.[1]
        if (payload) assigned.push({ text: payload, line: block.line })
      }
    }
    // A later submit with a known id is a duplicate: the first one made the job.
    const submits = new Map<string, ReturnType<typeof submitSchema.parse>>()
    for (const text of submitted) {
      const submit = submitSchema.parse(JSON.parse(text))
      if (!submits.has(submit.id)) submits.set(submit.id, submit)
    }
    expect(assigned.length).toBeGreaterThanOrEqual(3)
    for (const { text, line } of assigned) {
      const job = (JSON.parse(text) as { job: { id: string } }).job
      const submit = submits.get(job.id)
      expect(submit, `docs/protocol.md line ${line}: no submit shown with id ${job.id}`).toBeDefined()
      // The master sends the parsed submit minus its envelope: a field missing here is one a real
      // assign carries (a new default, say), and a different value is not what it would send.
      expect(Object.keys(job).sort(), `docs/protocol.md line ${line}: fields`).toEqual(Object.keys(specOf(submit!)).sort())
      expect(job, `docs/protocol.md line ${line}`).toEqual(specOf(submit!))
    }
  })

  it('the mosquitto_pub payloads are valid messages for their topics', () => {
    let count = 0
    for (const block of parsed.blocks.filter((b) => b.lang === 'sh')) {
      for (const command of block.body.split('\n').filter((line) => line.includes('mosquitto_pub'))) {
        const topic = /\s-t\s+'([^']+)'/.exec(command)?.[1] ?? /\s-t\s+(\S+)/.exec(command)?.[1]
        const payload = /\s-m\s+'([^']*)'/.exec(command)?.[1]
        if (!topic || payload === undefined) throw new Error(`docs/protocol.md line ${block.line}: cannot read -t and -m of: ${command}`)
        check(schemaForTopic(topic, payload), payload, `docs/protocol.md mosquitto_pub near line ${block.line}`)
        count++
      }
    }
    expect(count).toBeGreaterThanOrEqual(3)
  })

  it('the transcripts (topic, then payload) are valid messages for their topics', () => {
    let count = 0
    for (const block of parsed.blocks.filter((b) => b.lang === 'text')) {
      for (const line of block.body.split('\n')) {
        const match = /^(\S+) (\{.*\})$/.exec(line)
        if (!match || !match[1]!.startsWith(`${NS}/`)) continue
        check(schemaForTopic(match[1]!, match[2]!), match[2]!, `docs/protocol.md transcript near line ${block.line}`)
        count++
      }
    }
    expect(count).toBeGreaterThanOrEqual(5)
  })

  it('rpc results have the shape of their method\'s view', () => {
    const messages: Array<Record<string, unknown>> = []
    for (const block of parsed.blocks) {
      if (block.lang === 'json') messages.push(JSON.parse(block.body) as Record<string, unknown>)
      for (const line of block.lang === 'sh' ? block.body.split('\n') : []) {
        const payload = /\s-m\s+'([^']*)'/.exec(line)?.[1]
        if (payload) messages.push(JSON.parse(payload) as Record<string, unknown>)
      }
      for (const line of block.lang === 'text' ? block.body.split('\n') : []) {
        const payload = /^\S+ (\{.*\})$/.exec(line)?.[1]
        if (payload) messages.push(JSON.parse(payload) as Record<string, unknown>)
      }
    }
    const methods = new Map(messages.filter((m) => m.type === 'rpc' && 'method' in m).map((m) => [m.id as string, m.method as string]))
    const replies = messages.filter((m) => m.type === 'rpc' && 'correlationId' in m && m.ok === true)
    expect(replies.length).toBeGreaterThanOrEqual(5)
    for (const reply of replies) {
      const method = methods.get(reply.correlationId as string)
      expect(method, `no request example with id ${String(reply.correlationId)}`).toBeDefined()
      expect(resultProblems(method!, reply.result), `rpc reply ${String(reply.correlationId)}`).toEqual([])
    }
  })
})
