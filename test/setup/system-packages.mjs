#!/usr/bin/env node
/**
 * The Debian packages the test suite runs, in one list that `npm test` (its pretest) and `.ci/run`
 * both use. Each package is known by the executables that prove it is installed, so a machine that
 * got mosquitto another way is fine too.
 *
 *   node test/setup/system-packages.mjs           install what is missing (root and apt-get), or stop
 *   node test/setup/system-packages.mjs --check   only say what is missing
 *
 * It stops with one line naming the command to run when it cannot install: not root, no apt-get,
 * or apt-get failed. Plain Node, no dependencies: `.ci/run` calls it before `npm ci`.
 * EDGERUN_TEST_PACKAGES_EXTRA ("pkg" or "pkg:binary,binary", space-separated) adds packages to the
 * list; it exists to exercise the failure path with a package that cannot be found.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, readdirSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Add a service here (postgresql, chromium, …) and both `npm test` and `.ci/run` install it. */
export const TEST_PACKAGES = [
  { name: 'mosquitto', binaries: ['mosquitto'], usedBy: 'the master on an external broker (test/scale-out/mosquitto.test.ts), standby masters under chaos (test/chaos/failover-chaos.test.ts)' },
  { name: 'mosquitto-clients', binaries: ['mosquitto_pub', 'mosquitto_sub'], usedBy: 'the protocol from plain MQTT clients (test/interop)' },
  { name: 'redis-server', binaries: ['redis-server'], usedBy: 'Aedes clustered over Redis (test/scale-out, its failover included), the BullMQ baseline (bench)' },
  { name: 'openssl', binaries: ['openssl'], usedBy: 'TLS certificates (test/security/tls.test.ts)' },
  { name: 'gcc', binaries: ['gcc'], usedBy: 'the judge: C, and the edgerun-sandbox launcher' },
  { name: 'g++', binaries: ['g++'], usedBy: 'the judge: C++' },
  { name: 'python3', binaries: ['python3'], usedBy: 'the judge: Python' },
  { name: 'util-linux', binaries: ['prlimit', 'setpriv', 'unshare'], usedBy: "the judge's util-linux sandbox chain" },
  { name: 'coreutils', binaries: ['stdbuf'], usedBy: 'line-buffered mosquitto_sub (test/interop)' },
  { name: 'time', binaries: ['time'], usedBy: "GNU time: CPU time in the judge's util-linux sandbox chain" },
  { name: 'bsdutils', binaries: ['script'], usedBy: "a pseudo-terminal for the CLI's terminal output (test/cli/comfort.test.ts)" },
  { name: 'systemd', binaries: ['systemd-analyze'], usedBy: 'systemd-analyze verify of the service units (test/setup/systemd-units.test.ts)' },
  { name: 'chromium', binaries: ['chromium'], usedBy: 'the dashboard in a real browser, driven by playwright-core (test/dashboard/browser.test.ts)' },
  // Debian keeps the server's binaries off PATH, in /usr/lib/postgresql/<version>/bin.
  { name: 'postgresql', binaries: ['initdb', 'postgres'], dirs: postgresBinDirs, usedBy: 'the Postgres job store and standby masters (test/store/postgres-store.test.ts, test/failover, test/chaos/failover-chaos.test.ts, test/helpers/postgres.ts)' },
]

/** Debian's /usr/lib/postgresql/<version>/bin directories, the newest version first. */
export function postgresBinDirs(root = '/usr/lib/postgresql') {
  let versions
  try {
    versions = readdirSync(root)
  } catch {
    return []
  }
  return versions
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
}

/** Debian keeps daemons in /usr/sbin, which a non-root PATH often lacks. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

export function searchDirs(pathEnv = process.env.PATH ?? '') {
  return [...new Set([...pathEnv.split(delimiter).filter(Boolean), ...SYSTEM_DIRS])]
}

/**
 * The absolute path of an executable file named `name` in `dirs`, or undefined. Looking at the
 * file rather than spawning it: a spawn's failure (ENOENT, a usage exit code) says too little.
 */
