import { spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { requireBinary } from '../helpers/binaries.js'
import { ROOT } from '../helpers/processes.js'

/**
 * examples/systemd (docs/deploy.md) as systemd reads them. `systemd-analyze verify` needs no
 * running systemd, only the unit and the programs it starts: the units name
 * /usr/local/bin/edgerun (where `npm install -g` puts it), which is this checkout's bin/run.js here.
 * systemd-analyze comes with Debian's `systemd`, which `npm test` installs; without it this fails.
 */
const UNITS_DIR = join(ROOT, 'examples', 'systemd')
const INSTALLED_BIN = '/usr/local/bin/edgerun'

function staged(unit: string, edit: (text: string) => string = (text) => text): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgerun-units-'))
  const text = readFileSync(join(UNITS_DIR, unit), 'utf8')
  expect(text, `${unit} starts ${INSTALLED_BIN}`).toContain(`ExecStart=${INSTALLED_BIN} `)
  writeFileSync(join(dir, unit), edit(text.replaceAll(INSTALLED_BIN, join(ROOT, 'bin', 'run.js'))))
  return dir
}

function analyze(args: string[]): { status: number | null; output: string } {
  const run = spawnSync(requireBinary('systemd-analyze'), args, { encoding: 'utf8', timeout: 30_000 })
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() }
}

/** The unit to verify: a template is verified through one instance of it. */
const cases = [
  { unit: 'edgerun-broker.service', instance: 'edgerun-broker.service', maxExposure: 2.0 },
  { unit: 'edgerun-worker@.service', instance: 'edgerun-worker@w1.service', maxExposure: 4.0 },
]

describe('the systemd units in examples/systemd', () => {
  it.each(cases)('$unit passes systemd-analyze verify with nothing to say', ({ unit, instance }) => {
    const dir = staged(unit)
    expect(analyze(['verify', join(dir, instance)])).toEqual({ status: 0, output: '' })
  })

  it.each(cases)('$unit keeps its hardening (systemd-analyze security exposure ≤ $maxExposure)', ({ unit, instance, maxExposure }) => {
    const dir = staged(unit)
    const { output } = analyze(['security', '--offline=true', join(dir, instance)])
    const level = /Overall exposure level for \S+: ([\d.]+)/.exec(output)
    expect(level, output).not.toBeNull()
    expect(Number(level![1])).toBeLessThanOrEqual(maxExposure)
  })

  it('the worker allows the namespaces the judge sandbox unshares, and nothing forbids its mount and setresuid', () => {
    const text = readFileSync(join(UNITS_DIR, 'edgerun-worker@.service'), 'utf8')
    const allowed = /^RestrictNamespaces=(.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? []
    expect(allowed.sort()).toEqual(['ipc', 'mnt', 'net', 'pid', 'user'])
    for (const line of text.split('\n').filter((l) => !l.startsWith('#'))) {
      expect(line).not.toMatch(/^(SystemCallFilter|PrivateUsers|ProtectProc|ProcSubset|MemoryDenyWriteExecute)=/)
    }
    expect(text).toMatch(/^NoNewPrivileges=yes$/m)
  })

  it('the judge keeps every namespace of its sandbox as the worker unit runs it', (ctx) => {
    // What DynamicUser=, NoNewPrivileges=yes and an empty CapabilityBoundingSet= leave the
    // worker: an unprivileged uid that cannot gain privileges. systemd itself is not running
    // here, so setpriv makes that process; the sandbox must still get all its namespaces.
    ctx.skip(process.getuid?.() !== 0, 'switching to an unprivileged uid needs root')
    const cache = mkdtempSync(join(tmpdir(), 'edgerun-unit-cache-'))
    chownSync(cache, 65534, 65534)
    const probe = [
      `const { sandboxCapabilities } = await import(${JSON.stringify(join(ROOT, 'dist/src/judge/sandbox/probe.js'))})`,
      'const c = sandboxCapabilities()',
      'console.log(JSON.stringify({ mode: c.mode, netns: c.netns, pidns: c.pidns, ipcns: c.ipcns, mountns: c.mountns, unusable: c.unusable ?? null }))',
    ].join('\n')
    const run = spawnSync(
      requireBinary('setpriv'),
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', process.execPath, '--input-type=module', '-e', probe],
      { encoding: 'utf8', timeout: 60_000, cwd: cache, env: { PATH: process.env.PATH, HOME: cache, XDG_CACHE_HOME: cache } },
    )
    expect(run.status, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ mode: 'userns', netns: true, pidns: true, ipcns: true, mountns: true, unusable: null })
  })

  it('verify is not blind: a misspelt key is reported', () => {
    const dir = staged('edgerun-broker.service', (text) => text.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'))
    expect(analyze(['verify', join(dir, 'edgerun-broker.service')]).output).toContain("Unknown key 'NoNewPrivilege'")
  })
})
