import { pino, type Logger } from 'pino'

export type { Logger }

/** Libraries take a logger; when none is given they stay silent rather than print. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? process.env.EDGERUN_LOG_LEVEL ?? 'info', name: options.name }, pino.destination(2))
}
