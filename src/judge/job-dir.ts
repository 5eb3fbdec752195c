/**
 * A job's directory: root-owned, 0711, holding the program (prog/), the worker's private files
 * (priv/) and the tests' boxes (boxes/, a tmpfs in a pooled launcher; the root itself otherwise).
 *
 * It goes when the job ends, but the verdict does not wait for it: a recursive delete is a dozen
 * file operations, each a round trip through libuv's thread pool, which on a busy disk held
 * every job's result back by several milliseconds, and the slot's next job with it. So the
 * delete runs after the verdict is out; the job's uid is given back only once it is done (a box
 * of that uid must not outlive its lease), and what is still being deleted when the process
 * exits is deleted then, synchronously. `jobDirsRemoved()` waits for every delete under way.
 */
import { rmSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../logging/logger.js'

const removing = new Map<string, Promise<void>>()
let exitHookSet = false

function removeAtExit(): void {
  for (const root of removing.keys()) rmSync(root, { recursive: true, force: true })
}

/** Resolves once every job directory given up so far is gone (tests; the process exit does it itself). */
export async function jobDirsRemoved(): Promise<void> {
  while (removing.size > 0) await Promise.all(removing.values())
}

export class JobDir {
  readonly priv: string
  readonly prog: string
  /** Where a pooled launcher puts the tests' boxes: a tmpfs of its own over this empty directory. */
  readonly boxes: string
  private count = 0

  private constructor(
    readonly root: string,
    readonly uid: number | undefined,
  ) {
    this.priv = join(root, 'priv')
    this.prog = join(root, 'prog')
    this.boxes = join(root, 'boxes')
  }

  static async create(base: string, uid: number | undefined): Promise<JobDir> {
    const root = await mkdtemp(join(base, 'edgerun-judge-'))
    const dir = new JobDir(root, uid)
    // 0711: the sandbox uid may pass through to its box and the program, but not list or write.
    // (Nothing runs in it yet, so the mode may change while the subdirectories are made.)
    await Promise.all([chmod(root, 0o711), mkdir(dir.priv, { mode: 0o700 }), mkdir(dir.prog, { mode: 0o711 }), mkdir(dir.boxes, { mode: 0o711 })])
    return dir
  }

  /** The path of the next box of a test, not yet made (a pooled launcher makes and deletes it). */
  nextBox(): string {
    return join(this.boxes, `box-${this.count++}`)
  }

  /** A fresh, empty working directory that only the sandbox uid can use. */
  async box(): Promise<string> {
    const box = join(this.root, `box-${this.count++}`)
    await mkdir(box, { mode: 0o700 })
    if (this.uid !== undefined) await chown(box, this.uid, this.uid)
    return box
  }

  /** Deletes the directory in the background, then calls `done` (whether or not the delete worked). */
  discard(done: () => void, logger?: Logger): void {
    if (!exitHookSet) {
      exitHookSet = true
      process.once('exit', removeAtExit)
    }
    const removal = rm(this.root, { recursive: true, force: true })
      .catch((error: unknown) => logger?.warn({ err: error, dir: this.root }, 'could not delete a job directory'))
      .finally(() => {
        removing.delete(this.root)
        done()
      })
    removing.set(this.root, removal)
  }
}
