import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestCluster } from '../helpers/cluster.js'
import { spawnWorker, type CliProcess } from '../helpers/processes.js'
import { runCli } from '../helpers/run-command.js'

/**
 * docs/config.md: a flag's value comes from the command line, else its EDGERUN_* variable, else
 * the config file (its command's section over the top level), else the option schema's default.
 */
const dir = mkdtempSync(join(tmpdir(), 'edgerun-config-'))
let n = 0
function file(name: string, text: string): string {
  const path = join(dir, `${n++}-${name}`)
  writeFileSync(path, text)
  return path
}

const saved = { ...process.env }
beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('EDGERUN_')) delete process.env[key]
})
afterEach(() => {
  process.env = { ...saved }
})

async function show(argv: string[]) {
  const out = await runCli(['config', 'show', ...argv, '--json'])
  expect(out.exitCode, out.stdout + out.stderr).toBe(0)
  return JSON.parse(out.stdout) as { command: string; config: string | null; values: Record<string, { value: unknown; from: string; env?: string; file?: string }> }
}

describe('edgerun config show', () => {
  it('merges flags over env over the file over the defaults, and says where each came from', async () => {
    const yaml = file('edgerun.yaml', ['url: mqtt://10.0.0.1:1883', 'slots: 4', 'keepalive: 30', 'label: [gpu, linux]', 'worker:', '  slots: 6', 'broker:', '  port: 1884'].join('\n'))
    process.env.EDGERUN_KEEPALIVE = '20'
    const shown = await show(['worker', '--config', yaml])
    expect(shown.command).toBe('worker')
    expect(shown.config).toBe(yaml)
    expect(shown.values.url).toEqual({ value: 'mqtt://10.0.0.1:1883', from: 'file', file: yaml })
    expect(shown.values.slots).toEqual({ value: 6, from: 'file', file: yaml }) // the worker section wins over the top
    expect(shown.values.keepalive).toEqual({ value: 20, from: 'env', env: 'EDGERUN_KEEPALIVE' })
    expect(shown.values.label).toEqual({ value: ['gpu', 'linux'], from: 'file', file: yaml })
    expect(shown.values['drain-timeout']).toEqual({ value: 30_000, from: 'default' })
    expect(shown.values.id).toEqual({ value: null, from: 'unset' })
    expect(shown.values.port).toBeUndefined()
  })

  it('takes a comma-separated list from the environment for a repeatable flag, and JSON files', async () => {
    const json = file('edgerun.json', JSON.stringify({ label: ['from-file'], namespace: 'ns1' }))
    process.env.EDGERUN_LABEL = 'gpu, linux'
    process.env.EDGERUN_CONFIG = json
    const shown = await show(['worker'])
    expect(shown.values.label).toEqual({ value: ['gpu', 'linux'], from: 'env', env: 'EDGERUN_LABEL' })
    expect(shown.values.namespace).toEqual({ value: 'ns1', from: 'file', file: json })
  })

  it('without a command, lists what the environment and the file set, and which commands take each', async () => {
    const yaml = file('edgerun.yaml', 'url: mqtt://10.0.0.1:1883\nslots: 4\nworker:\n  keepalive: 30\n')
    process.env.EDGERUN_SLOTS = '8'
    const out = await runCli(['config', 'show', '--config', yaml, '--json'])
    const shown = JSON.parse(out.stdout)
    expect(shown.command).toBeNull()
    expect(shown.values.slots).toEqual({ value: '8', from: 'env', env: 'EDGERUN_SLOTS', commands: ['up', 'worker'] })
    expect(shown.values.url).toMatchObject({ value: 'mqtt://10.0.0.1:1883', from: 'file', file: yaml })
    expect(shown.values['worker.keepalive']).toEqual({ value: 30, from: 'file', file: yaml, commands: ['worker'] })
    const bad = await runCli(['config', 'show', '--config', file('bad.yaml', 'worker:\n  slotz: 1\n')])
    expect(bad.stderr).toContain('unknown key "slotz" in section "worker": not a flag of that command (did you mean slots?)')
    expect(bad.exitCode).toBe(78)
  })

  it('a YAML value that reads as a number is the text written, as on the command line (namespace 007, not 7)', async () => {
    const yaml = file('numbers.yaml', ['namespace: 007', 'id: 1e3', 'label: [010, gpu]', 'slots: 4'].join('\n'))
    const shown = await show(['worker', '--config', yaml])
    expect(shown.values.namespace).toMatchObject({ value: '007', from: 'file' })
    expect(shown.values.id).toMatchObject({ value: '1e3', from: 'file' })
    expect(shown.values.label).toMatchObject({ value: ['010', 'gpu'], from: 'file' })
    expect(shown.values.slots).toMatchObject({ value: 4, from: 'file' })
  })

  it('shows a password as set, never its value', async () => {
    process.env.EDGERUN_PASSWORD = 'hunter2'
    const out = await runCli(['config', 'show', 'nodes', '--json'])
    expect(out.stdout).not.toContain('hunter2')
    expect(JSON.parse(out.stdout).values.password).toEqual({ value: '(set)', from: 'env', env: 'EDGERUN_PASSWORD' })
  })

  it('never prints the password a URL holds (mqtt://user:pass@host, redis://:pass@host), nor a secret the file gets wrong', async () => {
    process.env.EDGERUN_URL = 'mqtt://bob:hunter2@10.0.0.1:1883'
    process.env.EDGERUN_REDIS_URL = 'redis://:hunter3@10.0.0.2:6379'
    const outputs = [
      await runCli(['config', 'show', 'nodes']),
      await runCli(['config', 'show', 'broker', '--json']),
      await runCli(['config', 'show']),
      await runCli(['config', 'show', '--json']),
    ]
    for (const out of outputs) {
      expect(out.exitCode, out.stderr).toBe(0)
      expect(out.stdout).not.toMatch(/hunter/)
    }
    expect(JSON.parse(outputs[1]!.stdout).values.redis.value).toBe('redis://:***@10.0.0.2:6379')
    expect(outputs[0]!.stdout).toContain('mqtt://bob:***@10.0.0.1:1883')
    // Refused values are named in the error line, a URL's password and a secret key's value masked.
    process.env.EDGERUN_URL = 'mqtt://bob:hunter2@10.0.0.1:99999'
    const fromEnv = await runCli(['nodes', '--json'])
    expect(fromEnv.stdout + fromEnv.stderr).not.toMatch(/hunter/)
    expect(JSON.parse(fromEnv.stdout).error.message).toContain('--url "mqtt://bob:***@10.0.0.1:99999" (from EDGERUN_URL)')
    delete process.env.EDGERUN_URL
    const yaml = file('secret.yaml', 'password: [hunter4, hunter5]\n')
    const fromFile = await runCli(['nodes', '--config', yaml])
    expect(fromFile.exitCode).toBe(78)
    expect(fromFile.stderr).toContain(`${yaml}: password:`)
    expect(fromFile.stderr).not.toMatch(/hunter/)
  })
})

