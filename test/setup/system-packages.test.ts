import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import {
  TEST_PACKAGES, ensurePackages, findBinary, missingPackages, packageFor, packageList, parseExtra, postgresBinDirs, searchDirs,
  type SystemView, type TestPackage,
} from './system-packages.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const dirs: string[] = []

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fake bin directory holding `executables`. */
function binDir(...executables: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgerun-bin-'))
  dirs.push(dir)
  for (const name of executables) addExecutable(dir, name)
  return dir
}

function addExecutable(dir: string, name: string): void {
  writeFileSync(join(dir, name), '#!/bin/sh\nexit 3\n')
  chmodSync(join(dir, name), 0o755)
}

const broker: TestPackage = { name: 'mosquitto', binaries: ['mosquitto'], usedBy: 'test' }
const clients: TestPackage = { name: 'mosquitto-clients', binaries: ['mosquitto_pub', 'mosquitto_sub'], usedBy: 'test' }
const redis: TestPackage = { name: 'redis-server', binaries: ['redis-server'], usedBy: 'test' }

/** A machine seen through `dir` only; `apt` stands in for apt-get and may "install" into `dir`. */
function machine(dir: string, options: { isRoot?: boolean; aptGet?: string; apt?: (args: string[]) => number } = {}) {
  const calls: string[][] = []
  const system: SystemView = {
    dirs: [dir],
    isRoot: options.isRoot ?? true,
    aptGet: 'aptGet' in options ? options.aptGet : '/usr/bin/apt-get',
    run: (_file, args) => {
      calls.push(args)
      return options.apt?.(args) ?? 0
    },
    log: () => {},
  }
  return { system, calls }
}

describe('finding a binary', () => {
  it('finds an executable file and only that: absent (ENOENT), a plain file and a directory are not present', () => {
    const dir = binDir('mosquitto')
    writeFileSync(join(dir, 'redis-server'), 'not executable')
    mkdirSync(join(dir, 'mosquitto_pub'))
    expect(findBinary('mosquitto', [dir])).toBe(join(dir, 'mosquitto'))
    expect(findBinary('redis-server', [dir])).toBeUndefined()
    expect(findBinary('mosquitto_pub', [dir])).toBeUndefined()
    expect(findBinary('mosquitto_sub', [dir])).toBeUndefined()
    expect(findBinary('mosquitto', [join(dir, 'no-such-dir')])).toBeUndefined()
  })

  it('takes the first directory that has it', () => {
    const first = binDir('mosquitto')
    const second = binDir('mosquitto')
    expect(findBinary('mosquitto', [binDir(), first, second])).toBe(join(first, 'mosquitto'))
  })

  it('searches PATH, then the system directories a non-root PATH lacks (mosquitto is in /usr/sbin)', () => {
    const dirs = searchDirs('/opt/x/bin:/usr/bin::/home/u/bin')
    expect(dirs.slice(0, 3)).toEqual(['/opt/x/bin', '/usr/bin', '/home/u/bin'])
    expect(dirs).toContain('/usr/sbin')
    expect(dirs.filter((dir) => dir === '/usr/bin')).toHaveLength(1)
  })

  it('calls a package missing when any one of its binaries is', () => {
    const dir = binDir('mosquitto', 'mosquitto_pub')
    expect(missingPackages([broker, clients, redis], [dir]).map((pkg) => pkg.name)).toEqual(['mosquitto-clients', 'redis-server'])
    addExecutable(dir, 'mosquitto_sub')
    addExecutable(dir, 'redis-server')
    expect(missingPackages([broker, clients, redis], [dir])).toEqual([])
  })
})

describe('postgresql, whose binaries are off PATH', () => {
  it('looks in /usr/lib/postgresql/<version>/bin, the newest version first', () => {
    const root = mkdtempSync(join(tmpdir(), 'edgerun-pglib-'))
    dirs.push(root)
    for (const version of ['13', '15', '9.6', 'common']) mkdirSync(join(root, version, 'bin'), { recursive: true })
    expect(postgresBinDirs(root)).toEqual(['15', '13', '9.6'].map((v) => join(root, v, 'bin')))
    expect(postgresBinDirs(join(root, 'nowhere'))).toEqual([])
  })

  it('is missing until a version directory holds initdb and postgres, wherever PATH points', () => {
    const root = mkdtempSync(join(tmpdir(), 'edgerun-pglib-'))
    dirs.push(root)
    const pkg: TestPackage = { name: 'postgresql', binaries: ['initdb', 'postgres'], dirs: () => postgresBinDirs(root), usedBy: 'test' }
    mkdirSync(join(root, '15', 'bin'), { recursive: true })
    addExecutable(join(root, '15', 'bin'), 'initdb')
    expect(missingPackages([pkg], [binDir()])).toEqual([pkg])
    addExecutable(join(root, '15', 'bin'), 'postgres')
    expect(missingPackages([pkg], [binDir()])).toEqual([])
    expect(TEST_PACKAGES.find((p) => p.name === 'postgresql')?.dirs).toBe(postgresBinDirs)
  })
})

