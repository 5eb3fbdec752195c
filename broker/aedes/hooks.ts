import type { AedesOptions, AuthenticateError, Client, ConnectPacket } from 'aedes'
import { EdgerunError } from '../../src/errors/index.js'
import type { Logger } from '../../src/logging/logger.js'
import { ANONYMOUS, authorizePublish, authorizeSubscribe, type AclContext, type Principal } from '../auth/acl.js'
import { burnVerify, verifyPassword } from '../auth/password.js'
import type { Role, UsersTable } from '../auth/users-file.js'
import { Counters } from '../master/counters.js'
import type { Visibility } from '../master/handlers/rpc.js'
import { parseTopic } from '../../src/protocol/index.js'
import type { WorkerBudget } from './worker-budget.js'

/** MQTT 3.1.1 CONNACK return codes (aedes' AuthErrorCode is a const enum, unusable here). */
const IDENTIFIER_REJECTED = 2
const SERVER_UNAVAILABLE = 3
const NOT_AUTHORIZED = 5

type Will = NonNullable<ConnectPacket['will']>

/** A refused CONNECT: Aedes sends `returnCode` in the CONNACK; the code names it for the log. */
function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new EdgerunError('NOT_AUTHORIZED', message), { returnCode: returnCode as AuthenticateError['returnCode'] })
}

export interface BrokerSecurityOptions {
  /** Set with `--auth`: every connection must log in. Undefined: every connection is anonymous. */
  users?: UsersTable
  acl: AclContext
  logger: Logger
  /** `--max-workers`: undefined for no limit of the workers' own. */
  workers?: WorkerBudget
}

/**
 * The Aedes side of docs/security.md: authentication, the ACL and its counters. The in-process master
 * publishes through `aedes.publish`, which never passes these hooks; every socket does.
 *
 * Counters (all refusals; `security.counters.toJSON()`):
 * `auth_failed`, `client_id_taken`, `will_denied`, `publish_denied`, `subscribe_denied`,
 * `worker_limit`, plus those of broker/aedes/guard.ts: `packet_too_large`, `connection_limit`.
 */
export class BrokerSecurity {
  readonly counters = new Counters()
  private readonly principals = new WeakMap<Client, Principal>()
  private readonly wills = new WeakMap<Client, Will>()

  constructor(private readonly options: BrokerSecurityOptions) {}

  get authenticating(): boolean {
    return this.options.users !== undefined
  }

  principalOf(client: Client | null): Principal | undefined {
    return client ? this.principals.get(client) : undefined
  }

  /**
   * The role behind a reply-client id. With `--auth` a client's reply topic is named after its
   * username (the ACL enforces it), so this is the users table; without auth it is undefined.
   */
  roleOf(replyClientId: string): Role | undefined {
    return this.options.users?.get(replyClientId)?.role
  }

  /** For the master's rpc: admins see every job, everyone else only their own. Undefined without auth. */
  get visibility(): Visibility | undefined {
    if (!this.authenticating) return undefined
    return (clientId) => (this.roleOf(clientId) === 'admin' ? 'all' : 'own')
  }

