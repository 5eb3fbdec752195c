// One MQTT connection over WebSocket, as the logged-in user, and everything the page knows.
// It reads only what docs/protocol.md names; the broker's ACL decides what it may read and do.
import mqtt from 'mqtt'
import { filters, parseTopic, topics } from '../../src/protocol/topics.ts'
import { fromView, isFinal, summaryOf, testsOf } from './jobs.js'

export { isFinal }

const RPC_TIMEOUT_MS = 10_000
const MAX_JOBS = 1000

export class Session extends EventTarget {
  constructor({ url, namespace, username, password }) {
    super()
    this.url = url
    this.ns = namespace
    this.username = username || undefined
    this.password = password || undefined
    // A client's reply topic must be its user name (docs/security.md); an admin or anonymous page picks one.
    this.client = this.username ?? `dashboard-${Math.random().toString(36).slice(2, 10)}`
    this.replyTo = topics.reply(this.ns, this.client)
    this.status = 'connecting'
    this.error = undefined
    /** `admin`: it may read master/stats and master/jobs; `own`: only its own jobs. */
    this.scope = undefined
    this.nodes = new Map()
    this.jobs = new Map()
    this.stats = undefined
    this.rateHistory = []
    this.job = undefined // the job page: { id, view, tests: Map, events: [] }
    this.filter = { state: '', kind: '', idPrefix: '' }
    this.pending = new Map()
    this.nextRpc = 0
    this.followed = new Set()
    this.finishedSeen = []
  }

