/**
 * A job's directory: root-owned, 0711, holding the program (prog/), the worker's private files
 * (priv/) and the tests' boxes (boxes/, a tmpfs in a pooled launcher; the root itself otherwise).
 * It goes when the job ends, before the verdict does: a worker killed right after a verdict
 * leaves nothing of that job behind.
 *
 * Making it and deleting it are done synchronously: they sit between one job's last test and the
 * next job's first, while the slot's launcher waits. Done asynchronously they were a dozen
 * thread-pool round trips, each waiting for its turn behind the other slots' replies on the event
 * loop: 4–8 ms per job at a 2-slot worker's full rate, against ~0.7 ms for the same system calls
 * in a row. The other slots lose nothing meanwhile: their launchers hold tests queued ahead.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs'
import { chown, mkdir, rm } from 'node:fs/promises'
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
    const root = mkdtempSync(join(base, 'edgerun-judge-'))
    const dir = new JobDir(root, uid)
    try {
      // 0711: the sandbox uid may pass through to its box and the program, but not list or write.
      chmodSync(root, 0o711)
      mkdirSync(dir.priv, { mode: 0o700 })
      mkdirSync(dir.prog, { mode: 0o711 })
      mkdirSync(dir.boxes, { mode: 0o711 })
    } catch (error) {
      await dir.remove()
      throw error
    }
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
    if (this.removeUsual()) return
    await rm(this.root, { recursive: true, force: true })
  }

  /**
   * What a pooled job leaves (the program in prog/, nothing else: its boxes lived on the
   * launcher's tmpfs), in a few system calls; false at the first thing that is not so (a build's
   * box, the files of a launcher process per run…), and the recursive delete does the rest.
   */
  private removeUsual(): boolean {
    try {
      for (const name of readdirSync(this.prog)) unlinkSync(join(this.prog, name))
      rmdirSync(this.prog)
      rmdirSync(this.priv)
      rmdirSync(this.boxes)
      rmdirSync(this.root)
      return true
    } catch {
      return false
    }
  }
}
