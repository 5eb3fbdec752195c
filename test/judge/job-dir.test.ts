import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { JobDir } from '../../src/judge/job-dir.js'

describe('JobDir', () => {
  let base: string
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'edgerun-jobdir-test-'))
  })
  afterEach(() => {
    rmSync(base, { recursive: true, force: true })
  })

  it('is made with the modes the sandbox relies on', async () => {
    const dir = await JobDir.create(base, undefined)
    expect(statSync(dir.root).mode & 0o777).toBe(0o711)
    expect(statSync(dir.priv).mode & 0o777).toBe(0o700)
    expect(statSync(dir.prog).mode & 0o777).toBe(0o711)
    expect(statSync(dir.boxes).mode & 0o777).toBe(0o711)
    await dir.remove()
    expect(readdirSync(base)).toEqual([])
  })

  it('goes whole when it holds only the program (the pooled job)', async () => {
    const dir = await JobDir.create(base, undefined)
    writeFileSync(join(dir.prog, 'main'), 'binary')
    await dir.remove()
    expect(readdirSync(base)).toEqual([])
  })

  it('goes whole when it holds more than that (a process per run, a failed build, a left box)', async () => {
    const dir = await JobDir.create(base, undefined)
    writeFileSync(join(dir.prog, 'main'), 'binary')
    mkdirSync(join(dir.prog, 'odd'))
    writeFileSync(join(dir.priv, 'stdin'), '1 2\n')
    const box = await dir.box()
    mkdirSync(join(box, 'a', 'b'), { recursive: true })
    writeFileSync(join(box, 'a', 'b', 'c'), 'left')
    mkdirSync(join(dir.boxes, 'box-9'))
    await dir.remove()
    expect(readdirSync(base)).toEqual([])
  })

  it('may be removed twice', async () => {
    const dir = await JobDir.create(base, undefined)
    await dir.remove()
    await dir.remove()
    expect(existsSync(dir.root)).toBe(false)
  })
})