  hooks(): Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> {
    return {
      preConnect: (client, packet, callback) => {
        // The will is checked against the ACL once we know who is connecting (authenticate).
        if (packet.will) this.wills.set(client, packet.will)
        callback(null, true)
      },
      authenticate: (client, username, password, callback) => {
        this.authenticate(client, username, password).then(
          (code) => {
            if (code === 0) return callback(null, true)
            callback(refusal(code === IDENTIFIER_REJECTED ? 'identifier rejected' : code === SERVER_UNAVAILABLE ? 'worker limit reached' : 'not authorized', code), false)
          },
          (error: Error) => {
            this.options.logger.error({ err: error }, 'authentication failed unexpectedly')
            callback(refusal('not authorized', NOT_AUTHORIZED), false)
          },
        )
      },
      authorizePublish: (client, packet, callback) => {
        // A null client is a will published after its owner's broker died: it passed the ACL
        // at CONNECT, so only the rules for everyone apply.
        const who = client ? this.principals.get(client) : ANONYMOUS
        const decision = who
          ? authorizePublish(this.options.acl, who, packet.topic, packet.retain, packet.payload)
          : { ok: false as const, reason: 'unauthenticated connection' }
        if (decision.ok && client && !this.admitBirth(client, packet.topic)) return callback(new EdgerunError('NOT_AUTHORIZED', 'worker limit reached'))
        if (decision.ok) return callback(null)
        this.counters.inc('publish_denied')
        this.options.logger.warn({ client: client?.id, user: userOf(who), topic: packet.topic, retain: packet.retain, reason: decision.reason }, 'publish denied; closing the connection')
        // MQTT 3.1.1 has no negative PUBACK: Aedes closes the connection (MQTT-3.3.5-2).
        callback(new EdgerunError('NOT_AUTHORIZED', `not authorized: ${decision.reason}`))
      },
      authorizeSubscribe: (client, subscription, callback) => {
        const who = this.principals.get(client)
        const decision = who ? authorizeSubscribe(this.options.acl, who, subscription.topic) : { ok: false as const, reason: 'unauthenticated connection' }
        if (decision.ok) return callback(null, subscription)
        this.counters.inc('subscribe_denied')
        this.options.logger.warn({ client: client.id, user: userOf(who), filter: subscription.topic, reason: decision.reason }, 'subscription denied')
        // SUBACK 0x80 for this filter; the connection stays up.
        callback(null, null)
      },
    }
  }

  /** 0 to accept, else the CONNACK return code. */
  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<number> {
    const { users, logger, acl } = this.options
    let who: Principal = ANONYMOUS
    if (users) {
      const entry = username !== undefined ? users.get(username) : undefined
      const secret = password?.toString('utf8') ?? ''
      const ok = entry && password !== undefined ? await verifyPassword(secret, entry.hash) : await burnVerify(secret)
      if (!ok || !entry || username === undefined) {
        this.counters.inc('auth_failed')
        logger.warn({ client: client.id, user: username ?? null, remote: remoteOf(client) }, 'authentication failed')
        return NOT_AUTHORIZED
      }
      who = { kind: 'user', username, role: entry.role }
      // A client id held by another user's live connection cannot be taken over (MQTT-3.1.4-2
      // would otherwise let anyone kick any worker off by reusing its id).
      const holder = (client as unknown as { broker: { clients: Record<string, Client | undefined> } }).broker.clients[client.id]
      const holderUser = userOf(holder ? this.principals.get(holder) : undefined)
      if (holder && holder !== client && holderUser !== username) {
        this.counters.inc('client_id_taken')
        logger.warn({ client: client.id, user: username, holder: holderUser }, 'client id held by another user')
        return IDENTIFIER_REJECTED
      }
    }
    const will = this.wills.get(client)
    this.wills.delete(client)
    if (will) {
      const decision = authorizePublish(acl, who, will.topic, will.retain ?? false, will.payload)
      if (!decision.ok) {
        this.counters.inc('will_denied')
        logger.warn({ client: client.id, user: userOf(who), topic: will.topic, reason: decision.reason }, 'will denied; refusing the connection')
        return NOT_AUTHORIZED
      }
    }
    const worker = who.kind === 'user' ? who.role === 'worker' : will !== undefined && parseTopic(acl.namespace, will.topic)?.kind === 'nodeState'
    if (worker && this.options.workers && !this.options.workers.admit(client)) {
      this.counters.inc('worker_limit')
      logger.warn({ client: client.id, user: userOf(who), max: this.options.workers.maxWorkers }, 'connection refused: --max-workers reached')
      return SERVER_UNAVAILABLE
    }
    this.principals.set(client, who)
    return 0
  }

  /** A connection not yet counted as a worker becomes one with its first node state (a birth). */
  private admitBirth(client: Client, topic: string): boolean {
    const budget = this.options.workers
    if (!budget || budget.isWorker(client) || parseTopic(this.options.acl.namespace, topic)?.kind !== 'nodeState') return true
    if (budget.admit(client)) return true
    this.counters.inc('worker_limit')
    this.options.logger.warn({ client: client.id, topic, max: budget.maxWorkers }, 'birth refused: --max-workers reached; closing the connection')
    return false
  }
}

function userOf(who: Principal | undefined): string | null {
  return who?.kind === 'user' ? who.username : null
}

function remoteOf(client: Client): string | undefined {
  const conn = client.conn as { remoteAddress?: string }
  return conn.remoteAddress
}
