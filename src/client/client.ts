import { randomBytes } from 'node:crypto'
import { EdgerunError } from '../errors/index.js'
import { silentLogger, type Logger } from '../logging/logger.js'
import {
  decode,
  decodeReply,
  encode,
  filters,
  isFinal,
  jobReplySchema,
  rpcRequest,
  submit,
  topics,
  type JobReply,
  type JobView,
  type NodeStateMessage,
  type NodeView,
  type RejectedReply,
  type ResultReply,
  type RpcMethod,
  type RpcReply,
  type StatsView,
  type SubmitJob,
  type ParsedTopic,
  nodeStateSchema,
  masterInstanceStateSchema,
  isId,
  type MasterInstanceStateMessage,
} from '../protocol/index.js'
import { RoleBase, type MasterOnline } from '../roles/role-base.js'
import { newClientId, newJobId } from './ids.js'
import { clientOptionsSchema, type ClientOptions, type ClientOptionsInput } from './options.js'
import { RpcCalls } from './rpc-calls.js'
import { resultFromView } from './views.js'
import { withVerdicts, type JudgeTestHandler } from './judge-progress.js'

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

export type SubmitSpec = SubmitJob

export interface ClientEvents {
  /** Every job reply that reaches this client's reply topic, duplicates included (for auditing). */
  reply: [reply: JobReply]
  online: []
  offline: []
}

/**
 * A submitter (docs/protocol.md §5): sends jobs, follows them on its own reply topic, and calls the rpc.
 * After a reconnect it resends what was not accepted and catches up on the rest with jobs.get,
 * so a result is never missed and never reported twice.
 */
export class EdgerunClient extends RoleBase<ClientOptions, ClientEvents> {
  readonly clientId: string
  readonly replyTo: string
  private readonly pending = new Map<string, PendingJob>()
  private readonly followers = new Map<string, Set<JobEventHandler>>()
  private readonly rpcs = new RpcCalls()
  private readonly nodeWatchers = new Set<(id: string, state: NodeStateMessage | undefined) => void>()
  private readonly masterWatchers = new Set<(state: MasterInstanceStateMessage) => void>()
  /** When the master last answered anything: a reply or an rpc result. */
  private lastHeardAt = Date.now()
  private resendTimer: NodeJS.Timeout | undefined

  private constructor(options: ClientOptions, logger: Logger) {
    super(options, logger)
    this.clientId = options.clientId!
    this.replyTo = topics.reply(options.namespace, this.clientId)
  }

  static async connect(input: ClientOptionsInput = {}, deps: { logger?: Logger } = {}): Promise<EdgerunClient> {
    const options = clientOptionsSchema.parse(input)
    // With auth the broker only lets a client read `{ns}/reply/{username}`: name the reply topic after it.
    options.clientId ??= isId(options.username) ? options.username : newClientId()
    const client = new EdgerunClient(options, deps.logger ?? silentLogger())
    await client.open({ clientId: `${options.clientId}-${randomBytes(3).toString('hex')}` })
    client.resendTimer = setInterval(() => client.resendStale(), RESEND_AFTER_MS)
    client.resendTimer.unref()
    return client
  }

