import { readFileSync } from 'node:fs'
import { Flags } from '@oclif/core'
import { DEFAULT_NAMESPACE } from '../protocol/index.js'
import { DEFAULT_URL } from '../worker/options.js'

/** Every client command takes these (README, "Commands"). */
export const connectionFlags = {
  url: Flags.string({ description: 'broker URL (mqtt:// or mqtts://)', env: 'EDGERUN_URL', default: DEFAULT_URL }),
  namespace: Flags.string({ description: 'namespace: several clusters can share one broker', env: 'EDGERUN_NAMESPACE', default: DEFAULT_NAMESPACE }),
  username: Flags.string({ description: 'username for an authenticating broker', env: 'EDGERUN_USERNAME' }),
  password: Flags.string({ description: 'password for an authenticating broker', env: 'EDGERUN_PASSWORD' }),
  ca: Flags.string({ description: 'CA certificate (PEM) to trust for mqtts://', env: 'EDGERUN_CA' }),
}

export interface ConnectionFlagValues {
  url: string
  namespace: string
  username?: string
  password?: string
  ca?: string
}

/** Flag values → the options every client-side library takes. */
export function connectionOptions(flags: ConnectionFlagValues) {
  return {
    url: flags.url,
    namespace: flags.namespace,
    ...(flags.username !== undefined ? { username: flags.username } : {}),
    ...(flags.password !== undefined ? { password: flags.password } : {}),
    ...(flags.ca !== undefined ? { ca: readFileSync(flags.ca) } : {}),
  }
}

export const logLevelFlag = Flags.string({
  description: 'log level for the JSON log on stderr',
  env: 'EDGERUN_LOG_LEVEL',
  options: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  default: 'warn',
})

export { DEFAULT_NAMESPACE }