export function findBinary(name, dirs = searchDirs()) {
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** "pkg pkg2:bin,bin2" → package entries; a package without binaries is known by its own name. */
export function parseExtra(value = '') {
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((item) => {
      const [name, binaries] = item.split(':')
      return { name, binaries: binaries ? binaries.split(',').filter(Boolean) : [name], usedBy: 'EDGERUN_TEST_PACKAGES_EXTRA' }
    })
}

export function packageList(env = process.env) {
  return [...TEST_PACKAGES, ...parseExtra(env.EDGERUN_TEST_PACKAGES_EXTRA)]
}

/** A package's binaries are looked for in `dirs`, plus the package's own `dirs()` where it has them. */
export function missingPackages(packages, dirs = searchDirs()) {
  return packages.filter((pkg) => {
    const where = pkg.dirs ? [...dirs, ...pkg.dirs()] : dirs
    return pkg.binaries.some((binary) => findBinary(binary, where) === undefined)
  })
}

/** The package that provides `binary`, for a test's "install it" message. */
export function packageFor(binary) {
  return TEST_PACKAGES.find((pkg) => pkg.binaries.includes(binary))?.name
}

/** The one line a person reads when the packages are not there. */
export function neededLine(names, why, command) {
  return `npm test needs ${names.join(', ')}${why ? ` (${why})` : ''}: run  ${command}`
}

export function installCommand(names, asRoot) {
  return `${asRoot ? '' : 'sudo '}apt-get install -y ${names.join(' ')}`
}

/**
 * Installs what is missing, or says in one line why it cannot. `system` is the machine as seen
 * from here, injectable so the decisions can be tested without one: {dirs, isRoot, aptGet, run}.
 * Returns {ok: true, installed} or {ok: false, line}.
 */
export function ensurePackages(packages, system) {
  const missing = missingPackages(packages, system.dirs)
  if (missing.length === 0) return { ok: true, installed: [] }
  const names = missing.map((pkg) => pkg.name)
  if (!system.isRoot) return { ok: false, line: neededLine(names, '', installCommand(names, false)) }
  if (!system.aptGet) {
    const line = `npm test needs ${names.join(', ')}: no apt-get here; install them with this machine's package manager (on Debian:  ${installCommand(names, true)})`
    return { ok: false, line }
  }
  system.log(`npm test: installing ${names.join(' ')} (apt-get)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  // Only now, with something to install: a fresh image has no package lists at all.
  const update = system.run(system.aptGet, ['update', '-qq'], env)
  if (update !== 0) return { ok: false, line: neededLine(names, `apt-get update failed with exit ${update}`, `apt-get update && ${installCommand(names, true)}`) }
  const install = system.run(system.aptGet, ['install', '-y', '-qq', '--no-install-recommends', ...names], env)
  if (install !== 0) return { ok: false, line: neededLine(names, `apt-get install failed with exit ${install}`, installCommand(names, true)) }
  const still = missingPackages(missing, system.dirs)
  if (still.length > 0) {
    const binaries = still.flatMap((pkg) => pkg.binaries.filter((binary) => findBinary(binary, pkg.dirs ? [...system.dirs, ...pkg.dirs()] : system.dirs) === undefined))
    return { ok: false, line: neededLine(still.map((pkg) => pkg.name), `installed, yet ${binaries.join(', ')} not found`, installCommand(still.map((pkg) => pkg.name), true)) }
  }
  return { ok: true, installed: names }
}

function realSystem() {
  return {
    dirs: searchDirs(),
    isRoot: process.getuid?.() === 0,
    aptGet: findBinary('apt-get'),
    run: (file, args, env) => spawnSync(file, args, { stdio: 'inherit', env }).status ?? 1,
    log: (line) => process.stdout.write(`${line}\n`),
  }
}

function main(argv) {
  const packages = packageList()
  if (argv.includes('--check')) {
    const missing = missingPackages(packages).map((pkg) => pkg.name)
    if (missing.length === 0) return 0
    process.stderr.write(`${neededLine(missing, '', installCommand(missing, process.getuid?.() === 0))}\n`)
    return 1
  }
  const outcome = ensurePackages(packages, realSystem())
  if (!outcome.ok) {
    process.stderr.write(`${outcome.line}\n`)
    return 1
  }
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2))
