/**
 * Finds out, once per process, how much isolation this machine allows. Containers often forbid
 * namespaces, hosts may lack GNU time, a worker may not be root: rather than trusting any of it,
 * each candidate configuration is tried on a real throwaway program and the strongest one that
 * works is kept. Synchronous on purpose: `sandboxInfo()` is synchronous, and this runs once.
 */
import { spawnSync } from 'node:child_process'
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSandboxCommand } from './command.js'
import { sandboxHelper } from './helper.js'
import { findExecutable } from './tools.js'
import { probeUid } from './uid-pool.js'

export interface ReadOnlyMount {
  path: string
  /** Per-mount flags to keep when remounting read-only (a user namespace may not clear them). */
  keepFlags: string[]
}

export interface SandboxCapabilities {
  /** root: namespaces + a dedicated uid; userns: an unprivileged user namespace; none: rlimits only. */
  mode: 'root' | 'userns' | 'none'
  /** helper: the compiled edgerun-sandbox launcher; chain: util-linux tools exec'ing each other. */
  launcher: 'helper' | 'chain'
  netns: boolean
  pidns: boolean
  ipcns: boolean
  mountns: boolean
  dropUser: boolean
  /** CPU time and peak RSS come from wait4 (the helper, or GNU time in the chain), not the wall clock. */
  cpuTime: boolean
  tools: { sh: string; prlimit: string; unshare?: string; setpriv?: string; time?: string; mount?: string; helper?: string }
  readOnlyMounts: ReadOnlyMount[]
  /** Why the judge cannot run at all (neither launcher available, or none worked), if so. */
  unusable?: string
  /** Configurations that were tried and failed, strongest first, for the logs. */
  rejected: string[]
}

/** File systems whose writable parts are root-only or per-process anyway; remounting them is noise. */
const SKIP_FS_TYPES = new Set([
  'proc', 'sysfs', 'devpts', 'devtmpfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'bpf',
  'pstore', 'fusectl', 'configfs', 'binfmt_misc', 'autofs', 'efivarfs', 'hugetlbfs', 'nsfs', 'rpc_pipefs',
])
const KEEP_FLAGS = ['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'relatime']

function decodeMountPath(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
}

/** Every writable mount the program could otherwise write through (/, /tmp, /dev/shm, /home …). */
export function writableMounts(mountinfo: string): ReadOnlyMount[] {
  const seen = new Map<string, ReadOnlyMount>()
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    if (!left || !right) continue
    const fields = left.split(' ')
    const path = decodeMountPath(fields[4] ?? '')
    const flags = (fields[5] ?? '').split(',')
    const fsType = right.split(' ')[0] ?? ''
    if (!path.startsWith('/') || SKIP_FS_TYPES.has(fsType)) continue
    if (path === '/proc' || path.startsWith('/proc/') || path === '/sys' || path.startsWith('/sys/')) continue
    if (!flags.includes('rw')) {
      seen.delete(path) // a later (upper) mount at the same place decides
      continue
    }
    seen.set(path, { path, keepFlags: flags.filter((flag) => KEEP_FLAGS.includes(flag)) })
  }
  return [...seen.values()]
}

interface Candidate {
  mode: SandboxCapabilities['mode']
  netns: boolean
  pidns: boolean
  ipcns: boolean
  mountns: boolean
  dropUser: boolean
}

function describe(launcher: string, candidate: Candidate): string {
  const parts: string[] = [launcher, candidate.mode]
  for (const key of ['netns', 'pidns', 'ipcns', 'mountns', 'dropUser'] as const) if (candidate[key]) parts.push(key)
  return parts.join('+')
}

/** Strongest first. The helper needs no tools; the chain needs unshare for namespaces, setpriv for uids. */
function candidatesFor(isRoot: boolean, canUnshare: boolean, canSetpriv: boolean): Candidate[] {
  const none: Candidate = { mode: 'none', netns: false, pidns: false, ipcns: false, mountns: false, dropUser: false }
  const list: Candidate[] = []
  if (isRoot) {
    const drop = canSetpriv
    if (canUnshare) {
      list.push({ mode: 'root', netns: true, pidns: true, ipcns: true, mountns: true, dropUser: drop })
      list.push({ mode: 'root', netns: true, pidns: true, ipcns: false, mountns: true, dropUser: drop })
      list.push({ mode: 'root', netns: true, pidns: true, ipcns: false, mountns: false, dropUser: drop })
      list.push({ mode: 'root', netns: true, pidns: false, ipcns: false, mountns: false, dropUser: drop })
      list.push({ mode: 'root', netns: false, pidns: true, ipcns: false, mountns: false, dropUser: drop })
    }
    if (drop) list.push({ mode: 'root', netns: false, pidns: false, ipcns: false, mountns: false, dropUser: true })
  } else if (canUnshare && canSetpriv) {
    list.push({ mode: 'userns', netns: true, pidns: true, ipcns: true, mountns: true, dropUser: false })
    list.push({ mode: 'userns', netns: true, pidns: true, ipcns: false, mountns: false, dropUser: false })
  }
  list.push(none)
  return list
}

