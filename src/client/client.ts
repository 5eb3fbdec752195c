import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { EdgerunError } from '../errors/index.js'
import { silentLogger, type Logger } from '../logging/logger.js'
import { Connection } from '../net/connection.js'
import {
  PROTOCOL_VERSION,
  decode,
  encode,
  filters,
  jobReplySchema,
  replyBatchEnvelopeSchema,
  rpcReplySchema,
  topics,
  type JobReply,
  type JobSpecInput,
  type JobView,
  type NodeStateMessage,
  type NodeView,
  type RejectedReply,
  type ResultReply,
  type RpcMethod,
  type StatsView,
  nodeStateSchema,
  masterStateSchema,
  parseTopic,
  isId,
} from '../protocol/index.js'
import { newClientId, newJobId } from './ids.js'
import { clientOptionsSchema, type ClientOptions, type ClientOptionsInput } from './options.js'
import { resultFromView } from './views.js'

export type FinalReply = ResultReply | RejectedReply

const RESEND_AFTER_MS = 5_000
export type JobEventHandler = (reply: JobReply) => void

interface PendingJob {
  submit: Buffer
  sentAt: number
  accepted: boolean
  onEvent?: JobEventHandler
  resolve: (reply: FinalReply) => void
  /** Resolves with `accepted` for --detach. */
  onAccepted?: (reply: JobReply) => void
}

interface PendingRpc {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

type WithOptionalId<T> = T extends unknown ? Omit<T, 'id'> & { id?: string } : never
export type SubmitSpec = WithOptionalId<JobSpecInput>

/**
 * A submitter (docs/protocol.md §5): sends jobs, follows them on its own reply topic, and calls the rpc.
 * After a reconnect it resends what was not accepted and catches up on the rest with jobs.get,
 * so a result is never missed and never reported twice.
 */
export interface ClientEvents {
  /** Every job reply that reaches this client's reply topic, duplicates included (for auditing). */
  reply: [reply: JobReply]
  online: []
  offline: []
}

export class EdgerunClient extends EventEmitter<ClientEvents> {
  readonly clientId: string
  readonly replyTo: string
  private readonly pending = new Map<string, PendingJob>()
  private readonly followers = new Map<string, Set<JobEventHandler>>()
  private readonly rpcs = new Map<string, PendingRpc>()
  private readonly nodeWatchers = new Set<(id: string, state: NodeStateMessage | undefined) => void>()
  private closing: Promise<void> | undefined
  private masterInstance: string | undefined
  /** When the master last answered anything: a reply or an rpc result. */
  private lastHeardAt = Date.now()
  private readonly resendTimer: NodeJS.Timeout

  private constructor(
    readonly options: ClientOptions,
    private readonly connection: Connection,
    private readonly logger: Logger,
  ) {
    super()
    this.resendTimer = setInterval(() => this.resendStale(), RESEND_AFTER_MS)
    this.resendTimer.unref()
    this.clientId = options.clientId!
    this.replyTo = topics.reply(options.namespace, this.clientId)
  }

  static async connect(input: ClientOptionsInput = {}, deps: { logger?: Logger } = {}): Promise<EdgerunClient> {
    const options = clientOptionsSchema.parse(input)
    // With auth the broker only lets a client read `{ns}/reply/{username}`: name the reply topic after it.
    options.clientId ??= isId(options.username) ? options.username : newClientId()
    const logger = deps.logger ?? silentLogger()
    const connection = await Connection.open({
      url: options.url,
      clientId: `${options.clientId}-${randomBytes(3).toString('hex')}`,
      username: options.username,
      password: options.password,
      ca: options.ca,
      keepaliveSec: options.keepaliveSec,
      connectTimeoutMs: options.connectTimeoutMs,
      logger,
    })
    const client = new EdgerunClient(options, connection, logger)
    connection.on('message', (topic, payload) => client.onMessage(topic, payload))
    connection.on('connect', () => {
      client.emit('online')
      void client.resume()
    })
    connection.on('disconnect', () => client.emit('offline'))
    try {
      await client.subscribeOwnTopics()
    } catch (error) {
      await connection.close()
      throw error
    }
    return client
  }

  private get ns(): string {
    return this.options.namespace
  }

  /**
   * Submits a job and resolves with its final `result`, or the `rejected` that refused it.
   * With `detach`, resolves as soon as the job is accepted (or rejected).
   */
  submit(spec: SubmitSpec, handlers: { onEvent?: JobEventHandler; detach?: boolean } = {}): Promise<FinalReply | JobReply> {
    const id = spec.id ?? newJobId()
    if (this.pending.has(id)) return Promise.reject(new EdgerunError('BAD_FLAG', `job ${id} is already being submitted by this client`))
    // Without a listener for them, progress replies would only cost messages.
    const progress = spec.progress ?? handlers.onEvent !== undefined
    // This client unpacks `batch` replies: one message per master commit instead of one per reply.
    const batchReplies = spec.batchReplies ?? true
    const payload = encode({ ...spec, progress, batchReplies, v: PROTOCOL_VERSION, type: 'submit', id, replyTo: this.replyTo })
    return new Promise((resolve) => {
      const entry: PendingJob = { submit: payload, sentAt: Date.now(), accepted: false, onEvent: handlers.onEvent, resolve }
      if (handlers.detach) entry.onAccepted = resolve
      this.pending.set(id, entry)
      this.send(topics.submit(this.ns), payload)
    })
  }

