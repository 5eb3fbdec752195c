import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../broker/broker.js'
import { MqttClient } from 'mqtt'
import { EdgerunClient } from '../../src/client/client.js'
import { openStream, parseBrokerUrl } from '../../src/net/stream.js'
import { requireBinary } from '../helpers/binaries.js'
import { TestCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait.js'
import { login, tempDir, writeUsersFile } from './helpers.js'
import { runCli } from '../helpers/run-command.js'

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, made now: no key is committed. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync(requireBinary('openssl'), args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=edgerun test CA')
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n" > ext.cnf'], { cwd: dir })
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf')
  // A second, unrelated key: a certificate with the wrong key must be refused at start.
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key')
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), otherKey: join(dir, 'other.key') }
}

const run = runCli

describe('the TLS listener (mqtts://)', () => {
  const tmp = tempDir('edgerun-tls-')
  let certs: ReturnType<typeof makeCertificates>
  let usersFile: string
  let cluster: TestCluster
  beforeAll(async () => {
    certs = makeCertificates(tmp.dir)
    usersFile = await writeUsersFile(tmp.dir)
  })
  afterAll(() => tmp.remove())
  afterEach(async () => {
    await cluster?.close()
  })

  async function start() {
    cluster = await TestCluster.start({ authFile: usersFile, tlsPort: 0, tlsCert: certs.cert, tlsKey: certs.key })
    expect(cluster.broker.tlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/)
    return cluster.broker.tlsUrl!
  }

  it('workers and clients run jobs over mqtts with --ca, logged in', async () => {
    const url = await start()
    const { readFileSync } = await import('node:fs')
    const ca = readFileSync(certs.ca)
    await cluster.worker({ url, ca, id: 'w1', ...login('w1') })
    const alice = await cluster.client({ url, ca, ...login('alice') })
    await waitFor(async () => (await alice.listNodes()).some((n) => n.id === 'w1' && n.state === 'online'), { what: 'w1 online over TLS' })
    expect(await alice.submit({ kind: 'noop' })).toMatchObject({ type: 'result', state: 'succeeded', node: 'w1' })
  })

  it('a client that does not trust the CA cannot connect, and says why', async () => {
    const url = await start()
    await expect(EdgerunClient.connect({ url, namespace: cluster.namespace, connectTimeoutMs: 1500, ...login('alice') })).rejects.toMatchObject({
      code: 'BROKER_UNREACHABLE',
      message: expect.stringMatching(/certificate/),
    })
  })

  it('the CLI takes --url mqtts://… and --ca FILE', async () => {
    const url = await start()
    const { stdout, exitCode } = await run(['nodes', '--json', '--url', url, '--ca', certs.ca, '--namespace', cluster.namespace, '--username', 'alice', '--password', 'alice-pw'])
    expect(exitCode).toBe(0)
    expect(JSON.parse(stdout)).toEqual([])
  })

  it('a QoS 1 echo over TLS takes milliseconds, not Nagle plus delayed ACK (TCP_NODELAY)', async () => {
    const url = await start()
    const { readFileSync } = await import('node:fs')
    // The client side sets TCP_NODELAY too (src/net/stream.ts), so only the broker's side is measured.
    const client = new MqttClient(() => openStream(parseBrokerUrl(url), { ca: readFileSync(certs.ca) }), { ...login('root'), protocolVersion: 4, reconnectPeriod: 0 })
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject))
    const raw = { client, end: () => client.endAsync(true) }
    try {
      // The broker answers each publish with two writes (PUBACK, then the PUBLISH to us): with
      // Nagle on, the second waits for the ACK of the first, which the peer delays by ~40 ms.
      const topic = `${cluster.namespace}-echo/x`
      await raw.client.subscribeAsync(topic, { qos: 1 })
      const times: number[] = []
      for (let i = 0; i < 31; i++) {
        const started = performance.now()
        const arrived = new Promise<void>((resolve) => raw.client.once('message', () => resolve()))
        raw.client.publish(topic, `x${i}`, { qos: 1 })
        await arrived
        times.push(performance.now() - started)
      }
      times.sort((a, b) => a - b)
      const median = times[15]!
      console.log(`TLS QoS 1 echo median ${median.toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`)
      expect(median).toBeLessThan(20)
    } finally {
      await raw.end()
    }
  })

  it('bad TLS settings are one clear BAD_FLAG line before anything listens', async () => {
    await expect(startBroker({ port: 0, store: 'memory', tlsPort: 0 })).rejects.toMatchObject({ code: 'BAD_FLAG', message: expect.stringContaining('--tls-cert') })
    await expect(startBroker({ port: 0, store: 'memory', tlsPort: 0, tlsCert: join(tmp.dir, 'missing.pem'), tlsKey: certs.key })).rejects.toMatchObject({
      code: 'BAD_FLAG',
      message: expect.stringContaining('missing.pem'),
    })
    await expect(startBroker({ port: 0, store: 'memory', tlsPort: 0, tlsCert: certs.cert, tlsKey: certs.otherKey })).rejects.toMatchObject({ code: 'BAD_FLAG' })
    await expect(startBroker({ port: 0, store: 'memory', tlsCert: certs.cert, tlsKey: certs.key })).rejects.toMatchObject({ code: 'BAD_FLAG', message: expect.stringContaining('--tls-port') })
    // A public TLS listener is remote access too: it needs --auth or --allow-anonymous.
    await expect(startBroker({ port: 0, store: 'memory', tlsPort: 0, tlsHost: '0.0.0.0', tlsCert: certs.cert, tlsKey: certs.key })).rejects.toMatchObject({ code: 'UNSAFE_BIND' })
  })
})
