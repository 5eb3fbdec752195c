import { randomBytes } from 'node:crypto'
import PQueue from 'p-queue'
import { silentLogger, type Logger } from '../logging/logger.js'
import {
  WORKER_FEATURES,
  assignSchema,
  controlSchema,
  decode,
  encode,
  instanceOfEpoch,
  nodeState,
  nodeStateSchema,
  topics,
  workerEvent,
  type AssignMessage,
  type ControlMessage,
  type NodeLifecycle,
  type NodeStateFields,
  type ParsedTopic,
  type RunningEntry,
  type WorkerEvent,
} from '../protocol/index.js'
import { RoleBase, type MasterOnline } from '../roles/role-base.js'
import { EDGERUN_VERSION } from '../version.js'
import { workerOptionsSchema, type WorkerOptions, type WorkerOptionsInput } from './options.js'
import { IdClaim } from './claim.js'
import { Outbox } from './outbox.js'
import { Runners, type RunOutcome } from './runners/index.js'
import { bounded, delay, waitFor } from './waits.js'

interface RunningJob {
  attempt: number
  epoch: string
  controller: AbortController
  /** Set when the master took the attempt back: its result must not be sent. */
  dropped: boolean
}

export interface WorkerEvents {
  online: [epoch: string]
  offline: []
  job: [event: { jobId: string; attempt: number; state: string }]
  error: [Error]
}

/**
 * A worker (docs/protocol.md §8–§9, docs/judge.md): announces itself with a retained birth and a will per connection,
 * takes at most `slots` attempts, and keeps every result until the master acknowledges it.
 */
export class Worker extends RoleBase<WorkerOptions, WorkerEvents, { drainTimeoutMs?: number }> {
  readonly instance = randomBytes(6).toString('base64url')
  private connectionCounter = 0
  private currentEpoch = ''
  private state: 'online' | 'draining' = 'online'
  private readonly running = new Map<string, RunningJob>()
  private readonly outbox = new Outbox()
  private readonly pool: PQueue
  private readonly runners: Runners
  private readonly description: Pick<NodeStateFields, 'slots' | 'labels' | 'capabilities'>
  private readonly claim = new IdClaim()
  private claimed = false

  private constructor(options: WorkerOptions, runners: Runners, logger: Logger) {
    super(options, logger.child({ component: 'worker', node: options.id }))
    this.runners = runners
    this.pool = new PQueue({ concurrency: options.slots })
    this.description = { slots: options.slots, labels: options.labels, capabilities: runners.capabilities }
  }

  /** Connects, claims the node id, and publishes the birth. Fails with a stable code if it can't. */
  static async start(input: WorkerOptionsInput, deps: { logger?: Logger; languages?: string[] } = {}): Promise<Worker> {
    const options = workerOptionsSchema.parse(input)
    const logger = deps.logger ?? silentLogger()
    let languages: string[] = []
    if (options.judge && deps.languages) languages = deps.languages
    else if (options.judge) {
      const judge = await import('../judge/index.js')
      languages = await judge.detectLanguages()
      // Probed now (it may compile the sandbox launcher), not on the first job's clock.
      if (languages.length > 0) logger.info({ languages, sandbox: judge.sandboxInfo() }, 'judge ready')
    }
    const runners = new Runners({ commands: options.commands, outputLimitBytes: options.outputLimitBytes, languages })
    const worker = new Worker(options, runners, logger)
    await worker.open({
      clientId: `${options.id}-${worker.instance}`.slice(0, 128),
      // What a lost connection took with it is resent by the protocol (outbox, birth), once.
      resendUnacked: false,
      // A fresh epoch for every connection attempt: the will names exactly the connection it guards.
      will: () => {
        worker.currentEpoch = `${worker.instance}.${++worker.connectionCounter}`
        return { topic: topics.nodeState(options.namespace, options.id), payload: worker.stateMessage('offline', [], 'connection lost'), qos: 1, retain: true }
      },
    })
    return worker
  }

  get id(): string {
    return this.options.id
  }

  get epoch(): string {
    return this.currentEpoch
  }

  get capabilities() {
    return this.runners.capabilities
  }

  get runningCount(): number {
    return this.running.size
  }

  get unacknowledged(): number {
    return this.outbox.size
  }

  /**
   * On every connection: QoS 0 on the way in. With a clean session a QoS 1 delivery adds a PUBACK
   * per message but no guarantee (unacked messages die with the connection either way); what is
   * lost with a connection is recovered by the protocol: deadlines, rebirth and the outbox. The
   * first time, the id is claimed once the state topics are subscribed.
   */
  protected async subscribeOwnTopics(first: boolean): Promise<void> {
    const ns = this.ns
    const id = this.options.id
    await this.connection.subscribe([topics.nodeAssign(ns, id), topics.nodeControl(ns, id)], 0)
    const stateSubscribed = this.connection.subscribe([topics.nodeState(ns, id), topics.masterState(ns)])
    if (first) await this.claim.run(stateSubscribed, { nodeId: id, instance: this.instance, waitMs: this.options.claimWaitMs })
    else await stateSubscribed
  }