  /** Follows a job to its end: live events, then its final result (at once if it is already final). */
  async follow(jobId: string, onEvent?: JobEventHandler): Promise<ResultReply> {
    const topic = topics.jobEvents(this.ns, jobId)
    return new Promise<ResultReply>((resolve, reject) => {
      let done = false
      const handler: JobEventHandler = (reply) => {
        if (done) return
        onEvent?.(reply)
        if (reply.type === 'result') finish(reply)
      }
      const finish = (result: ResultReply) => {
        if (done) return
        done = true
        this.followers.get(jobId)?.delete(handler)
        void this.connection.unsubscribe([topic])
        resolve(result)
      }
      let set = this.followers.get(jobId)
      if (!set) this.followers.set(jobId, (set = new Set()))
      set.add(handler)
      this.connection
        .subscribe([topic])
        .then(() => this.getJob(jobId))
        .then((view) => {
          const result = resultFromView(view)
          if (result) finish(result)
        })
        .catch((error) => {
          done = true
          this.followers.get(jobId)?.delete(handler)
          reject(error)
        })
    })
  }

  getJob(id: string): Promise<JobView> {
    return this.rpc('jobs.get', { id }) as Promise<JobView>
  }

  listJobs(params: { state?: string; limit?: number } = {}): Promise<JobView[]> {
    return this.rpc('jobs.list', params) as Promise<JobView[]>
  }

  cancelJob(id: string): Promise<JobView> {
    return this.rpc('jobs.cancel', { id }) as Promise<JobView>
  }

  listNodes(page: { limit?: number; cursor?: string } = {}): Promise<NodeView[]> {
    return this.rpc('nodes.list', page) as Promise<NodeView[]>
  }

  stats(): Promise<StatsView> {
    return this.rpc('stats', {}) as Promise<StatsView>
  }

  /** Live node states from the retained `nodes/+/state` topics; returns a stop function. */
  async watchNodes(onChange: (id: string, state: NodeStateMessage | undefined) => void): Promise<() => Promise<void>> {
    this.nodeWatchers.add(onChange)
    await this.connection.subscribe([filters.allNodeStates(this.ns)])
    return async () => {
      this.nodeWatchers.delete(onChange)
      if (this.nodeWatchers.size === 0) await this.connection.unsubscribe([filters.allNodeStates(this.ns)])
    }
  }

