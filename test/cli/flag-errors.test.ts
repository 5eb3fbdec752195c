import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { allowedOf } from '../../cli/checked-flags.js'
import { ROOT } from '../helpers/processes.js'
import { runCli } from '../helpers/run-command.js'

/**
 * Every bad flag value is one line naming the flag, the value and what is allowed, code BAD_FLAG,
 * exit 2; with --json the same as `{"error": {code, message, details}}`. None of these reach a
 * broker: they fail while the flags are parsed.
 */
interface ValueCase {
  argv: string[]
  flag: string
  value: string
  allowed: string
}

const STATES = 'one of queued, assigned, running, succeeded, failed, timed_out, canceled'

const valueCases: ValueCase[] = [
  { argv: ['jobs', 'list', '--limit', '100000'], flag: 'limit', value: '100000', allowed: 'an integer from 1 to 1000' },
  { argv: ['jobs', '--limit', '0'], flag: 'limit', value: '0', allowed: 'an integer from 1 to 1000' },
  { argv: ['jobs', 'list', '--state', 'bogus'], flag: 'state', value: 'bogus', allowed: STATES },
  { argv: ['submit', '--noop', '--priority', 'abc'], flag: 'priority', value: 'abc', allowed: 'an integer from -1000000 to 1000000' },
  { argv: ['submit', '--noop', '--priority', '1.5'], flag: 'priority', value: '1.5', allowed: 'an integer from -1000000 to 1000000' },
  { argv: ['submit', '--noop', '--timeout', '0'], flag: 'timeout', value: '0', allowed: 'an integer from 1 to 86400000' },
  { argv: ['submit', '--noop', '--attempts', '101'], flag: 'attempts', value: '101', allowed: 'an integer from 1 to 100' },
  { argv: ['submit', '--judge', 'a.rb', '--language', 'ruby'], flag: 'language', value: 'ruby', allowed: 'one of python3, c, cpp, js' },
  { argv: ['submit', '--noop', '--id', 'a/b'], flag: 'id', value: 'a/b', allowed: '1-64 chars of [A-Za-z0-9._-]' },
  { argv: ['worker', '--slots', '0'], flag: 'slots', value: '0', allowed: 'an integer from 1 to 1024' },
  { argv: ['worker', '--command', 'echo'], flag: 'command', value: 'echo', allowed: 'NAME=PATH with NAME 1-64 chars of [A-Za-z0-9._-] (e.g. echo=/bin/echo)' },
  { argv: ['worker', '--log-level', 'loud'], flag: 'log-level', value: 'loud', allowed: 'one of fatal, error, warn, info, debug, trace, silent' },
  { argv: ['broker', '--port', '70000'], flag: 'port', value: '70000', allowed: 'an integer from 0 to 65535' },
  { argv: ['broker', '--ack-timeout', '5'], flag: 'ack-timeout', value: '5', allowed: 'an integer from 10 to 600000' },
  { argv: ['up', '--workers', '65'], flag: 'workers', value: '65', allowed: 'an integer from 0 to 64' },
  { argv: ['nodes', '--url', 'http://broker:1883'], flag: 'url', value: 'http://broker:1883', allowed: 'an mqtt:// or mqtts:// URL (mqtt://host:port)' },
  { argv: ['users', 'add', 'bob', '--file', 'u.json', '--role', 'root'], flag: 'role', value: 'root', allowed: 'one of worker, client, admin' },
  // runCli re-splits its arguments on spaces (as @oclif/test does), so no value here has one.
  { argv: ['worker', '--label', 'gpu', '--label', 'gpu#1'], flag: 'label', value: 'gpu#1', allowed: '1-64 chars of [A-Za-z0-9._:=-]' },
]

