import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../broker/auth/password.js'
import { BIN, spawnCli, type CliProcess } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'
import { tempDir, writeUsersFile } from './helpers.js'
import { runCli } from '../helpers/run-command.js'

const run = runCli

function runWithStdin(args: string[], stdin: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (out += chunk))
    child.on('exit', (code) => resolve({ code, out }))
    child.stdin.end(stdin)
  })
}

describe('security from the command line', () => {
  const tmp = tempDir('edgerun-cli-sec-')
  afterAll(() => tmp.remove())

  it('edgerun broker --host 0.0.0.0 without --auth or --allow-anonymous refuses to start, in one line', async () => {
    const { stderr, exitCode } = await run(['broker', '--host', '0.0.0.0', '--port', '0', '--memory'])
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr.trim()).toBe('error: refusing to listen on 0.0.0.0 without authentication: add --auth FILE (see `edgerun users add`) or --allow-anonymous')
    expect(exitCode).toBe(2)
  })

  it('--auth with a missing users file, or with --allow-anonymous, is one BAD_FLAG line', async () => {
    const missing = await run(['broker', '--port', '0', '--memory', '--auth', join(tmp.dir, 'nope.json')])
    expect(missing.stderr.trim()).toMatch(/^error: cannot read users file .*nope\.json: no such file/)
    expect(missing.exitCode).toBe(2)
    const file = await writeUsersFile(tmp.dir, { someone: 'client' })
    const both = await run(['broker', '--port', '0', '--memory', '--auth', file, '--allow-anonymous'])
    expect(both.stderr.trim()).toBe('error: --auth and --allow-anonymous contradict each other: with --auth every connection must log in')
    expect(both.exitCode).toBe(2)
  })

  it('users add: --password, or one line on stdin; only an scrypt hash is stored', async () => {
    const file = join(tmp.dir, 'cli-users.json')
    const added = await run(['users', 'add', 'alice', '--role', 'client', '--file', file, '--password', 'flag-secret', '--json'])
    expect(added.exitCode).toBe(0)
    expect(JSON.parse(added.stdout)).toEqual({ name: 'alice', role: 'client', file, created: true })
    const piped = await runWithStdin(['users', 'add', 'w1', '--role', 'worker', '--file', file], 'stdin-secret\n')
    expect(piped).toMatchObject({ code: 0, out: `added user w1 (worker) in ${file}\n` })
    const again = await run(['users', 'add', 'alice', '--role', 'admin', '--file', file, '--password', 'new-secret'])
    expect(again.stdout).toBe(`updated user alice (admin) in ${file}\n`)
    const text = readFileSync(file, 'utf8')
    for (const secret of ['flag-secret', 'stdin-secret', 'new-secret']) expect(text).not.toContain(secret)
    const users = JSON.parse(text).users
    expect(users.alice.role).toBe('admin')
    expect(await verifyPassword('new-secret', users.alice.hash)).toBe(true)
    expect(await verifyPassword('stdin-secret', users.w1.hash)).toBe(true)
    expect(await verifyPassword('stdin-secret\n', users.w1.hash)).toBe(false)
  })

  it('users list shows names and roles only; users remove takes one out', async () => {
    const file = join(tmp.dir, 'list-users.json')
    await run(['users', 'add', 'bob', '--role', 'client', '--file', file, '--password', 'pw-bob'])
    await run(['users', 'add', 'w7', '--role', 'worker', '--file', file, '--password', 'pw-w7'])
    const listed = await run(['users', 'list', '--file', file, '--json'])
    expect(JSON.parse(listed.stdout)).toEqual([{ name: 'bob', role: 'client' }, { name: 'w7', role: 'worker' }])
    expect(listed.stdout).not.toContain('scrypt')
    expect((await run(['users', 'remove', 'bob', '--file', file])).exitCode).toBe(0)
    expect(JSON.parse((await run(['users', 'list', '--file', file, '--json'])).stdout)).toEqual([{ name: 'w7', role: 'worker' }])
    const missing = await run(['users', 'remove', 'bob', '--file', file])
    expect(missing.stderr.trim()).toBe(`error: no user bob in ${file}`)
    expect(missing.exitCode).toBe(1)
  })

  it('users add refuses a bad name, a bad role and an empty password', async () => {
    const file = join(tmp.dir, 'bad.json')
    expect((await run(['users', 'add', 'a/b', '--role', 'client', '--file', file, '--password', 'x'])).exitCode).toBe(2)
    expect((await run(['users', 'add', 'ok', '--role', 'root', '--file', file, '--password', 'x'])).exitCode).toBe(2)
    const empty = await runWithStdin(['users', 'add', 'ok', '--role', 'client', '--file', file], '\n')
    expect(empty.code).toBe(2)
    expect(empty.out).toContain('the password is empty')
  })

  describe('against `edgerun broker --auth`', () => {
    let broker: CliProcess
    let url: string
    let file: string
    afterAll(async () => {
      broker?.kill('SIGTERM')
      await broker?.exited
    })

    it('starts, says it authenticates, and turns a wrong password into one clear line (exit 77)', async () => {
      file = await writeUsersFile(tmp.dir)
      broker = spawnCli(['broker', '--port', '0', '--memory', '--auth', file, '--namespace', 'clisec', '--log-level', 'silent'])
      await waitFor(() => broker.output().includes('listening'), { timeoutMs: 15_000, what: `broker listening: ${broker.output()}` })
      expect(broker.output()).toContain(`users from ${file}`)
      url = /listening on (mqtt:\/\/\S+)/.exec(broker.output())![1]!
      const wrong = await run(['nodes', '--url', url, '--namespace', 'clisec', '--username', 'alice', '--password', 'wrong'])
      expect(wrong.stderr.trim()).toBe(`error: not authorized: check --username/--password (broker ${url})`)
      expect(wrong.exitCode).toBe(77)
      const none = await run(['nodes', '--url', url, '--namespace', 'clisec'])
      expect(none.exitCode).toBe(77)
      const right = await run(['nodes', '--json', '--url', url, '--namespace', 'clisec', '--username', 'alice', '--password', 'alice-pw'])
      expect(right.exitCode).toBe(0)
    })

    it('jobs list shows a client its own jobs only; an admin sees all', async () => {
      const as = (name: string) => ['--url', url, '--namespace', 'clisec', '--username', name, '--password', `${name}-pw`, '--json']
      for (const [name, id] of [['alice', 'cli-a'], ['bob', 'cli-b']] as const) {
        const submitted = await run(['submit', '--noop', '--detach', '--id', id, ...as(name)])
        expect(submitted.exitCode).toBe(0)
      }
      const ids = async (name: string) => (JSON.parse((await run(['jobs', 'list', ...as(name)])).stdout) as Array<{ id: string }>).map((job) => job.id).sort()
      expect(await ids('alice')).toEqual(['cli-a'])
      expect(await ids('bob')).toEqual(['cli-b'])
      expect(await ids('root')).toEqual(['cli-a', 'cli-b'])
      const cancel = await run(['jobs', 'cancel', 'cli-b', ...as('alice')])
      expect(cancel.exitCode).toBe(1)
      expect(JSON.parse(cancel.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } })
    })
  })
})
