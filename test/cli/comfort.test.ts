import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { commandLogger } from '../../cli/logger.js'
import { testProgressBar } from '../../cli/job-progress.js'
import type { JobReply } from '../../src/protocol/index.js'
import { requireBinary } from '../helpers/binaries.js'
import { TestCluster } from '../helpers/cluster.js'
import { BIN, ROOT } from '../helpers/processes.js'
import { runCli } from '../helpers/run-command.js'

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { examples?: string[] }> }

/** Runs `command` in a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function inTerminal(command: string, env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const run = spawnSync(requireBinary('script'), ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT, env: { ...process.env, ...env } })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

/** The same without blocking this process, whose event loop runs the test's broker. */
function inTerminalAsync(command: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(requireBinary('script'), ['-qec', command, '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += String(chunk)))
    child.stderr.on('data', (chunk) => (output += String(chunk)))
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, output })
    })
  })
}

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')

describe('help', () => {
  it.each(Object.keys(manifest.commands))('edgerun %s --help shows an example', async (id) => {
    expect(manifest.commands[id]!.examples?.length ?? 0, `${id} has no examples`).toBeGreaterThan(0)
    const help = await runCli([...id.split(':'), '--help'])
    expect(help.stdout).toMatch(/\nEXAMPLES\n {2}\$ edgerun /)
  })
})

describe('shell completion', () => {
  it('edgerun autocomplete builds completions that know the commands and their flags', () => {
    const cache = mkdtempSync(join(tmpdir(), 'edgerun-ac-'))
    const env = { ...process.env, XDG_CACHE_HOME: cache, HOME: cache }
    const refresh = spawnSync(process.execPath, [BIN, 'autocomplete', '--refresh-cache'], { encoding: 'utf8', env, timeout: 60_000 })
    expect(refresh.status, refresh.stderr).toBe(0)
    const dir = join(cache, 'edgerun', 'autocomplete')
    const files = readdirSync(dir, { recursive: true }) as string[]
    const bash = files.find((file) => file.endsWith('functions/bash/edgerun.bash')) ?? files.find((file) => /bash/.test(file) && file.endsWith('.bash'))
    expect(bash, files.join(', ')).toBeDefined()
    const script = readFileSync(join(dir, bash!), 'utf8')
    expect(script).toContain('worker')
    expect(script).toContain('--slots')
    expect(script).toContain('config:show')
    const setup = spawnSync(process.execPath, [BIN, 'autocomplete', 'script', 'bash'], { encoding: 'utf8', env, timeout: 30_000 })
    expect(setup.stdout).toContain('EDGERUN_AC_BASH_SETUP_PATH')
  })
})

describe('logs', () => {
  function sink() {
    let text = ''
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk)
        done()
      },
    })
    return { stream, text: () => text }
  }

  it('are JSON lines off a terminal and readable lines on one', async () => {
    const json = sink()
    const off = await commandLogger({ level: 'info', name: 'edgerun-test', tty: false, destination: json.stream })
    off.info({ node: 'w1' }, 'worker online')
    expect(JSON.parse(json.text())).toMatchObject({ level: 30, name: 'edgerun-test', node: 'w1', msg: 'worker online' })
    const pretty = sink()
    const on = await commandLogger({ level: 'info', name: 'edgerun-test', tty: true, destination: pretty.stream })
    on.info({ node: 'w1' }, 'worker online')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const line = plain(pretty.text())
    expect(line).toMatch(/INFO.*\(edgerun-test\).*worker online/)
    expect(() => JSON.parse(line)).toThrow()
  })

  it('at a terminal the logger of the commands writes readable lines without being told, and JSON through a pipe', () => {
    const script = [
      `const { commandLogger } = await import(${JSON.stringify(join(ROOT, 'dist/cli/logger.js'))})`,
      "const logger = await commandLogger({ level: 'info', name: 'edgerun-worker' })",
      "logger.info({ node: 'w1' }, 'worker online')",
    ].join('\n')
    const file = join(mkdtempSync(join(tmpdir(), 'edgerun-log-')), 'log.mjs')
    writeFileSync(file, script)
    const command = `${process.execPath} ${file}`
    const terminal = plain(inTerminal(command).output)
    expect(terminal).toMatch(/INFO \(edgerun-worker\): worker online/)
    expect(terminal).not.toContain('"msg":')
    const piped = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 })
    expect(JSON.parse(piped.stderr)).toMatchObject({ name: 'edgerun-worker', node: 'w1', msg: 'worker online' })
  })
})

describe('a single judge job at a terminal', () => {
  it('draws one bar over its tests, redrawn in place', () => {
    let out = ''
    const progress = testProgressBar((text) => (out += text))
    const events: JobReply[] = [
      { v: 1, type: 'accepted', jobId: 'j', state: 'queued', duplicate: false } as JobReply,
      { v: 1, type: 'progress', jobId: 'j', state: 'running', node: 'w1', attempt: 1 } as JobReply,
      ...[0, 1, 2].map((index) => ({ v: 1, type: 'progress', jobId: 'j', state: 'test', attempt: 1, detail: { index, total: 3, verdict: 'AC', timeMs: 4 } }) as JobReply),
    ]
    for (const event of events) progress.update(event)
    progress.end()
    expect(out.split('\r').filter(Boolean).at(-1)).toBe(`[${'#'.repeat(30)}] 3/3 tests  running on w1 (attempt 1)  last: AC 4 ms\n`)
    expect(out).toContain('1/3 tests')
    expect(out.split('\n')).toHaveLength(2)
  })

  let cluster: TestCluster | undefined
  afterEach(async () => {
    await cluster?.close()
  })

  it('edgerun submit --judge in a terminal shows the bar, then the result', async () => {
    cluster = await TestCluster.start()
    await cluster.worker({ judge: true })
    const problem = join(ROOT, 'examples', 'problems', 'aplusb')
    const run = await inTerminalAsync(`${process.execPath} ${BIN} submit --judge ${join(problem, 'solutions', 'ac.py')} --problem ${problem} --url ${cluster.url} --namespace ${cluster.namespace}`)
    const text = plain(run.output)
    expect(run.status, text).toBe(0)
    expect(text).toMatch(/\[#{30}\] 3\/3 tests/)
    expect(text).toMatch(/succeeded verdict AC/)
    expect(text).not.toMatch(/: test \d+\/3 AC/) // no line per test
  }, 60_000)
})