  rpc(method: RpcMethod, params: unknown): Promise<unknown> {
    const id = randomBytes(8).toString('base64url')
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rpcs.delete(id)
        reject(new EdgerunError('TIMEOUT', `no answer to ${method} within ${this.options.rpcTimeoutMs} ms: is a master running on namespace "${this.ns}"?`))
      }, this.options.rpcTimeoutMs)
      this.rpcs.set(id, { resolve, reject, timer })
      this.send(topics.rpc(this.ns), encode({ v: PROTOCOL_VERSION, type: 'rpc', id, method, params, replyTo: this.replyTo }))
    })
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.resendTimer)
      for (const rpc of this.rpcs.values()) {
        clearTimeout(rpc.timer)
        rpc.reject(new EdgerunError('INTERNAL', 'client closed'))
      }
      this.rpcs.clear()
      await this.connection.close()
    })()
    return this.closing
  }

  private send(topic: string, payload: Buffer): void {
    this.connection.publish(topic, payload, { qos: 1 }).catch((error) => this.logger.debug({ err: error, topic }, 'publish failed'))
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(this.ns, topic)
    if (parsed?.kind === 'masterState') return this.onMasterState(payload)
    if (parsed?.kind === 'nodeState') return this.onNodeState(parsed.node, payload)
    if (parsed?.kind === 'jobEvents') {
      const decoded = decode(jobReplySchema, payload)
      if (decoded.ok) for (const handler of this.followers.get(parsed.jobId) ?? []) handler(decoded.value)
      return
    }
    if (topic !== this.replyTo) return
    const head = payload.subarray(0, 64).toString()
    if (head.includes('"type":"batch"')) {
      const decoded = decode(replyBatchEnvelopeSchema, payload)
      if (!decoded.ok) return this.logger.warn({ reason: decoded.message }, 'malformed reply batch')
      for (const raw of decoded.value.replies) {
        const reply = jobReplySchema.safeParse(raw)
        if (reply.success) this.onJobReply(reply.data)
        else this.logger.warn({ reply: raw }, 'malformed reply in a batch')
      }
      return
    }
    if (head.includes('"type":"rpc"')) {
      const decoded = decode(rpcReplySchema, payload)
      if (decoded.ok) this.onRpcReply(decoded.value)
      return
    }
    const decoded = decode(jobReplySchema, payload)
    if (!decoded.ok) {
      const rpc = decode(rpcReplySchema, payload)
      if (rpc.ok) this.onRpcReply(rpc.value)
      return
    }
    this.onJobReply(decoded.value)
  }

  /**
   * A master instance we have not seen before may have missed our submits (nobody was subscribed
   * while it was down) or published results before we were back: resend and catch up.
   */
  private onMasterState(payload: Buffer): void {
    const decoded = decode(masterStateSchema, payload)
    if (!decoded.ok || decoded.value.state !== 'online') return
    const known = this.masterInstance
    this.masterInstance = decoded.value.instance
    if (known !== undefined && known !== decoded.value.instance) this.resync()
  }

  /** Unaccepted submits go out again; accepted ones are asked about. */
  private resync(): void {
    for (const [jobId, entry] of this.pending) {
      if (!entry.accepted) this.resend(entry)
      else void this.catchUp(jobId)
    }
  }

  private resend(entry: PendingJob): void {
    entry.sentAt = Date.now()
    this.send(topics.submit(this.ns), entry.submit)
  }

  /**
   * A submit with no answer for a while is sent again (the id makes that harmless), but only
   * while the master is silent: one still answering is working through a backlog, and resending
   * to it would only double that backlog.
   */
  private resendStale(): void {
    if (!this.connection.connected) return
    if (Date.now() - this.lastHeardAt < RESEND_AFTER_MS) return
    const cutoff = Date.now() - RESEND_AFTER_MS
    for (const entry of this.pending.values()) {
      if (!entry.accepted && entry.sentAt < cutoff) this.resend(entry)
    }
  }

  private onNodeState(id: string, payload: Buffer): void {
    const decoded = payload.length === 0 ? undefined : decode(nodeStateSchema, payload)
    const state = decoded?.ok ? decoded.value : undefined
    for (const watcher of this.nodeWatchers) watcher(id, state)
  }

  private onRpcReply(reply: { correlationId: string; ok: boolean; result?: unknown; error?: { code: string; message: string } }): void {
    this.lastHeardAt = Date.now()
    const rpc = this.rpcs.get(reply.correlationId)
    if (!rpc) return
    this.rpcs.delete(reply.correlationId)
    clearTimeout(rpc.timer)
    if (reply.ok) rpc.resolve(reply.result)
    else rpc.reject(new EdgerunError((reply.error?.code ?? 'INTERNAL') as never, reply.error?.message ?? 'rpc failed'))
  }

  private onJobReply(reply: JobReply): void {
    this.lastHeardAt = Date.now()
    this.emit('reply', reply)
    const jobId = reply.jobId
    if (jobId === undefined) return
    const entry = this.pending.get(jobId)
    if (!entry) return
    entry.onEvent?.(reply)
    switch (reply.type) {
      case 'accepted':
        entry.accepted = true
        // A duplicate of a live job is answered like a new one: its result comes here as well.
        entry.onAccepted?.(reply)
        return
      case 'rejected':
        this.settle(jobId, reply)
        return
      case 'result':
        this.settle(jobId, reply)
        return
      default:
        entry.accepted = true
    }
  }

  private settle(jobId: string, reply: FinalReply): void {
    const entry = this.pending.get(jobId)
    if (!entry) return
    this.pending.delete(jobId)
    entry.resolve(reply)
  }

  /** After a reconnect: resubmit what was never accepted, and ask about the rest. */
  /**
   * The reply topic, and the master's state: a restarted master may have missed what was sent
   * while it was down.
   */
  private async subscribeOwnTopics(): Promise<void> {
    // QoS 0: see Worker.announce; a reply lost with a connection is caught up by jobs.get.
    await this.connection.subscribe([this.replyTo], 0)
    await this.connection.subscribe([topics.masterState(this.ns)])
  }

  private async resume(): Promise<void> {
    try {
      await this.subscribeOwnTopics()
      if (this.nodeWatchers.size > 0) await this.connection.subscribe([filters.allNodeStates(this.ns)])
      for (const jobId of this.followers.keys()) await this.connection.subscribe([topics.jobEvents(this.ns, jobId)])
    } catch (error) {
      this.logger.debug({ err: error }, 'resubscribe failed')
      return
    }
    this.resync()
  }

  private async catchUp(jobId: string): Promise<void> {
    try {
      const view = await this.getJob(jobId)
      const result = resultFromView(view)
      if (result) this.settle(jobId, result)
    } catch (error) {
      this.logger.debug({ err: error, jobId }, 'catch-up failed')
      // The broker may have gone away mid-question; ask again while the job is still owed.
      if (this.pending.has(jobId) && !this.closing) setTimeout(() => void this.catchUp(jobId), 1000).unref()
    }
  }
}