  /**
   * Submits a job and resolves with its final `result`, or the `rejected` that refused it.
   * With `detach`, resolves as soon as the job is accepted (or rejected). `onTest`: each judge verdict, grouped or not.
   */
  submit(spec: SubmitSpec, handlers: { onEvent?: JobEventHandler; onTest?: JudgeTestHandler; detach?: boolean } = {}): Promise<FinalReply | JobReply> {
    const id = spec.id ?? newJobId()
    if (this.pending.has(id)) return Promise.reject(new EdgerunError('BAD_FLAG', `job ${id} is already being submitted by this client`))
    // Without a listener for them, progress replies would only cost messages.
    const progress = spec.progress ?? (handlers.onEvent ?? handlers.onTest) !== undefined
    // This client unpacks `batch` replies: one message per master commit instead of one per reply.
    const batchReplies = spec.batchReplies ?? true
    const payload = encode(submit({ ...spec, progress, batchReplies }, { id, replyTo: this.replyTo }))
    return new Promise((resolve) => {
      const entry: PendingJob = { submit: payload, sentAt: Date.now(), accepted: false, onEvent: handlers.onTest ? withVerdicts(handlers.onEvent, handlers.onTest) : handlers.onEvent, resolve }
      if (handlers.detach) entry.onAccepted = resolve
      this.pending.set(id, entry)
      this.send(topics.submit(this.ns), payload, 0)
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
      /** Once: false if the follow had ended already. */
      const stop = (): boolean => {
        if (done) return false
        done = true
        const set = this.followers.get(jobId)
        set?.delete(handler)
        if (set?.size === 0) this.followers.delete(jobId)
        void this.release(topic)
        return true
      }
      const finish = (result: ResultReply) => {
        if (stop()) resolve(result)
      }
      let set = this.followers.get(jobId)
      if (!set) this.followers.set(jobId, (set = new Set()))
      set.add(handler)
      this.hold(topic)
        .then(() => this.getJob(jobId))
        .then((view) => {
          const result = resultFromView(view)
          if (result) finish(result)
        })
        .catch((error) => {
          if (stop()) reject(error)
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

  /**
   * The masters of a namespace whose masters elect (docs/protocol.md §7a), from the retained
   * `masters/+/state` heard within `waitMs`; empty where one master runs without an election.
   */
  async masters(waitMs = 200): Promise<MasterInstanceStateMessage[]> {
    const found = new Map<string, MasterInstanceStateMessage>()
    const watcher = (state: MasterInstanceStateMessage) => found.set(state.instance, state)
    this.masterWatchers.add(watcher)
    try {
      await this.hold(filters.allMasterStates(this.ns))
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      await this.release(filters.allMasterStates(this.ns))
    } finally {
      this.masterWatchers.delete(watcher)
    }
    return [...found.values()].sort((a, b) => a.instance.localeCompare(b.instance))
  }

  /** Live node states from the retained `nodes/+/state` topics; returns a stop function. */
  async watchNodes(onChange: (id: string, state: NodeStateMessage | undefined) => void): Promise<() => Promise<void>> {
    this.nodeWatchers.add(onChange)
    await this.hold(filters.allNodeStates(this.ns))
    return async () => {
      this.nodeWatchers.delete(onChange)
      await this.release(filters.allNodeStates(this.ns))
    }
  }

  rpc(method: RpcMethod, params: unknown): Promise<unknown> {
    const { rpcTimeoutMs } = this.options
    return this.rpcs.call(
      (id) => this.send(topics.rpc(this.ns), encode(rpcRequest(id, method, params, this.replyTo))),
      rpcTimeoutMs,
      () => new EdgerunError('TIMEOUT', `no answer to ${method} within ${rpcTimeoutMs} ms: is a master running on namespace "${this.ns}"?`),
    )
  }

  protected async shutdown(): Promise<void> {
    clearInterval(this.resendTimer)
    this.rpcs.rejectAll(new EdgerunError('INTERNAL', 'client closed'))
    await this.connection.close()
  }

  /**
   * Submits go at QoS 0 (docs/protocol.md §2): only `accepted` says the master has a job, and
   * what is not accepted is resent on every reconnect and every new master instance. An rpc
   * has no such resend, so it keeps QoS 1.
   */
  private send(topic: string, payload: Buffer, qos: 0 | 1 = 1): void {
    this.connection.publish(topic, payload, { qos }).catch((error) => this.logger.debug({ err: error, topic }, 'publish failed'))
  }

  protected route(parsed: ParsedTopic | undefined, topic: string, payload: Buffer): void {
    if (parsed?.kind === 'nodeState') return this.onNodeState(parsed.node, payload)
    if (parsed?.kind === 'masterInstanceState') {
      const decoded = decode(masterInstanceStateSchema, payload)
      if (decoded.ok) for (const watcher of this.masterWatchers) watcher(decoded.value)
      return
    }
    if (parsed?.kind === 'jobEvents') {
      const decoded = decode(jobReplySchema, payload)
      if (decoded.ok) for (const handler of this.followers.get(parsed.jobId) ?? []) handler(decoded.value)
      return
    }
    if (topic !== this.replyTo) return
    const decoded = decodeReply(payload)
    if (!decoded.ok) return this.logger.warn({ reason: decoded.message }, 'malformed reply')
    for (const reply of decoded.replies) {
      if (reply.type === 'rpc') this.onRpcReply(reply)
      else this.onJobReply(reply)
    }
    for (const raw of decoded.malformed) this.logger.warn({ reply: raw }, 'malformed reply in a batch')
  }

  /**
   * A master instance we have not seen before may have missed our submits (nobody was subscribed
   * while it was down) or published results before we were back: resend and catch up.
   */
  protected override onMasterOnline({ instance, previous }: MasterOnline): void {
    if (previous !== undefined && previous !== instance) this.resync()
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
    this.send(topics.submit(this.ns), entry.submit, 0)
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

  private onRpcReply(reply: RpcReply): void {
    this.lastHeardAt = Date.now()
    this.rpcs.answer(reply)
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
        // A final one whose result this subscription already had (an id this client submitted
        // before) gets no second copy: the job's record has it (docs/protocol.md §4).
        if (isFinal(reply.state)) void this.catchUp(jobId)
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

  /**
   * The reply topic, and the master's state: a restarted master may have missed what was sent
   * while it was down.
   */
  protected async subscribeOwnTopics(): Promise<void> {
    // QoS 0: see Worker.subscribeOwnTopics; a reply lost with a connection is caught up by jobs.get.
    await this.connection.subscribe([this.replyTo], 0)
    await this.connection.subscribe([topics.masterState(this.ns)])
  }

  protected override reconnecting(): void {
    this.emit('online')
  }

  /** After a reconnect: resubmit what was never accepted, and ask about the rest. */
  protected online(first: boolean): void {
    if (!first) this.resync()
  }

  private async catchUp(jobId: string): Promise<void> {
    try {
      const view = await this.getJob(jobId)
      const result = resultFromView(view)
      if (result) this.settle(jobId, result)
    } catch (error) {
      this.logger.debug({ err: error, jobId }, 'catch-up failed')
      // The broker may have gone away mid-question; ask again while the job is still owed.
      if (this.pending.has(jobId) && !this.closed) setTimeout(() => void this.catchUp(jobId), 1000).unref()
    }
  }
}
