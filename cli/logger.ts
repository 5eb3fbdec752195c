import type { Logger } from '../src/logging/logger.js'

/**
 * The log of a command on stderr: readable lines in a terminal (pino-pretty), JSON lines
 * otherwise (a pipe, a file, journald), which is what log collectors read. pino-pretty is loaded
 * only for a terminal.
 */
export async function commandLogger(options: { level: string; name: string; tty?: boolean; destination?: NodeJS.WritableStream }): Promise<Logger> {
  const tty = options.tty ?? process.stderr.isTTY === true
  if (!tty && options.destination === undefined) {
    const { createLogger } = await import('../src/logging/logger.js')
    return createLogger({ level: options.level, name: options.name })
  }
  const { pino } = await import('pino')
  if (!tty) return pino({ level: options.level, name: options.name }, options.destination)
  const { default: pretty } = await import('pino-pretty')
  const stream = pretty({ destination: options.destination ?? 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
  return pino({ level: options.level, name: options.name }, stream)
}
