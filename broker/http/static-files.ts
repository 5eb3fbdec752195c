import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * Serves the files under `root` (the built dashboard): `/` is index.html. A path that would
 * leave `root` (`..`, an encoded slash, a NUL) is a 404, like a missing file. Returns false when
 * there is no such file, so the caller answers.
 */
export async function serveStatic(root: string, pathname: string, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  let relative: string
  try {
    relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname)
  } catch {
    return false
  }
  if (relative.includes('\0') || relative.includes('\\')) return false
  const base = resolve(root)
  const file = resolve(join(base, relative))
  if (file !== base && !file.startsWith(base + sep)) return false
  const info = await stat(file).catch(() => undefined)
  if (!info?.isFile()) return false
  response.writeHead(200, {
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    // The page is rebuilt with the package: no stale copy after an upgrade.
    'cache-control': 'no-cache',
  })
  if (request.method === 'HEAD') {
    response.end()
    return true
  }
  createReadStream(file).pipe(response)
  return true
}