  /** Then the outbox again, and the birth. */
  protected online(): void {
    this.claimed = true
    this.resendOutbox()
    void this.publishState(this.state)
    this.emit('online', this.currentEpoch)
    this.logger.info({ epoch: this.currentEpoch }, 'worker online')
  }

  private runningEntries(): RunningEntry[] {
    return [...this.running].filter(([, job]) => !job.dropped).map(([jobId, job]) => ({ jobId, attempt: job.attempt }))
  }

  /** The retained `node` message: a birth, a drain notice, or (as the will) an obituary. */
  private stateMessage(state: NodeLifecycle, running: RunningEntry[], reason?: string): Buffer {
    const { slots, labels, capabilities } = this.description
    const fields = { state, epoch: this.currentEpoch, slots, labels, capabilities, running, version: EDGERUN_VERSION, ts: Date.now() }
    return encode(nodeState({ ...fields, reason, features: [...WORKER_FEATURES] }))
  }

  private publishState(state: NodeLifecycle, reason?: string): Promise<void> {
    const payload = this.stateMessage(state, this.runningEntries(), reason)
    return this.connection.publish(topics.nodeState(this.ns, this.options.id), payload, { qos: 1, retain: true }).catch((error) => {
      this.logger.debug({ err: error }, 'state publish failed')
    })
  }

  /**
   * QoS 0 (docs/protocol.md §2): a PUBACK only says the broker has the event, never the master,
   * and the protocol already recovers what a connection loses (the outbox until `ack`, the
   * accept deadline, the birth), so a PUBACK per event would buy nothing.
   */
  private publishEvent(payload: Buffer): void {
    this.connection.publish(topics.nodeEvents(this.ns, this.options.id), payload, { qos: 0 }).catch((error) => {
      this.logger.debug({ err: error }, 'event publish failed')
    })
  }

  private sendEvent(event: WorkerEvent): void {
    this.publishEvent(encode(event))
  }

  private resendOutbox(): void {
    for (const payload of this.outbox.payloads()) this.publishEvent(payload)
  }

  /** `retained`: replayed by the broker because this connection just subscribed (RETAIN flag 1). */
  protected route(parsed: ParsedTopic | undefined, topic: string, payload: Buffer, retained: boolean): void {
    try {
      switch (parsed?.kind) {
        case 'nodeAssign':
          return this.onAssign(payload)
        case 'nodeControl':
          return this.onControl(payload)
        case 'nodeState':
          return this.onOwnState(payload, retained)
      }
    } catch (error) {
      this.logger.error({ err: error, topic }, 'message handler failed')
    }
  }

  private onOwnState(payload: Buffer, retained: boolean): void {
    if (this.claim.offer(payload)) return
    // What the topic held when this connection subscribed: the birth about to go out replaces it.
    if (retained) return
    const decoded = decode(nodeStateSchema, payload)
    if (!decoded.ok) return
    const { state, epoch } = decoded.value
    // A will from one of our older connections, arriving after our newer birth: correct the record.
    if (state === 'offline' && epoch !== this.currentEpoch && instanceOfEpoch(epoch) === this.instance && this.connection.connected) {
      this.logger.info({ stale: epoch, epoch: this.currentEpoch }, 'stale will seen; republishing birth')
      void this.publishState(this.state)
    }
  }

  protected override onMasterOnline({ firstSeen, retained }: MasterOnline): void {
    // The master that was online when this connection subscribed is served by the connection's own
    // outbox and birth; so is any, before the id is claimed (a refused duplicate publishes nothing).
    if (!firstSeen || retained || !this.claimed) return
    // A master that came online since rebuilds its view from our outbox and our birth.
    this.resendOutbox()
    void this.publishState(this.state)
  }