describe('a flag typed, or set in the environment, wins over a lower layer\'s flag it excludes', () => {
  it('submit --command with noop in the file (or EDGERUN_NOOP) submits the command, not a conflict', async () => {
    const yaml = file('noop.yaml', 'submit:\n  noop: true\n')
    const typed = await runCli(['submit', '--command', 'echo', '--config', yaml, '--url', 'mqtt://127.0.0.1:1'])
    expect(typed.stderr).not.toContain('cannot be used together')
    expect(typed.stderr).toContain('cannot reach the broker')
    process.env.EDGERUN_COMMAND = 'echo'
    const shown = await show(['submit', '--config', yaml])
    expect(shown.values.command).toMatchObject({ value: 'echo', from: 'env' })
    expect(shown.values.noop).toEqual({ value: null, from: 'unset' }) // the file's noop gives way
    process.env.EDGERUN_NOOP = 'true'
    const both = await runCli(['submit', '--judge', 'a.cpp', '--config', yaml, '--url', 'mqtt://127.0.0.1:1'])
    expect(both.stderr).not.toContain('cannot be used together')
  })
})

describe('a bad config file is one line naming the file and the key', () => {
  it.each([
    ['slots: 0', 'slots: 0: must be an integer from 1 to 1024'],
    ['slots: [1, 2]', 'slots: [1,2]: must be one value, not a list'],
    ['judge: maybe', 'judge: "maybe": must be true or false'],
    ['label: [gpu, "a b"]', 'label: "a b": must be 1-64 chars of [A-Za-z0-9._:=-]'],
    ['slot: 3', 'unknown key "slot": no command has that flag (did you mean slots?)'],
    ['worker:\n  port: 1884', 'unknown key "port" in section "worker": not a flag of that command'],
    ['slots: 1\n  x: : :', 'not valid YAML'],
    // A mistyped section that happens to be a flag of another command (demo's --workers).
    ['workers:\n  slots: 4', 'workers: a mapping, but no command is named so (did you mean worker?)'],
  ])('%s', async (text, message) => {
    const path = file('bad.yaml', text)
    const out = await runCli(['worker', '--config', path])
    expect(out.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(out.stderr).toContain(`error: ${path}: ${message}`)
    expect(out.exitCode).toBe(78)
    const json = await runCli(['worker', '--config', path, '--json'])
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'BAD_CONFIG', details: { file: path } })
  })

  it('a file that cannot be read says so', async () => {
    const out = await runCli(['nodes', '--config', join(dir, 'missing.yaml')])
    expect(out.stderr).toBe(`error: ${join(dir, 'missing.yaml')}: cannot read the config file: no such file\n`)
    expect(out.exitCode).toBe(78)
  })

  it('a bad value from the environment names the variable (BAD_FLAG, as before)', async () => {
    process.env.EDGERUN_SLOTS = '0'
    const out = await runCli(['worker'])
    expect(out.stderr).toBe('error: --slots 0 (from EDGERUN_SLOTS): must be an integer from 1 to 1024\n')
    expect(out.exitCode).toBe(2)
  })
})

