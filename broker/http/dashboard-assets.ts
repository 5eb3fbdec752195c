import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where the built dashboard lives: dist/dashboard of this package, when it has been built.
 * Found from the package root, so it is the same directory whether this runs from dist/ or,
 * in tests, from the sources.
 */
export function dashboardAssetsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
  const assets = join(dir, 'dist', 'dashboard')
  return existsSync(join(assets, 'index.html')) ? assets : undefined
}
