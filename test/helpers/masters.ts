import mqtt, { type MqttClient } from 'mqtt'
import { spawnCli, type CliProcess } from './processes.js'
import { waitFor } from './wait.js'

/** What a master said on `{ns}/master/state` or `{ns}/masters/{instance}/state` (docs/protocol.md §7a). */
export interface MasterSaid {
  state: string
  instance: string
  term?: number
  host?: string
  pid?: number
  ts: number
  /** When this process received it. */
  at: number
}

/**
 * Several real `edgerun master --store postgres://…` processes of one namespace, and a plain
 * mqtt.js watcher of the state topics: who is active (with its pid), who stands by.
 */
export class MasterGroup {
  readonly processes: CliProcess[] = []
  /** Every message on master/state, in arrival order. */
  readonly history: MasterSaid[] = []
  /** The latest message of each master on masters/{instance}/state. */
  readonly own = new Map<string, MasterSaid>()

  private constructor(
    private readonly watcher: MqttClient,
    readonly mqttUrl: string,
    readonly ns: string,
    readonly storeUrl: string,
    private readonly extra: string[],
  ) {}

  static async start(mqttUrl: string, ns: string, storeUrl: string, count: number, extra: string[] = []): Promise<MasterGroup> {
    const watcher = await mqtt.connectAsync(mqttUrl, { clientId: `watch-${ns}`, reconnectPeriod: 100 })
    const group = new MasterGroup(watcher, mqttUrl, ns, storeUrl, extra)
    watcher.on('message', (topic, payload) => {
      if (payload.length === 0) return
      const said = { ...(JSON.parse(payload.toString()) as Omit<MasterSaid, 'at'>), at: Date.now() }
      if (topic === `${ns}/master/state`) group.history.push(said)
      else group.own.set(said.instance, said)
    })
    await watcher.subscribeAsync([`${ns}/master/state`, `${ns}/masters/+/state`], { qos: 1 })
    for (let i = 0; i < count; i++) await group.spawn()
    if (count > 0) await group.waitActive()
    return group
  }

  /** One more master, on the watcher's broker or another (a cluster's); resolves once it stands by (or is active). */
  async spawn(mqttUrl = this.mqttUrl): Promise<CliProcess> {
    const master = spawnCli(['master', '--url', mqttUrl, '--namespace', this.ns, '--store', this.storeUrl, '--log-level', 'info', ...this.extra])
    this.processes.push(master)
    await waitFor(() => master.output().includes('standing by') || master.child.exitCode !== null, { timeoutMs: 20_000, what: `master standing by: ${master.output()}` })
    if (master.child.exitCode !== null) throw new Error(`master exited: ${master.output()}`)
    return master
  }

  /** The master/state message last seen, if online. */
  get current(): MasterSaid | undefined {
    const last = this.history.at(-1)
    return last?.state === 'online' ? last : undefined
  }

  /** Waits for an active master with a term above `aboveTerm`; returns what it said. */
  waitActive(aboveTerm = 0, timeoutMs = 20_000): Promise<MasterSaid> {
    return waitFor(() => (this.current && (this.current.term ?? 0) > aboveTerm ? this.current : undefined), { timeoutMs, what: `a master active above term ${aboveTerm}; ${this.outputs()}` })
  }

  processOf(pid: number | undefined): CliProcess | undefined {
    return this.processes.find((p) => p.child.pid === pid)
  }

  outputs(): string {
    return this.processes.map((p, i) => `--- master ${i} (pid ${p.child.pid}) ---\n${p.output().slice(-5000)}`).join('\n')
  }

  async close(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL')
    await Promise.all(this.processes.map((p) => p.exited))
    await this.watcher.endAsync(true).catch(() => {})
  }
}
