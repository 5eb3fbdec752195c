import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT } from '../helpers/processes.js'

/**
 * What the CLI loads to start. How fast that is belongs to `npm run bench -- --only startup`;
 * this checks the reason it is fast, which does not depend on the machine: `--version` and
 * `--help` come from oclif.manifest.json and import no command, and a command imports its
 * heavy dependencies only once its flags have parsed.
 */
const HEAVY = ['mqtt', 'aedes', 'pino', 'pino-pretty', 'better-sqlite3', 'zod', 'ioredis', 'p-queue', 'yaml', 'pg', 'prom-client', 'ws']

/** Runs the real CLI with a module hook that reports every module it loads (ESM and CJS). */
function loadedBy(args: string[]): { status: number | null; output: string; modules: string[] } {
  const hooks = `export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context) }`
  // ESM through a loader hook; require() calls inside CommonJS packages through Module._load.
  const setup = [
    `import M, { register } from 'node:module'`,
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}))`,
    `const load = M._load`,
    `M._load = function (request, parent, isMain) { const found = load.apply(this, arguments); try { process.stderr.write('LOADED ' + M._resolveFilename(request, parent, isMain) + '\\n') } catch {} return found }`,
  ].join('\n')
  const child = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(setup)}`, BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  })
  const lines = `${child.stderr}`.split('\n')
  const modules = lines.filter((line) => line.startsWith('LOADED ')).map((line) => line.slice('LOADED '.length))
  const output = `${child.stdout}${lines.filter((line) => !line.startsWith('LOADED ')).join('\n')}`
  return { status: child.status, output, modules }
}

function packagesIn(modules: string[]): Set<string> {
  return new Set(modules.map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1]).filter((p): p is string => !!p))
}

const commandModules = (modules: string[]) => modules.filter((m) => /\/dist\/commands\//.test(m))

describe('start-up', () => {
  it('--version and --help import no command and nothing heavy', () => {
    for (const args of [['--version'], ['--help'], ['submit', '--help']]) {
      const run = loadedBy(args)
      expect(run.status, run.output).toBe(0)
      expect(run.modules.length, 'the hook saw nothing: the test is blind').toBeGreaterThan(10)
      expect(commandModules(run.modules), `edgerun ${args.join(' ')}`).toEqual([])
      const heavy = HEAVY.filter((name) => packagesIn(run.modules).has(name))
      expect(heavy, `edgerun ${args.join(' ')}`).toEqual([])
    }
    expect(loadedBy(['--version']).output).toMatch(/^edgerun\/\d+\.\d+\.\d+ /)
  })

  it('a flag error loads its one command and none of mqtt, aedes, pino or SQLite', () => {
    const run = loadedBy(['jobs', 'list', '--limit', '0'])
    expect(run.status).toBe(2)
    expect(run.output).toContain('--limit 0: must be an integer from 1 to 1000')
    expect(commandModules(run.modules).map((m) => m.replace(/.*\/dist\//, ''))).toEqual(['commands/jobs/list.js'])
    const heavy = ['mqtt', 'aedes', 'pino', 'better-sqlite3', 'yaml'].filter((name) => packagesIn(run.modules).has(name))
    expect(heavy).toEqual([])
  })

  it('oclif.manifest.json (from npm run build) lists every built command with its flags', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      version: string
      commands: Record<string, { relativePath: string[]; flags: Record<string, unknown> }>
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(manifest.version).toBe(pkg.version)
    const dir = join(ROOT, 'dist', 'commands')
    const built = (readdirSync(dir, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.js'))
      .map((file) => file.replace(/\.js$/, '').replace(/\/index$/, '').split('/').join(':'))
      .sort()
    expect(Object.keys(manifest.commands).sort()).toEqual(built)
    for (const [id, entry] of Object.entries(manifest.commands)) {
      const { default: command } = (await import(join(ROOT, ...entry.relativePath))) as { default: { flags: Record<string, unknown>; baseFlags?: Record<string, unknown> } }
      expect(Object.keys(entry.flags).sort(), id).toEqual([...Object.keys({ ...command.baseFlags, ...command.flags }), 'json'].sort())
      expect(relative(ROOT, join(ROOT, ...entry.relativePath))).toMatch(/^dist\/commands\//)
    }
  })
})
