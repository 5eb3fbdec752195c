import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { addUser, type Role } from '../../broker/auth/users-file.js'
import { waitFor } from '../helpers/wait.js'

/** Cheap scrypt for tests: the parameters live in each hash, so the broker verifies with these. */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 }

export const USERS: Record<string, Role> = { root: 'admin', alice: 'client', bob: 'client', w1: 'worker', w2: 'worker' }
export const passwordOf = (name: string) => `${name}-pw`

export function tempDir(prefix = 'edgerun-sec-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A users file with USERS in it; every password is `${name}-pw`. */
export async function writeUsersFile(dir: string, users: Record<string, Role> = USERS): Promise<string> {
  const file = join(dir, 'users.json')
  for (const [name, role] of Object.entries(users)) await addUser(file, { name, role, password: passwordOf(name) }, TEST_SCRYPT)
  return file
}

export const login = (name: string) => ({ username: name, password: passwordOf(name) })

export interface RawClient {
  client: MqttClient
  messages: Array<{ topic: string; payload: Buffer; retain: boolean }>
  /** True once the broker dropped the connection. */
  closed: () => boolean
  waitClosed: (what: string) => Promise<boolean>
  end: () => Promise<void>
}

/** A bare mqtt.js client, no reconnects: what a hostile or third-party client looks like. */
export async function rawClient(url: string, options: IClientOptions = {}): Promise<RawClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 5000, ...options })
  // Settles on CONNACK, a refusal, or a connection the broker drops before answering.
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
      if (!error) return resolve()
      client.end(true)
      reject(error)
    }
    const onConnect = () => settle()
    const onError = (error: Error) => settle(error)
    const onClose = () => settle(new Error('connection closed before CONNACK'))
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
  let closed = false
  const messages: RawClient['messages'] = []
  client.on('close', () => (closed = true))
  client.on('error', () => {})
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }))
  return {
    client,
    messages,
    closed: () => closed,
    waitClosed: (what) => waitFor(() => closed, { timeoutMs: 5000, what }),
    end: () => client.endAsync(true).catch(() => {}),
  }
}

/** Publishes without waiting for the PUBACK a refused publish never gets. */
export function fire(raw: RawClient, topic: string, payload: string | Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): void {
  raw.client.publish(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }, () => {})
}

/** The granted QoS of one subscription: 128 is a refusal. */
export function grantOf(raw: RawClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    raw.client.subscribe(filter, { qos: 1 }, (error, granted) => {
      // mqtt.js 5 turns a 0x80 in the SUBACK into an error carrying the SUBACK packet.
      const refused = (error as (Error & { packet?: { granted?: number[] } }) | null)?.packet?.granted?.[0]
      if (error) return refused === 128 ? resolve(128) : reject(error)
      resolve(granted![0]!.qos)
    })
  })
}
