import { ERROR_CODES, type ErrorCode } from './codes.js'

/** Every failure edgerun reports on purpose is one of these: a stable code plus a human line. */
export class EdgerunError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EdgerunError'
    this.code = code
    this.details = options?.details
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) }
  }
}

export function isEdgerunError(error: unknown): error is EdgerunError {
  return error instanceof EdgerunError
}