  private onAssign(payload: Buffer): void {
    const decoded = decode(assignSchema, payload)
    if (!decoded.ok) {
      this.logger.warn({ reason: decoded.message }, 'malformed assign')
      return
    }
    const assign = decoded.value
    // Meant for an earlier process under this id: its deadline will requeue it.
    if (instanceOfEpoch(assign.epoch) !== this.instance) return
    // From a deposed master: the active one owns the job now (docs/protocol.md §7a).
    if (!this.acceptTerm(assign.term, `assign ${assign.job.id}`)) return
    const { job, attempt, epoch } = assign
    const ref = { jobId: job.id, attempt, epoch }
    const reject = (code: 'BUSY' | 'UNSUPPORTED' | 'DRAINING', message: string) => this.sendEvent(workerEvent.rejected(ref, code, message))
    const existing = this.running.get(job.id)
    if (existing && existing.attempt === attempt) {
      this.sendEvent(workerEvent.accepted({ ...ref, epoch: existing.epoch }))
      return
    }
    const done = this.outbox.get(job.id)
    if (done) {
      this.publishEvent(done.payload)
      return
    }
    if (this.state === 'draining') return reject('DRAINING', 'worker is draining')
    const why = this.runners.unsupported(job)
    if (why) return reject('UNSUPPORTED', why)
    if (existing) this.drop(job.id)
    if (this.running.size >= this.options.slots) return reject('BUSY', `all ${this.options.slots} slots are taken`)
    this.start(assign)
  }

  private start({ job, attempt, epoch }: AssignMessage): void {
    const entry: RunningJob = { attempt, epoch, controller: new AbortController(), dropped: false }
    const ref = { jobId: job.id, attempt, epoch }
    this.running.set(job.id, entry)
    // `accepted` goes out at the end of this event-loop turn, unless the result is ready by then
    // (a noop): a result already says the job was taken, and one message is cheaper than two.
    let finished = false
    setImmediate(() => {
      if (!finished && !entry.dropped) this.sendEvent(workerEvent.accepted(ref))
    })
    this.emit('job', { jobId: job.id, attempt, state: 'running' })
    void this.pool.add(async () => {
      let outcome: RunOutcome
      try {
        outcome = await this.runners.run(job, {
          signal: entry.controller.signal,
          logger: this.logger,
          onProgress: (state, detail) => {
            if (!entry.dropped) this.sendEvent(workerEvent.progress(ref, state, detail))
          },
        })
      } catch (error) {
        outcome = { state: 'failed', output: null, error: `worker error: ${(error as Error).message}` }
      }
      finished = true
      if (this.running.get(job.id) === entry) this.running.delete(job.id)
      if (entry.dropped) return
      const payload = encode(workerEvent.result(ref, outcome))
      this.outbox.add(job.id, attempt, payload)
      this.publishEvent(payload)
      this.emit('job', { jobId: job.id, attempt, state: outcome.state })
    })
  }

  /** The master took the attempt back: stop it and never report it. */
  private drop(jobId: string, attempt?: number): void {
    const entry = this.running.get(jobId)
    if (!entry || (attempt !== undefined && entry.attempt !== attempt)) return
    entry.dropped = true
    this.running.delete(jobId)
    entry.controller.abort()
  }

  private onControl(payload: Buffer): void {
    const decoded = decode(controlSchema, payload)
    if (!decoded.ok) return
    const control: ControlMessage = decoded.value
    if (!this.acceptTerm(control.term, `control ${control.op}`)) return
    switch (control.op) {
      case 'cancel':
        if (control.jobId) this.drop(control.jobId, control.attempt)
        return
      case 'ack':
        if (control.jobId) this.outbox.ack(control.jobId, control.attempt)
        for (const { jobId, attempt } of control.jobs ?? []) this.outbox.ack(jobId, attempt)
        return
      case 'drain':
        this.state = 'draining'
        void this.publishState('draining')
        return
      case 'rebirth':
        this.resendOutbox()
        void this.publishState(this.state)
        return
    }
  }

  /**
   * Graceful stop (docs/protocol.md §9): `draining`, let running jobs finish (or hand them back after
   * drainTimeoutMs), wait briefly for result acks, publish `offline` with reason shutdown, DISCONNECT.
   */
  protected async shutdown(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.state = 'draining'
    // Every wait is bounded: a broker that vanished mid-shutdown never acknowledges anything.
    if (this.connection.connected) await bounded(this.publishState('draining'), 2_000)
    const drainMs = options.drainTimeoutMs ?? this.options.drainTimeoutMs
    await Promise.race([this.pool.onIdle(), delay(drainMs)])
    for (const [jobId, entry] of [...this.running]) {
      this.drop(jobId)
      this.sendEvent(workerEvent.rejected({ jobId, attempt: entry.attempt, epoch: entry.epoch }, 'DRAINING', 'worker shut down before the job finished'))
    }
    await waitFor(() => this.outbox.size === 0 || !this.connection.connected, 2_000)
    if (this.connection.connected) await bounded(this.publishState('offline', 'shutdown'), 2_000)
    await this.connection.close()
  }

  /** Dies without a word, like kill -9 would: the broker publishes the will. For tests. */
  async crash(): Promise<void> {
    for (const entry of this.running.values()) entry.controller.abort()
    await this.closeWith(() => this.connection.close({ force: true }))
  }
}
