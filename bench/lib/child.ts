import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROLES_DIR = fileURLToPath(new URL('../roles/', import.meta.url))

export interface RoleProcess<T> {
  child: ChildProcess
  /** Resolves with the JSON the role prints as its last `{"result":…}` line. */
  result: Promise<T>
  ready: Promise<void>
  kill(signal?: NodeJS.Signals): void
}

/** Runs bench/roles/<name>.js in its own process (its own core, as it would be in production). */
export function startRole<T>(name: string, config: unknown): RoleProcess<T> {
  const child = spawn(process.execPath, [...childExecArgv(), `${ROLES_DIR}${name}.js`], {
    env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let buffer = ''
  let resolveReady!: () => void
  const ready = new Promise<void>((resolve) => (resolveReady = resolve))
  const result = new Promise<T>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line === 'ready') resolveReady()
        else if (line.startsWith('{"result"')) resolve(JSON.parse(line).result as T)
      }
    })
    child.on('exit', (code) => reject(new Error(`role ${name} exited with ${code} before a result`)))
  })
  result.catch(() => {})
  return { child, result, ready, kill: (signal = 'SIGKILL') => child.kill(signal) }
}

export function roleConfig<T>(): T {
  return JSON.parse(process.env.BENCH_CONFIG ?? '{}') as T
}

export function report(result: unknown): void {
  process.stdout.write(`${JSON.stringify({ result })}\n`)
}

/** BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p" profiles the child processes too. */
export function childExecArgv(): string[] {
  return process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : []
}