describe('a command runs with the values of its config file', () => {
  let cluster: TestCluster | undefined
  afterEach(async () => {
    await cluster?.close()
  })

  it('jobs list reaches the broker and namespace the file names, and a flag still wins', async () => {
    cluster = await TestCluster.start()
    const client = await cluster.client()
    await client.submit({ id: 'from-config-1', kind: 'noop' }, { detach: true })
    await client.submit({ id: 'from-config-2', kind: 'noop' }, { detach: true })
    const path = file('client.yaml', `url: ${cluster.url}\nnamespace: ${cluster.namespace}\njobs list:\n  limit: 5\n`)
    const listed = await runCli(['jobs', 'list', '--config', path, '--json'])
    expect(JSON.parse(listed.stdout).map((job: { id: string }) => job.id).sort()).toEqual(['from-config-1', 'from-config-2'])
    const one = await runCli(['jobs', 'list', '--config', path, '--limit', '1', '--json'])
    expect(JSON.parse(one.stdout)).toHaveLength(1)
    process.env.EDGERUN_LIMIT = '1'
    expect(JSON.parse((await runCli(['jobs', 'list', '--config', path, '--json'])).stdout)).toHaveLength(1) // env over file
    expect(JSON.parse((await runCli(['jobs', 'list', '--config', path, '--limit', '2', '--json'])).stdout)).toHaveLength(2) // flag over env
  }, 30_000)
})

describe('a URL\'s password stays out of what a command prints', () => {
  let cluster: TestCluster | undefined
  let worker: CliProcess | undefined
  afterEach(async () => {
    worker?.kill()
    await cluster?.close()
  })

  it('edgerun worker says where it is online without the password of its --url', async () => {
    cluster = await TestCluster.start()
    const url = cluster.url.replace('mqtt://', 'mqtt://bob:hunter2@')
    worker = await spawnWorker(url, cluster.namespace, 'masked')
    expect(worker.output()).toContain('online on mqtt://bob:***@')
    expect(worker.output()).not.toContain('hunter2')
  }, 30_000)
})