/** Runs `echo ok` through the candidate's full command, exactly as a test would run. */
function selfTest(caps: SandboxCapabilities): boolean {
  const jobDir = mkdtempSync(join(tmpdir(), 'edgerun-judge-probe-'))
  const fds: number[] = []
  try {
    const boxDir = join(jobDir, 'box')
    mkdirSync(boxDir, { mode: 0o700 })
    const uid = caps.dropUser ? probeUid() : undefined
    if (uid !== undefined) chownSync(boxDir, uid, uid)
    const { file, args } = buildSandboxCommand(caps, {
      argv: [caps.tools.sh, '-c', 'echo ok'],
      jobDir,
      boxDir,
      uid,
      limits: { cpuSeconds: 5, addressSpaceBytes: 256 << 20, stackBytes: 8 << 20, processes: 16, fileSizeBytes: 1 << 20, openFiles: 64 },
    })
    const stdoutPath = join(jobDir, 'stdout')
    fds.push(openSync('/dev/null', 'r'), openSync(stdoutPath, 'w'), openSync('/dev/null', 'w'), openSync('/dev/null', 'w'))
    const result = spawnSync(file, args, { stdio: fds, timeout: 10_000, env: { PATH: '/usr/bin:/bin' }, cwd: boxDir })
    return result.status === 0 && readFileSync(stdoutPath, 'utf8') === 'ok\n'
  } catch {
    return false
  } finally {
    for (const fd of fds) closeSync(fd)
    rmSync(jobDir, { recursive: true, force: true })
  }
}

/**
 * Tries the configurations strongest first and returns the first that works. `launcher` pins
 * one launcher (tests use it to exercise the util-linux chain on a machine that has a compiler).
 */
export function probeSandbox(options: { launcher?: 'helper' | 'chain' } = {}): SandboxCapabilities {
  const tools = {
    sh: findExecutable('sh') ?? '/bin/sh',
    prlimit: findExecutable('prlimit') ?? '',
    unshare: findExecutable('unshare'),
    setpriv: findExecutable('setpriv'),
    // GNU time, not the shell keyword: only the binary can report another process's rusage.
    time: findExecutable('time'),
    mount: findExecutable('mount'),
    helper: options.launcher === 'chain' ? undefined : sandboxHelper(),
  }
  let mounts: ReadOnlyMount[] = []
  try {
    mounts = writableMounts(readFileSync('/proc/self/mountinfo', 'utf8'))
  } catch {
    // no /proc: the mount namespace candidates fail their self-test
  }
  const rejected: string[] = []
  const isRoot = process.getuid?.() === 0
  const launchers: ('helper' | 'chain')[] = []
  if (tools.helper && options.launcher !== 'chain') launchers.push('helper')
  if (tools.prlimit && options.launcher !== 'helper') launchers.push('chain')
  for (const launcher of launchers) {
    const candidates =
      launcher === 'helper'
        ? candidatesFor(isRoot, true, true)
        : candidatesFor(isRoot, tools.unshare !== undefined, tools.setpriv !== undefined)
    for (const candidate of candidates) {
      const caps: SandboxCapabilities = {
        ...candidate, launcher, tools, readOnlyMounts: mounts, rejected,
        cpuTime: launcher === 'helper' || tools.time !== undefined,
      }
      if (selfTest(caps)) return caps
      rejected.push(describe(launcher, candidate))
    }
  }
  return {
    mode: 'none', launcher: 'chain', netns: false, pidns: false, ipcns: false, mountns: false, dropUser: false,
    cpuTime: false, tools, readOnlyMounts: mounts, rejected,
    unusable: launchers.length === 0
      ? 'neither a C compiler (for the edgerun-sandbox launcher) nor prlimit (util-linux) was found'
      : 'no sandbox configuration worked, not even plain rlimits',
  }
}

let cached: SandboxCapabilities | undefined

/** The configuration every judge run uses: probed once per process. */
export function sandboxCapabilities(): SandboxCapabilities {
  cached ??= probeSandbox()
  return cached
}
