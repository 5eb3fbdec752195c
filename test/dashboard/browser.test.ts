import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { requireBinary } from '../helpers/binaries.js'
import type { BrokerOptionsInput } from '../../broker/options.js'
import { TestCluster } from '../helpers/cluster.js'
import { ROOT, spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { login, tempDir, writeUsersFile } from '../security/helpers.js'

/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core): one more MQTT
 * client over WebSocket, live with no reload. Each step leaves a screenshot in SHOTS.
 */
const ASSETS = join(ROOT, 'dist', 'dashboard')
const SHOTS = mkdtempSync(join(tmpdir(), 'edgerun-dashboard-'))
const SUM = 'a, b = map(int, input().split())\nprint(a + b)\n'
const TESTS = [
  { name: '01', input: '1 2\n', expected: '3\n' },
  { name: '02', input: '40 2\n', expected: '42\n' },
]

describe('the dashboard in a browser', () => {
  let browser: Browser
  let cluster: TestCluster | undefined
  let http: { url: string } | undefined
  const workers: CliProcess[] = []

  beforeAll(async () => {
    // Built by `npm run build` (npm test's pretest); a test that finds nothing to serve must fail, not skip.
    if (!existsSync(join(ASSETS, 'index.html'))) throw new Error(`${ASSETS}/index.html is missing: run  npm run build`)
    browser = await chromium.launch({ executablePath: requireBinary('chromium'), headless: true, args: ['--no-sandbox'] })
    process.stdout.write(`dashboard screenshots: ${SHOTS}\n`)
  })
  afterAll(async () => {
    await browser?.close()
  })
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.kill('SIGKILL')
    await cluster?.close()
    cluster = undefined
    http = undefined
  })

  /** A broker with its HTTP listener on a free port: the page and /mqtt are the broker's own. */
  async function startCluster(options: BrokerOptionsInput = {}): Promise<void> {
    cluster = await TestCluster.start({ ...options, http: { port: 0 } })
    const own = cluster.broker.http
    if (!own) throw new Error('the broker started without its HTTP listener')
    http = { url: own.url.replace(/\/$/, '') }
  }

  async function open(ns: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`))
    await page.goto(`${http!.url}/?ns=${ns}`)
    // Set once: a reload would lose it, so finding it later proves the page never reloaded.
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true))
    return page
  }
  const notReloaded = (page: Page) => page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce === true)
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, name), fullPage: true })

  async function workerProcess(ns: string, id: string, extra: string[]): Promise<CliProcess> {
    const worker = spawnCli(['worker', '--url', cluster!.url, '--namespace', ns, '--id', id, '--slots', '2', '--log-level', 'silent', ...extra])
    workers.push(worker)
    await waitFor(() => worker.output().includes('online'), { timeoutMs: 15_000, what: `worker ${id} online; output: ${worker.output()}` })
    return worker
  }

  it('shows both workers, a judge job turning AC, a killed worker offline within 2 s, and cancels from the page', async () => {
    await startCluster()
    const ns = cluster!.namespace
    await workerProcess(ns, 'w1', ['--judge'])
    const w2 = await workerProcess(ns, 'w2', ['--no-judge'])
    const page = await open(ns)

    // 1. Both workers.
    await page.locator('[data-node="w1"][data-state="online"]').waitFor({ timeout: 10_000 })
    await page.locator('[data-node="w2"][data-state="online"]').waitFor({ timeout: 10_000 })
    await expect.poll(() => page.locator('[data-testid="scope"]').textContent()).toBe('every job')
    await shot(page, '1-nodes.png')

    // 2. A judge job appears and turns AC, live (only w1 runs the judge).
    const client = await cluster!.client()
    const result = client.submit({ id: 'judge-1', kind: 'judge', language: 'python3', source: SUM, tests: TESTS })
    await page.locator('[data-job="judge-1"]').waitFor({ timeout: 10_000 })
    await page.locator('[data-job="judge-1"][data-state="succeeded"] [data-field="verdict"]', { hasText: 'AC' }).waitFor({ timeout: 20_000 })
    expect(await result).toMatchObject({ state: 'succeeded', node: 'w1', output: { verdict: 'AC' } })
    expect(await notReloaded(page)).toBe(true)
    await shot(page, '2-judge-ac.png')
    // Its page: spec, attempts on w1, and both tests AC.
    await page.locator('[data-job="judge-1"] a').click()
    await page.locator('[data-testid="tests"] [data-test="02"]', { hasText: 'AC' }).waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-testid="attempts"]').textContent()).toContain('w1')
    expect(await page.locator('[data-testid="spec"]').textContent()).toContain('python3')
    await shot(page, '3-job-page.png')
    await page.goBack()
    await page.locator('[data-testid="nodes"]').waitFor()

    // The job page of a judge job that is still running: each test's verdict arrives as an event.
    const slow = client.submit({ id: 'judge-slow', kind: 'judge', language: 'python3', source: `import time\ntime.sleep(0.5)\n${SUM}`, tests: [...TESTS, { name: '03', input: '2 2\n', expected: '4\n' }] })
    await page.evaluate(() => (location.hash = '#/job/judge-slow'))
    await page.locator('[data-testid="events"] [data-event="result"]', { hasText: 'AC' }).waitFor({ timeout: 30_000 })
    expect(await slow).toMatchObject({ state: 'succeeded', output: { verdict: 'AC' } })
    const events = await page.locator('[data-testid="events"] li').allTextContents()
    const tests = events.filter((text) => text.startsWith('test'))
    // Subscribed a moment after the submit: the first test may have gone by, never all of them.
    expect(tests.length, events.join(' | ')).toBeGreaterThanOrEqual(2)
    expect(events.at(-1), 'the result comes last').toMatch(/^result: succeeded AC/)
    expect(await page.locator('[data-testid="tests"] [data-test="03"]').textContent()).toContain('AC')
    expect(await notReloaded(page)).toBe(true)
    await shot(page, '3b-job-page-live.png')
    await page.evaluate(() => (location.hash = '#/'))
    await page.locator('[data-testid="nodes"]').waitFor()

    // 3. kill -9: the will arrives and the row says offline within 2 s, with no reload.
    const killedAt = Date.now()
    w2.kill('SIGKILL')
    await page.locator('[data-node="w2"][data-state="offline"]').waitFor({ timeout: 2000 })
    const offlineAfterMs = Date.now() - killedAt
    expect(offlineAfterMs).toBeLessThanOrEqual(2000)
    process.stdout.write(`w2 killed with -9: offline on the page after ${offlineAfterMs} ms\n`)
    expect(await notReloaded(page)).toBe(true)
    await shot(page, '4-worker-offline.png')

    // 4. Cancel from the page.
    void client.submit({ id: 'long-1', kind: 'noop', sleepMs: 60_000 }).catch(() => {})
    await page.locator('[data-job="long-1"][data-state="running"]').waitFor({ timeout: 10_000 })
    await page.locator('[data-job="long-1"] [data-action="cancel"]').click()
    await page.locator('[data-job="long-1"][data-state="canceled"]').waitFor({ timeout: 5000 })
    expect((await client.getJob('long-1')).state).toBe('canceled')
    expect(await notReloaded(page)).toBe(true)
    await shot(page, '5-canceled.png')

    // Filters and search ask the master again (jobs.list by kind and id prefix).
    await page.selectOption('select[name="kind"]', 'judge')
    await expect.poll(() => page.locator('[data-job]').count()).toBe(2)
    expect(await page.locator('[data-job="long-1"]').count()).toBe(0)
    await page.selectOption('select[name="kind"]', '')
    await page.fill('input[name="search"]', 'long')
    await page.click('.filters button[type="submit"]')
    await expect.poll(() => page.locator('[data-job]').allTextContents().then((rows) => rows.length)).toBe(1)
    await page.locator('[data-job="long-1"]').waitFor()

    // Drain from the page: w1 takes nothing new.
    await page.locator('[data-node="w1"] [data-action="drain"]').click()
    await page.locator('[data-node="w1"][data-state="draining"]').waitFor({ timeout: 5000 })
    await shot(page, '5b-drained.png')
    await page.close()
  })

  describe('with --auth', () => {
    const tmp = tempDir()
    let usersFile: string
    beforeAll(async () => {
      usersFile = await writeUsersFile(tmp.dir)
    })
    afterAll(() => tmp.remove())

    it('asks for a user name and password, and a client sees only its own jobs, live', async () => {
      await startCluster({ authFile: usersFile })
      await cluster!.worker({ id: 'w1', ...login('w1') })
      const alice = await cluster!.client(login('alice'))
      const bob = await cluster!.client(login('bob'))
      await alice.submit({ id: 'alice-1', kind: 'noop' })
      await bob.submit({ id: 'bob-1', kind: 'noop' })

      const page = await open(cluster!.namespace)
      await page.locator('[data-testid="login"]').waitFor({ timeout: 10_000 })
      await shot(page, '6-login.png')
      await page.fill('input[name="username"]', 'alice')
      await page.fill('input[name="password"]', 'alice-pw')
      await page.click('[data-testid="login"] button[type="submit"]')
      await page.locator('[data-job="alice-1"][data-state="succeeded"]').waitFor({ timeout: 10_000 })
      await expect.poll(() => page.locator('[data-testid="scope"]').textContent()).toBe('your jobs only')
      await page.locator('[data-node="w1"][data-state="online"]').waitFor({ timeout: 10_000 })

      // New jobs of both: alice's shows up live, bob's never does.
      await bob.submit({ id: 'bob-2', kind: 'noop' })
      await alice.submit({ id: 'alice-2', kind: 'noop' })
      await page.locator('[data-job="alice-2"][data-state="succeeded"]').waitFor({ timeout: 10_000 })
      expect(await page.locator('[data-job^="bob-"]').count()).toBe(0)
      expect(await page.locator('[data-job]').count()).toBe(2)
      expect(await notReloaded(page)).toBe(true)
      await shot(page, '7-client-own-jobs.png')
      await page.close()
    })
  })
})
