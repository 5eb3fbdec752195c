/**
 * The one registry of error codes. Protocol rejections (docs/protocol.md §5), the codes of results the
 * master ended itself (§10) and CLI failures share it, so a
 * code means the same on the wire, in `--json` output and in the exit status. docs/errors.md is
 * tested against this table.
 */
export const ERROR_CODES = {
  BAD_MESSAGE: { exit: 2, protocol: true, summary: 'The message is not valid protocol v1 (not JSON, wrong shape, bad field).' },
  UNSUPPORTED_VERSION: { exit: 2, protocol: true, summary: 'The message carries a `v` this master does not speak.' },
  NO_NODE: { exit: 1, protocol: true, summary: 'No node is online and the job was sent with `wait: false`.' },
  UNSUPPORTED: { exit: 1, protocol: true, summary: 'No online node can run this job (kind, command, language or labels) and it was sent with `wait: false`.' },
  QUEUE_FULL: { exit: 1, protocol: true, summary: 'The master, or this client, has as many queued jobs as it allows.' },
  NOT_AUTHORIZED: { exit: 77, protocol: true, summary: 'The broker refused the credentials or the action.' },
  NOT_FOUND: { exit: 1, protocol: true, summary: 'No job with that id.' },
  MAX_ATTEMPTS: { exit: 1, protocol: true, summary: 'The job failed: its worker process died (or stayed silent past the run deadline) maxAttempts times.' },
  MAX_LOST: { exit: 1, protocol: true, summary: 'The job failed: maxLost of its attempts were lost, mostly to dropped or stalled connections.' },
  MAX_REJECTIONS: { exit: 1, protocol: true, summary: 'The job failed: workers refused it more times than the master allows.' },
  REFUSED_EVERYWHERE: { exit: 1, protocol: true, summary: 'The job failed: every online node that claims to run it refused it as unsupported.' },
  BROKER_UNREACHABLE: { exit: 69, protocol: false, summary: 'The broker at --url could not be reached.' },
  CONNECTION_LOST: { exit: 69, protocol: false, summary: 'The connection to the broker dropped before the broker acknowledged a publish.' },
  STORE_UNREACHABLE: { exit: 69, protocol: false, summary: 'The job store at --store (Postgres) could not be reached: at start, or for a read while running.' },
  PORT_IN_USE: { exit: 69, protocol: false, summary: 'The broker could not listen: the port is taken.' },
  BAD_FLAG: { exit: 2, protocol: false, summary: 'A flag or argument is missing or invalid.' },
  BAD_CONFIG: { exit: 78, protocol: false, summary: 'The config file cannot be read, or holds an unknown key or a bad value.' },
  UNSAFE_BIND: { exit: 2, protocol: false, summary: 'The broker would listen beyond loopback with neither --auth nor --allow-anonymous.' },
  DUPLICATE_NODE: { exit: 1, protocol: false, summary: 'Another live worker already holds this node id.' },
  STORE_UNAVAILABLE: { exit: 74, protocol: false, summary: 'The master could not open its job store (data dir, database file or schema).' },
  STORE_WRITE_FAILED: { exit: 74, protocol: false, summary: 'A commit to the job store failed (disk full, I/O error, lock held too long).' },
  STALE_TERM: { exit: 75, protocol: false, summary: 'A master whose lease term is no longer current tried to write: it was deposed, and steps down.' },
  TIMEOUT: { exit: 124, protocol: false, summary: 'An operation did not finish in time.' },
  JOB_FAILED: { exit: 1, protocol: false, summary: 'The job ended failed, timed_out or canceled.' },
  BAD_PROBLEM: { exit: 2, protocol: false, summary: 'A judge problem directory is unreadable or malformed (problem.json, tests/).' },
  SANDBOX_FAILED: { exit: 70, protocol: false, summary: 'The judge\'s sandbox launcher died or answered nonsense; the run is judged IE.' },
  INTERNAL: { exit: 70, protocol: false, summary: 'An unexpected internal error.' },
} as const satisfies Record<string, { exit: number; protocol: boolean; summary: string }>

export type ErrorCode = keyof typeof ERROR_CODES

export function exitCodeOf(code: ErrorCode): number {
  return ERROR_CODES[code].exit
}
