import type { IncomingMessage } from 'node:http'
import { isLoopback } from '../options.js'

/**
 * A listener on loopback answers only requests addressed to a loopback name: a web page whose
 * domain an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name in `Host`.
 */
export function hostAllowed(request: IncomingMessage, listenerHost: string): boolean {
  if (!isLoopback(listenerHost)) return true
  const name = hostnameOf(request.headers.host)
  return name !== undefined && (isLoopback(name) || name === 'localhost')
}

/**
 * A WebSocket from a browser carries the page's `Origin`: only a page served by this listener
 * (the dashboard) may open /mqtt, so that any other site the operator visits cannot use the
 * broker on their behalf. Clients that are not browsers send no Origin.
 */
export function originAllowed(request: IncomingMessage): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return undefined
  }
}