describe('a bad flag value names the flag, the value and what is allowed', () => {
  it.each(valueCases)('edgerun $argv', async ({ argv, flag, value, allowed }) => {
    // A value with characters other than these is shown quoted.
    const message = `--${flag} ${/^[\w.,:/@+=-]+$/.test(value) ? value : JSON.stringify(value)}: must be ${allowed}`
    const text = await runCli(argv)
    expect(text.stderr).toBe(`error: ${message}\n`)
    expect(text.stdout).toBe('')
    expect(text.exitCode).toBe(2)
    const json = await runCli([...argv, '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'BAD_FLAG', message, details: { flag, value, allowed } } })
    expect(json.exitCode).toBe(2)
  })

  describe('from the environment', () => {
    const saved = { ...process.env }
    afterEach(() => {
      process.env = { ...saved }
    })

    it('says which variable held the value', async () => {
      process.env.EDGERUN_NAMESPACE = 'a/b'
      const text = await runCli(['jobs', 'list'])
      expect(text.stderr).toBe('error: --namespace a/b (from EDGERUN_NAMESPACE): must be 1-64 chars of [A-Za-z0-9._-]\n')
      expect(text.exitCode).toBe(2)
      process.env.EDGERUN_NAMESPACE = 'ok'
      process.env.EDGERUN_LOG_LEVEL = 'loud'
      const json = await runCli(['worker', '--json'])
      expect(JSON.parse(json.stdout).error).toEqual({
        code: 'BAD_FLAG',
        message: '--log-level loud (from EDGERUN_LOG_LEVEL): must be one of fatal, error, warn, info, debug, trace, silent',
        details: { flag: 'log-level', value: 'loud', allowed: 'one of fatal, error, warn, info, debug, trace, silent', env: 'EDGERUN_LOG_LEVEL' },
      })
    })
  })
})

describe('a file a flag names', () => {
  it('that cannot be read, or is not what the flag takes, says so with the reason', async () => {
    const missing = await runCli(['submit', '--command', 'cat', '--stdin', '/nonexistent/input.txt'])
    expect(missing.stderr).toBe('error: --stdin /nonexistent/input.txt: must be a readable file; no such file\n')
    expect(missing.exitCode).toBe(2)
    const ca = await runCli(['nodes', '--ca', '/nonexistent/ca.pem', '--json'])
    expect(JSON.parse(ca.stdout).error).toEqual({
      code: 'BAD_FLAG',
      message: '--ca /nonexistent/ca.pem: must be a readable file; no such file',
      details: { flag: 'ca', value: '/nonexistent/ca.pem', allowed: 'a readable file', reason: 'no such file' },
    })
    const spec = await runCli(['submit', '--file', `${ROOT}README.md`, '--json'])
    const error = JSON.parse(spec.stdout).error
    expect(error.message).toMatch(new RegExp(`^--file ${ROOT}README\\.md: must be a JSON job spec \\(the fields of a submit message\\); `))
    expect(error.details).toMatchObject({ flag: 'file', value: `${ROOT}README.md` })
    expect(spec.exitCode).toBe(2)
  })
})

describe('oclif parse errors become one BAD_FLAG line', () => {
  const cases: Array<{ argv: string[]; line: string; details?: Record<string, unknown> }> = [
    { argv: ['jobs', 'list', '--limit'], line: '--limit needs a value: an integer from 1 to 1000', details: { flag: 'limit', allowed: 'an integer from 1 to 1000' } },
    { argv: ['jobs', 'list', '--state'], line: `--state needs a value: ${STATES}`, details: { flag: 'state', allowed: STATES } },
    { argv: ['jobs', 'list', '--limit', ''], line: '--limit needs a value: an integer from 1 to 1000', details: { flag: 'limit', allowed: 'an integer from 1 to 1000' } },
    { argv: ['users', 'add', 'bob', '--file', 'u.json'], line: '--role is required: one of worker, client, admin', details: { flag: 'role' } },
    { argv: ['submit', '--noop', '--command', 'echo'], line: '--command and --noop cannot be used together', details: { flag: 'command' } },
    { argv: ['submit', '--sleep', '5'], line: '--sleep needs --noop', details: { flag: 'sleep' } },
    { argv: ['jobs', 'show'], line: 'missing argument ID (job id): edgerun jobs show ID' },
    { argv: ['jobs', 'show', 'a', 'b'], line: 'unexpected argument b: edgerun jobs show ID' },
    { argv: ['users', 'list', '--file', 'u.json', 'extra'], line: 'unexpected argument extra: edgerun users list takes no arguments' },
  ]

  it.each(cases)('edgerun $argv', async ({ argv, line, details }) => {
    const text = await runCli(argv)
    expect(text.stderr).toBe(`error: ${line}\n`)
    expect(text.exitCode).toBe(2)
    const json = await runCli([...argv, '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'BAD_FLAG', message: line, ...(details ? { details } : {}) } })
    expect(json.exitCode).toBe(2)
  })

  it('an unknown flag suggests the nearest one and lists them all', async () => {
    const text = await runCli(['submit', '--noop', '--tiemout', '5'])
    const line = text.stderr.trim()
    expect(line.split('\n')).toHaveLength(1)
    expect(line).toMatch(/^error: --tiemout is not a flag of edgerun submit \(did you mean --timeout\?\); its flags: --url, /)
    expect(line).toContain('--[no-]wait')
    expect(line).toContain('--json')
    expect(text.exitCode).toBe(2)
    const json = await runCli(['jobs', 'list', '--frobnicate', '--json'])
    const error = JSON.parse(json.stdout).error
    expect(error).toMatchObject({ code: 'BAD_FLAG', details: { flag: 'frobnicate' } })
    expect(error.message).toMatch(/^--frobnicate is not a flag of edgerun jobs list; its flags: /)
    expect(error.details.allowed).toContain('--limit')
  })
})

describe('words that name no command', () => {
  it('after a command without subcommands are its arguments, and its parse refuses them', async () => {
    const text = await runCli(['nodes', 'extra'])
    expect(text.stderr).toBe('error: unexpected argument extra: edgerun nodes takes no arguments\n')
    expect(text.exitCode).toBe(2)
    const json = await runCli(['jobs', 'show', 'a', 'b', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'BAD_FLAG', message: 'unexpected argument b: edgerun jobs show ID' } })
  })

  it('elsewhere are one line listing the commands there are', async () => {
    const top = await runCli(['frobnicate'])
    expect(top.stderr).toBe('error: frobnicate is not a command of edgerun; its commands: autocomplete, broker, config, demo, jobs, master, nodes, submit, up, users, worker\n')
    expect(top.exitCode).toBe(2)
    const json = await runCli(['jobs', 'frob', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'BAD_FLAG', message: 'frob is not a command of edgerun jobs; its commands: cancel, follow, list, show', details: { command: 'frob', allowed: 'one of cancel, follow, list, show' } },
    })
    expect(json.exitCode).toBe(2)
  })
})

describe('edgerun help', () => {
  it('shows the help of the command or topic named, and refuses a name that is neither', async () => {
    expect((await runCli(['help'])).stdout).toContain('COMMANDS')
    const list = await runCli(['help', 'jobs', 'list'])
    expect(list.stdout).toContain('$ edgerun jobs list')
    expect(list.stdout).toContain('--limit=<value>')
    expect(list.exitCode).toBe(0)
    const unknown = await runCli(['help', 'frob'])
    expect(unknown.stderr).toBe('error: frob is not a command of edgerun; its commands: autocomplete, broker, config, demo, jobs, master, nodes, submit, up, users, worker\n')
    expect(unknown.exitCode).toBe(2)
  })
})

describe('every checked flag of every command', () => {
  // oclif.manifest.json (written by `npm run build`) lists the commands and their flags.
  const manifest = JSON.parse(readFileSync(`${ROOT}oclif.manifest.json`, 'utf8')) as {
    commands: Record<string, { relativePath: string[]; flags: Record<string, unknown> }>
  }

  it('refuses "a/b" with the same words its help gives', async () => {
    let checked = 0
    for (const [id, entry] of Object.entries(manifest.commands)) {
      // The live command, from the sources: its flags carry their parsers.
      const source = entry.relativePath.join('/').replace(/^dist\//, '../../').replace(/\.js$/, '.ts')
      const { default: command } = (await import(source)) as { default: { flags: Record<string, { parse: (...a: unknown[]) => Promise<unknown> }> } }
      for (const [name, flag] of Object.entries(command.flags)) {
        const allowed = allowedOf(flag)
        if (!allowed) continue
        // Never run a command with a value its flag would take: it would start for real.
        await expect(flag.parse('a/b', { token: {} }, { ...flag, name }), `${id} --${name}`).rejects.toMatchObject({ code: 'BAD_FLAG' })
        const { stderr, exitCode } = await runCli([...id.split(':'), `--${name}`, 'a/b'])
        expect(stderr, `${id} --${name}`).toBe(`error: --${name} a/b: must be ${allowed}\n`)
        expect(exitCode).toBe(2)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(30)
  }, 60_000)
})
