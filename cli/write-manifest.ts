import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Plugin } from '@oclif/core/config'
import { EdgerunError } from '../src/errors/index.js'
import { envNameOf, NOT_LAYERED, type FlagShape } from './config-layers.js'

/**
 * `npm run build` step after tsc: writes oclif.manifest.json at the package root, the way the
 * `oclif manifest` command does, with @oclif/core's own Plugin (the `oclif` package would bring
 * a large tree of dependencies for this one step). With the manifest, oclif answers `--help`,
 * `--version` and command lookup without importing any command module; without it, it imports
 * all of them, and with them mqtt, aedes, zod and SQLite, on every start.
 *
 * It is generated, not committed: it mirrors dist/commands, which is generated too, and a stale
 * one would describe flags that no longer exist (oclif only checks its version field).
 */
const root = fileURLToPath(new URL('../../', import.meta.url))
const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true })
await plugin.load()
const count = Object.keys(plugin.manifest.commands).length
if (count === 0) throw new EdgerunError('INTERNAL', `no commands found under ${root}: run tsc first`)
// Help reads flags from the manifest: every flag shows the EDGERUN_* variable it reads
// (cli/config-layers.ts), which only the few that declare their own name would show otherwise.
for (const command of Object.values(plugin.manifest.commands)) {
  for (const [name, flag] of Object.entries(command.flags)) {
    if (!NOT_LAYERED.has(name) && flag.env === undefined) flag.env = envNameOf(name, flag as FlagShape)
  }
}
writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest, null, 2)}\n`)
process.stderr.write(`oclif.manifest.json: ${count} commands\n`)
