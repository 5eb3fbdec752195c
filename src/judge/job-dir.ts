/**
 * A job's directory: root-owned, 0711, holding the program (prog/), the worker's private files
 * (priv/) and the tests' boxes (boxes/, a tmpfs in a pooled launcher; the root itself otherwise).
 * It goes when the job ends, before the verdict does: a worker killed right after a verdict
 * leaves nothing of that job behind.
 */
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'

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

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}
