import net from 'node:net'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBroker } from '../../broker/broker.js'
import { Metrics } from '../../broker/http/metrics.js'
import { startHttp } from '../../broker/http/server.js'
import { silentLogger } from '../../src/logging/logger.js'
import { TestCluster, uniqueNamespace } from '../helpers/cluster.js'
import { freePort } from '../helpers/ports.js'
import { spawnCli } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { passwordOf, tempDir, writeUsersFile } from '../security/helpers.js'
import { get, has, parseMetrics } from './scrape.js'

function listenOn(host: string): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, host, () => resolve(server))
  })
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port

describe('the HTTP listener (docs/metrics.md, "The HTTP listener")', () => {
  const tmp = tempDir('edgerun-http-')
  let usersFile: string
  let cluster: TestCluster | undefined
  beforeAll(async () => {
    usersFile = await writeUsersFile(tmp.dir)
  })
  afterAll(() => tmp.remove())
  afterEach(async () => {
    await cluster?.close()
    cluster = undefined
  })

  it('/healthz says the process is up; /readyz says the master is active, and stops saying so when it closes', async () => {
    cluster = await TestCluster.start({ http: { port: 0 } })
    const url = cluster.broker.http!.url
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, text: 'ok\n' })
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, text: 'ready\n' })
    await cluster.broker.master.close()
    expect((await get(`${url}/readyz`)).status).toBe(503)
    expect((await get(`${url}/healthz`)).status).toBe(200)
    expect((await get(`${url}/nope`)).status).toBe(404)
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405)
  })

  it('an HTTP port in use is one line naming --http-port, and the broker lets go of its MQTT port', async () => {
    const taken = await listenOn('127.0.0.1')
    try {
      const port = portOf(taken)
      const mqttPort = await freePort()
      await expect(startBroker({ port: mqttPort, store: 'memory', http: { port } })).rejects.toMatchObject({ code: 'PORT_IN_USE', message: expect.stringContaining('--http-port') })
      // Nothing is left listening: the MQTT port is free again.
      const again = await startBroker({ port: mqttPort, store: 'memory' })
      await again.close()
      const broker = spawnCli(['broker', '--memory', '--port', '0', '--http-port', String(port), '--namespace', uniqueNamespace()])
      expect(await broker.exited).toBe(69)
      const lines = broker.output().trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`HTTP port ${port} on 127.0.0.1 is in use: use --http-port`)
    } finally {
      taken.close()
    }
  }, 30_000)

  it('off loopback: /metrics and /readyz need HTTP basic credentials of the users file, /healthz does not', async () => {
    cluster = await TestCluster.start({ authFile: usersFile, http: { port: 0, host: '0.0.0.0' } })
    const url = `http://127.0.0.1:${cluster.broker.http!.port}`
    for (const path of ['/metrics', '/readyz']) {
      const without = await get(`${url}${path}`)
      expect(without.status).toBe(401)
      expect(without.headers.get('www-authenticate')).toMatch(/^Basic /)
      expect((await get(`${url}${path}`, { username: 'alice', password: 'wrong' })).status).toBe(401)
      expect((await get(`${url}${path}`, { username: 'mallory', password: 'x' })).status).toBe(401)
      expect((await get(`${url}${path}`, { username: 'alice', password: passwordOf('alice') })).status).toBe(200)
    }
    // Twice: the second within the time a verified pair is trusted, without an scrypt.
    const metrics = await get(`${url}/metrics`, { username: 'root', password: passwordOf('root') })
    expect(has(parseMetrics(metrics.text), 'edgerun_jobs')).toBe(true)
    expect((await get(`${url}/metrics`, { username: 'root', password: passwordOf('root') })).status).toBe(200)
    expect((await get(`${url}/healthz`)).status).toBe(200)
  })

  it('on loopback the same broker asks for nothing, but answers only requests to a loopback name', async () => {
    cluster = await TestCluster.start({ authFile: usersFile, http: { port: 0 } })
    expect((await get(`${cluster.broker.http!.url}/metrics`)).status).toBe(200)
    const port = cluster.broker.http!.port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) expect(await rawStatus(port, '/metrics', host), host).toBe(200)
    // A page whose domain was pointed at 127.0.0.1 (DNS rebinding) names its own domain.
    for (const host of [`evil.example:${port}`, 'evil.example', '']) expect(await rawStatus(port, '/metrics', host), host).toBe(403)
    expect(await rawStatus(port, '/healthz', 'evil.example')).toBe(200)
  })

  it('off loopback with neither --auth nor --allow-anonymous it refuses to start', async () => {
    await expect(startBroker({ port: 0, store: 'memory', http: { port: 0, host: '0.0.0.0' } })).rejects.toMatchObject({ code: 'UNSAFE_BIND' })
  })

  it('serves the dashboard\'s files with their types, and nothing outside their directory', async () => {
    const assets = join(tmp.dir, 'assets')
    mkdirSync(join(assets, 'sub'), { recursive: true })
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>edgerun</title>')
    writeFileSync(join(assets, 'app.js'), 'export {}')
    writeFileSync(join(assets, 'style.css'), 'body{}')
    writeFileSync(join(tmp.dir, 'secret.txt'), 'secret')
    const metrics = new Metrics({})
    const http = await startHttp({ host: '127.0.0.1', port: 0, metrics, readiness: () => ({ ready: true, reason: 'ready' }), assetsDir: assets, logger: silentLogger() })
    try {
      const index = await get(`${http.url}/`)
      expect(index).toMatchObject({ status: 200, text: '<!doctype html><title>edgerun</title>' })
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect((await get(`${http.url}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
      expect((await get(`${http.url}/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8')
      expect((await get(`${http.url}/sub`)).status).toBe(404)
      expect((await get(`${http.url}/missing.js`)).status).toBe(404)
      // fetch normalizes `..` away, so the raw request line goes out over a socket.
      for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/sub/../../secret.txt', '/%00', '/..\\secret.txt']) {
        expect(await rawStatus(http.port, path), path).toBe(404)
      }
    } finally {
      await http.close()
      metrics.close()
    }
  })

  it('`edgerun master --http-port 0` serves /metrics, /healthz and /readyz and prints where', async () => {
    cluster = await TestCluster.start()
    const master = spawnCli(['master', '--url', cluster.url, '--namespace', uniqueNamespace('m'), '--memory', '--http-port', '0'])
    try {
      await waitFor(() => /HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(master.output()), { timeoutMs: 15_000, what: `master HTTP: ${master.output()}` })
      const url = /HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(master.output())![1]!
      const samples = parseMetrics((await get(`${url}/metrics`)).text)
      expect(has(samples, 'edgerun_jobs_submitted_total')).toBe(true)
      // Connections are a broker's figure.
      expect(has(samples, 'edgerun_mqtt_connections')).toBe(false)
      expect((await get(`${url}/readyz`)).status).toBe(200)
      expect((await get(`${url}/mqtt`)).status).toBe(404)
    } finally {
      master.kill('SIGTERM')
      await master.exited
    }
  }, 30_000)

  it('`edgerun master` serves no HTTP off loopback without --http-auth', async () => {
    cluster = await TestCluster.start()
    const master = spawnCli(['master', '--url', cluster.url, '--namespace', uniqueNamespace('m'), '--memory', '--http-port', '0', '--http-host', '0.0.0.0'])
    expect(await master.exited).toBe(2)
    expect(master.output()).toContain('--http-auth')
  }, 30_000)
})

/** The status of a GET sent byte for byte, with no URL normalization on the way. */
function rawStatus(port: number, path: string, host = `127.0.0.1:${port}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`))
    let data = ''
    socket.on('data', (chunk) => (data += chunk))
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)))
    socket.on('error', reject)
  })
}