describe('installing what is missing', () => {
  it('does nothing, and needs neither root nor apt-get, when everything is there', () => {
    const { system, calls } = machine(binDir('mosquitto', 'redis-server'), { isRoot: false, aptGet: undefined })
    expect(ensurePackages([broker, redis], system)).toEqual({ ok: true, installed: [] })
    expect(calls).toEqual([])
  })

  it('as root with apt-get: updates the lists, then installs only the missing packages', () => {
    const dir = binDir('mosquitto')
    const { system, calls } = machine(dir, {
      apt: (args) => {
        if (args[0] === 'install') for (const name of ['mosquitto_pub', 'mosquitto_sub', 'redis-server']) addExecutable(dir, name)
        return 0
      },
    })
    expect(ensurePackages([broker, clients, redis], system)).toEqual({ ok: true, installed: ['mosquitto-clients', 'redis-server'] })
    expect(calls).toEqual([
      ['update', '-qq'],
      ['install', '-y', '-qq', '--no-install-recommends', 'mosquitto-clients', 'redis-server'],
    ])
  })

  it('not root: one line naming the sudo command, and no apt-get run', () => {
    const { system, calls } = machine(binDir('mosquitto_pub', 'mosquitto_sub'), { isRoot: false })
    const outcome = ensurePackages([broker, clients, redis], system)
    expect(outcome).toEqual({ ok: false, line: 'npm test needs mosquitto, redis-server: run  sudo apt-get install -y mosquitto redis-server' })
    expect(calls).toEqual([])
  })

  it('no apt-get: one line that says so', () => {
    const { system, calls } = machine(binDir(), { aptGet: undefined })
    expect(ensurePackages([redis], system)).toEqual({
      ok: false,
      line: "npm test needs redis-server: no apt-get here; install them with this machine's package manager (on Debian:  apt-get install -y redis-server)",
    })
    expect(calls).toEqual([])
  })

  it('apt-get update fails: stops there, one line', () => {
    const { system, calls } = machine(binDir(), { apt: (args) => (args[0] === 'update' ? 100 : 0) })
    expect(ensurePackages([redis], system)).toEqual({
      ok: false,
      line: 'npm test needs redis-server (apt-get update failed with exit 100): run  apt-get update && apt-get install -y redis-server',
    })
    expect(calls).toHaveLength(1)
  })

  it('apt-get install fails (no such package): one line', () => {
    const { system } = machine(binDir(), { apt: (args) => (args[0] === 'install' ? 100 : 0) })
    expect(ensurePackages([redis], system)).toEqual({
      ok: false,
      line: 'npm test needs redis-server (apt-get install failed with exit 100): run  apt-get install -y redis-server',
    })
  })

  it('installed, yet the binary is still not found: says which', () => {
    const { system } = machine(binDir())
    const outcome = ensurePackages([clients], system)
    expect(outcome).toEqual({
      ok: false,
      line: 'npm test needs mosquitto-clients (installed, yet mosquitto_pub, mosquitto_sub not found): run  apt-get install -y mosquitto-clients',
    })
  })
})

describe('the one list', () => {
  it('EDGERUN_TEST_PACKAGES_EXTRA adds packages, known by their own name or the binaries given', () => {
    expect(parseExtra(' bogus  pg:psql,pg_ctl ')).toEqual([
      { name: 'bogus', binaries: ['bogus'], usedBy: 'EDGERUN_TEST_PACKAGES_EXTRA' },
      { name: 'pg', binaries: ['psql', 'pg_ctl'], usedBy: 'EDGERUN_TEST_PACKAGES_EXTRA' },
    ])
    expect(packageList({})).toEqual(TEST_PACKAGES)
    expect(packageList({ EDGERUN_TEST_PACKAGES_EXTRA: 'bogus' }).at(-1)!.name).toBe('bogus')
  })

  it('holds every binary a test asks for with requireBinary', () => {
    const asked = new Set<string>()
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/requireBinary\('([^']+)'\)/g)) asked.add(match[1]!)
      }
    }
    walk(join(ROOT, 'test'))
    expect([...asked]).toEqual(expect.arrayContaining(['mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'redis-server', 'openssl', 'stdbuf']))
    expect([...asked].filter((binary) => packageFor(binary) === undefined)).toEqual([])
  })

  it('is what both `npm test` (its pretest) and .ci/run install from', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts
    expect(scripts.pretest).toMatch(/^node test\/setup\/system-packages\.mjs && npm run build$/)
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8')
    expect(ci).toContain('node test/setup/system-packages.mjs')
    expect(ci).not.toMatch(/apt-get install/)
  })
})