  start() {
    const m = mqtt.connect(this.url, {
      clientId: `${this.client}-${Math.random().toString(36).slice(2, 8)}`,
      username: this.username,
      password: this.password,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    })
    this.mqtt = m
    m.on('connect', () => void this.onConnect())
    m.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain))
    m.on('close', () => this.set({ status: this.status === 'denied' ? 'denied' : 'reconnecting' }))
    m.on('error', (error) => {
      // CONNACK 4 (bad user name or password) or 5 (not authorized): ask for credentials.
      if (error && (error.code === 4 || error.code === 5 || error.code === 134 || error.code === 135)) {
        m.end(true)
        this.set({ status: 'denied', error: 'not authorized: check the user name and password' })
      } else this.set({ error: String(error?.message ?? error) })
    })
    this.timer = setInterval(() => this.sampleRates(), 1000)
  }

  stop() {
    clearInterval(this.timer)
    this.mqtt?.end(true)
  }

  set(changes) {
    Object.assign(this, changes)
    this.changed()
  }

  changed() {
    this.dispatchEvent(new Event('change'))
  }

  async onConnect() {
    const m = this.mqtt
    this.set({ status: 'online', error: undefined })
    await m.subscribeAsync([this.replyTo, filters.allNodeStates(this.ns), topics.masterState(this.ns)], { qos: 1 })
    this.scope = (await this.granted([topics.masterStats(this.ns), topics.masterJobs(this.ns)])) ? 'admin' : 'own'
    this.followed.clear()
    await Promise.all([this.loadNodes(), this.loadJobs()])
    if (this.job) this.openJob(this.job.id)
    this.changed()
  }

  /** Whether the broker grants every filter (a refused SUBACK is 0x80). */
  async granted(list) {
    try {
      const granted = await this.mqtt.subscribeAsync(list, { qos: 1 })
      return granted.every((g) => g.qos !== 128)
    } catch {
      return false
    }
  }

  rpc(method, params) {
    const id = `d-${++this.nextRpc}-${Math.random().toString(36).slice(2, 6)}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method}: no answer within ${RPC_TIMEOUT_MS / 1000} s`))
      }, RPC_TIMEOUT_MS)
      this.pending.set(id, (reply) => {
        clearTimeout(timer)
        if (reply.ok) resolve(reply.result)
        else reject(Object.assign(new Error(`${reply.error?.code}: ${reply.error?.message}`), { code: reply.error?.code }))
      })
      this.mqtt.publish(topics.rpc(this.ns), JSON.stringify({ v: 1, type: 'rpc', id, method, params, replyTo: this.replyTo }), { qos: 1 })
    })
  }

  async loadNodes() {
    try {
      for (const view of await this.rpc('nodes.list')) {
        const node = this.nodes.get(view.id) ?? { id: view.id }
        this.nodes.set(view.id, { ...node, ...fromView(view), since: view.since, busy: view.inFlight })
      }
    } catch (error) {
      this.set({ error: error.message })
    }
  }

  async loadJobs() {
    const { state, kind, idPrefix } = this.filter
    const params = { limit: 100, ...(state ? { state } : {}), ...(kind ? { kind } : {}), ...(idPrefix ? { idPrefix } : {}) }
    try {
      const views = await this.rpc('jobs.list', params)
      this.jobs = new Map(views.map((view) => [view.id, summaryOf(view)]))
      if (this.scope === 'own') for (const view of views) this.follow(view)
      this.changed()
    } catch (error) {
      this.set({ error: error.message })
    }
  }

  setFilter(changes) {
    this.filter = { ...this.filter, ...changes }
    void this.loadJobs()
  }

  /** A client follows the events of its own live jobs (the ACL allows only those). */
  follow(job) {
    if (isFinal(job.state) || this.followed.has(job.id)) return
    this.followed.add(job.id)
    this.mqtt.subscribe(topics.jobEvents(this.ns, job.id), { qos: 1 })
  }

  onMessage(topic, payload, retained) {
    let message
    try {
      message = JSON.parse(new TextDecoder().decode(payload))
    } catch {
      return
    }
    const parsed = parseTopic(this.ns, topic)
    if (!parsed || !message || typeof message !== 'object') return
    switch (parsed.kind) {
      case 'nodeState':
        return this.onNodeState(parsed.node, message, retained)
      case 'masterStats':
        return this.onStats(message)
      case 'masterJobs':
        return this.onFeed(message)
      case 'reply':
        if (message.type === 'batch') for (const reply of message.replies ?? []) this.onReply(reply)
        else this.onReply(message)
        return
      case 'jobEvents':
        return this.onJobEvent(parsed.jobId, message)
      default:
    }
  }

  onNodeState(id, message, retained) {
    if (message.type !== 'node') return
    const known = this.nodes.get(id)
    const sameConnection = known && known.epoch === message.epoch && known.state === message.state
    this.nodes.set(id, {
      ...known,
      id,
      state: message.state,
      epoch: message.epoch,
      slots: message.slots,
      labels: message.labels ?? [],
      languages: message.capabilities?.languages ?? [],
      commands: message.capabilities?.commands ?? [],
      version: message.version,
      reason: message.reason,
      // A will is built before its connection: its ts is not when the node went away, but now is.
      since: sameConnection ? known.since : retained ? message.ts : Date.now(),
      busy: message.state === 'offline' ? 0 : (known?.busy ?? 0),
    })
    this.changed()
  }

  onStats(stats) {
    if (stats.type !== 'stats') return
    for (const [id, busy] of Object.entries(stats.busy ?? {})) {
      const node = this.nodes.get(id)
      if (node) node.busy = busy
    }
    this.set({ stats, statsAt: Date.now() })
  }

  onFeed(feed) {
    if (feed.type !== 'jobs') return
    for (const summary of feed.jobs ?? []) this.upsert(summary)
    if (feed.dropped) void this.loadJobs()
    this.prune()
    this.changed()
  }

  /** A page left open under load keeps the newest jobs only (it shows 100). */
  prune() {
    if (this.jobs.size <= MAX_JOBS * 1.5) return
    const newest = [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_JOBS)
    this.jobs = new Map(newest.map((job) => [job.id, job]))
  }

  upsert(summary) {
    const known = this.jobs.get(summary.id)
    if (isFinal(summary.state) && !(known && isFinal(known.state))) this.finishedSeen.push(Date.now())
    this.jobs.set(summary.id, { ...known, ...summary })
    if (this.job?.id === summary.id && this.job.view) this.job.view = { ...this.job.view, state: summary.state, node: summary.node }
  }

  onReply(reply) {
    if (reply.type === 'rpc') {
      const done = this.pending.get(reply.correlationId)
      if (done) {
        this.pending.delete(reply.correlationId)
        done(reply)
      }
      return
    }
    // A client's own submits (from any of its sessions) reply here: how its new jobs show up.
    if (this.scope !== 'own' || !reply.jobId) return
    if (!this.jobs.has(reply.jobId)) void this.fetchJob(reply.jobId)
    else this.applyEvent(reply.jobId, reply)
  }

  async fetchJob(id) {
    try {
      const view = await this.rpc('jobs.get', { id })
      this.upsert(summaryOf(view))
      this.follow(view)
      this.prune()
      this.changed()
    } catch {
      // gone, or not ours
    }
  }

  onJobEvent(id, event) {
    this.applyEvent(id, event)
    if (this.job?.id === id) {
      const page = this.job
      page.events = [...page.events, event]
      const tests = event.type === 'progress' ? testsOf(event.detail) : []
      for (const test of tests) page.tests.set(test.index ?? test.name, test)
      if (event.type === 'result' || (event.type === 'progress' && tests.length === 0)) void this.refreshJob(id)
    }
    this.changed()
  }

  /** What an event says of a job's row. */
  applyEvent(id, event) {
    const known = this.jobs.get(id)
    if (!known) return
    if (event.type === 'result') {
      const verdict = event.output && typeof event.output.verdict === 'string' ? event.output.verdict : undefined
      this.upsert({ ...known, state: event.state, node: event.node, ...(verdict ? { verdict } : {}), ...(event.error ? { error: event.error } : {}) })
      this.mqtt.unsubscribe(topics.jobEvents(this.ns, id))
      this.followed.delete(id)
    } else if (event.type === 'progress') {
      const state = { assigned: 'assigned', running: 'running', requeued: 'queued' }[event.state] ?? (testsOf(event.detail).length ? 'running' : undefined)
      if (state) this.upsert({ ...known, state, node: event.node ?? known.node, attempt: event.attempt ?? known.attempt })
    }
  }

  async openJob(id) {
    this.job = { id, view: undefined, tests: new Map(), events: [], error: undefined }
    this.changed()
    this.mqtt.subscribe(topics.jobEvents(this.ns, id), { qos: 1 })
    await this.refreshJob(id)
  }

  closeJob() {
    if (this.job && !this.followed.has(this.job.id)) this.mqtt.unsubscribe(topics.jobEvents(this.ns, this.job.id))
    this.job = undefined
    this.changed()
  }

  async refreshJob(id) {
    try {
      const view = await this.rpc('jobs.get', { id, detail: true })
      if (this.job?.id !== id) return
      this.job.view = view
      for (const test of view.output?.tests ?? []) {
        const index = view.output.tests.indexOf(test)
        this.job.tests.set(index, { index, ...test })
      }
      this.upsert(summaryOf(view))
    } catch (error) {
      if (this.job?.id === id) this.job.error = error.message
    }
    this.changed()
  }

  async cancel(id) {
    try {
      const view = await this.rpc('jobs.cancel', { id })
      this.upsert(summaryOf(view))
      this.set({ notice: `job ${id}: ${view.state}` })
    } catch (error) {
      this.set({ error: `cancel ${id}: ${error.message}` })
    }
  }

  async drain(id) {
    try {
      const view = await this.rpc('nodes.drain', { id })
      const node = this.nodes.get(id)
      if (node && node.state === 'online') this.nodes.set(id, { ...node, state: view.state, since: view.since })
      this.set({ notice: `node ${id}: ${view.state}` })
    } catch (error) {
      this.set({ error: `drain ${id}: ${error.message}` })
    }
  }

  /** One point a second for the chart: the master's rates, or (for a client) what it saw finish. */
  sampleRates() {
    const now = Date.now()
    this.finishedSeen = this.finishedSeen.filter((t) => t > now - 5000)
    let submitted = 0
    let finished = this.finishedSeen.length / 5
    if (this.stats) {
      submitted = this.stats.rates?.submitted ?? 0
      finished = this.stats.rates?.finished ?? 0
    }
    this.rateHistory.push([Math.floor(now / 1000), submitted, finished])
    if (this.rateHistory.length > 300) this.rateHistory.shift()
    this.changed()
  }
}
