import { readFileSync } from 'node:fs'
import * as Flags from '@oclif/core/flags'
import { parseBrokerUrl } from '../src/net/stream.js'
import { isId } from '../src/protocol/ids.js'
import { clientOptionsSchema } from '../src/client/options.js'
import { schemaDefault } from './schema-default.js'
import { checkedParse, choiceFlag, flagValueError, valueSource } from './checked-flags.js'

const URL_ALLOWED = 'an mqtt:// or mqtts:// URL (mqtt://host:port)'
const ID_ALLOWED = '1-64 chars of [A-Za-z0-9._-]'

/** A broker URL, checked as the connection will read it, so a typo fails before any connect. */
const urlFlag = Flags.custom<string>({
  parse: checkedParse(URL_ALLOWED, async (input, context, flag) => {
    try {
      parseBrokerUrl(input)
    } catch {
      throw flagValueError({ flag: flag.name, value: input, allowed: URL_ALLOWED, ...valueSource(context, flag) })
    }
    return input
  }),
})

/** A namespace or node id: it becomes a topic level, so `/`, `+` and `#` are refused here. */
export const idFlag = Flags.custom<string>({
  parse: checkedParse(ID_ALLOWED, async (input, context, flag) => {
    if (!isId(input)) throw flagValueError({ flag: flag.name, value: input, allowed: ID_ALLOWED, ...valueSource(context, flag) })
    return input
  }),
})

/**
 * `NAME=PATH` (repeatable): a command a worker runs by name, never through a shell. The name is
 * an id (it travels in job specs and births); relative paths resolve against the working dir.
 */
const COMMAND_SPEC_ALLOWED = `NAME=PATH with NAME ${ID_ALLOWED} (e.g. echo=/bin/echo)`
export const commandSpecFlag = Flags.custom<string>({
  multiple: true,
  parse: checkedParse(COMMAND_SPEC_ALLOWED, async (input, context, flag) => {
    const eq = input.indexOf('=')
    if (eq <= 0 || eq === input.length - 1 || !isId(input.slice(0, eq))) {
      throw flagValueError({ flag: flag.name, value: input, allowed: COMMAND_SPEC_ALLOWED, ...valueSource(context, flag) })
    }
    return input
  }),
})

/** A label nodes have and jobs require (repeatable); the pattern of the worker and job schemas. */
const LABEL_ALLOWED = '1-64 chars of [A-Za-z0-9._:=-]'
export const labelFlag = Flags.custom<string>({
  multiple: true,
  parse: checkedParse(LABEL_ALLOWED, async (input, context, flag) => {
    if (!/^[A-Za-z0-9._:=-]{1,64}$/.test(input)) throw flagValueError({ flag: flag.name, value: input, allowed: LABEL_ALLOWED, ...valueSource(context, flag) })
    return input
  }),
})

/** Every client command takes these (README, "Commands"). */
export const connectionFlags = {
  url: urlFlag({ description: 'broker URL (mqtt:// or mqtts://)', env: 'EDGERUN_URL', default: schemaDefault(clientOptionsSchema, 'url') }),
  namespace: idFlag({ description: 'namespace: several clusters can share one broker', env: 'EDGERUN_NAMESPACE', default: schemaDefault(clientOptionsSchema, 'namespace') }),
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
    ...(flags.ca !== undefined ? { ca: readFlagFile('ca', flags.ca) } : {}),
  }
}

/** A file a flag names, or one BAD_FLAG line naming the flag, the path and why it cannot be read. */
export function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw flagValueError({ flag, value: path, allowed: 'a readable file', reason })
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const logLevelFlag = choiceFlag(LOG_LEVELS, { description: 'log level of the log on stderr (readable lines in a terminal, JSON lines otherwise)', env: 'EDGERUN_LOG_LEVEL', default: 'warn' })
