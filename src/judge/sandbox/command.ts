/**
 * Builds the command that runs one untrusted program. Node has neither setrlimit, setuid,
 * unshare nor wait4, so something else must do those. Two launchers, same semantics:
 *
 * 1. `edgerun-sandbox` (helper-source.ts), compiled on first use when a C compiler exists: one
 *    exec does namespaces, read-only mounts, rlimits, the uid switch, the wall-clock and
 *    whole-tree CPU limits, wait4, and the end of whatever the program left behind. ~3 ms a run.
 *
 * 2. Otherwise a chain of util-linux/GNU tools, each exec'ing the next:
 *
 *   unshare --net --pid --ipc --mount --fork --kill-child --mount-proc   (namespaces; pid 1 dies → all die)
 *     sh -c 'mount …; cd BOX; exec time …'                              (read-only host view, cwd)
 *       time -f 'edgerun-time …'                                         (CPU time and peak RSS via wait4)
 *         sh -c 'exec 2>&3 3>&-; exec "$@"'                              (program stderr → its own file)
 *           setpriv --reuid=U …                                          (unprivileged uid, no new privs)
 *             prlimit --cpu … --as … --nproc … --fsize …                 (rlimits)
 *               program
 *
 *    Only `unshare` (to parent the new pid namespace's init) and `time` (to wait4 its child)
 *    fork; the rest exec in place. ~11 ms a run, mostly dynamic loading of eight binaries.
 *
 * Descriptors: 0 = the test input file, 1 = the stdout file, and two more: the program's stderr
 * file and the "meta" file where the launcher reports (its own failures, then the measurements).
 * The helper takes meta on fd 3 and marks it close-on-exec; the chain has meta on fd 2 (every
 * tool's diagnostics land there) and its second shell moves fd 3 onto fd 2 before the program
 * starts. Either way the program holds no descriptor on the meta file and cannot forge it.
 */
import type { SandboxCapabilities } from './probe.js'

export interface SandboxLimits {
  /** RLIMIT_CPU soft limit, whole seconds, per process; the hard limit is one second more. */
  cpuSeconds: number
  /**
   * CPU time of the whole process tree, ms: the helper stops the run once the tree has used more
   * (with a pid namespace and its own /proc; elsewhere RLIMIT_CPU and the wall clock stop it).
   */
  treeCpuMs?: number
  /** RLIMIT_AS, bytes (native code and interpreters with modest reservations). */
  addressSpaceBytes?: number
  /** RLIMIT_DATA, bytes (JIT runtimes that reserve huge PROT_NONE ranges they never touch). */
  dataBytes?: number
  stackBytes: number
  /** RLIMIT_NPROC: processes and threads of the sandbox uid. */
  processes: number
  /** RLIMIT_FSIZE: the largest file the program may write, stdout included. */
  fileSizeBytes: number
  openFiles: number
}

export interface SandboxCommandSpec {
  /** Absolute path of the program, then its arguments. */
  argv: string[]
  /** The job directory: bound read-write in the mount namespace (everything else is read-only). */
  jobDir: string
  /** The program's working directory, owned by `uid`. */
  boxDir: string
  uid?: number
  limits: SandboxLimits
  /**
   * Wall-clock limit, ms, from the program's start. The helper enforces it itself; with the
   * util-linux chain the worker does. Absent: none (the probe's self-test).
   */
  wallMs?: number
}

export const TIME_MARK = 'edgerun-time'
export const STATUS_MARK = 'edgerun-status'
export const STATS_MARK = 'edgerun-stats'
export const HELPER_ERROR_MARK = 'edgerun-sandbox:'

export interface SandboxCommand {
  file: string
  args: string[]
  /** The descriptor (2 or 3) that must be the meta file; the other one is the program's stderr. */
  metaFd: 2 | 3
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`
}

function prlimitArgs(limits: SandboxLimits): string[] {
  const args = [
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--stack=${limits.stackBytes}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.fileSizeBytes}`,
    `--nofile=${limits.openFiles}`,
    '--core=0',
  ]
  if (limits.addressSpaceBytes !== undefined) args.push(`--as=${limits.addressSpaceBytes}`)
  if (limits.dataBytes !== undefined) args.push(`--data=${limits.dataBytes}`)
  return args
}

function setprivArgs(caps: SandboxCapabilities, uid: number | undefined): string[] {
  if (!caps.tools.setpriv) return []
  if (caps.mode === 'root' && caps.dropUser && uid !== undefined) {
    return [caps.tools.setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--']
  }
  if (caps.mode === 'userns') {
    // uid 0 inside a user namespace still holds every capability there (it could undo the
    // read-only mounts): empty the bounding set so the next exec starts with none.
    return [caps.tools.setpriv, '--bounding-set=-all', '--inh-caps=-all', '--no-new-privs', '--']
  }
  return []
}

function unshareArgs(caps: SandboxCapabilities): string[] {
  if (!caps.tools.unshare || caps.mode === 'none') return []
  const args: string[] = [caps.tools.unshare]
  if (caps.mode === 'userns') args.push('--user', '--map-root-user')
  if (caps.netns) args.push('--net')
  if (caps.ipcns) args.push('--ipc')
  if (caps.mountns) args.push('--mount')
  if (caps.pidns) args.push('--pid', '--fork', '--kill-child', ...(caps.mountns ? ['--mount-proc'] : []))
  if (args.length === 1) return []
  args.push('--')
  return args
}

/** The mounts that make the host read-only for the program, except the job directory. */
function mountScript(caps: SandboxCapabilities, jobDir: string): string {
  if (!caps.mountns || !caps.tools.mount) return ''
  const mount = shellQuote(caps.tools.mount)
  const steps = [`${mount} --bind ${shellQuote(jobDir)} ${shellQuote(jobDir)}`]
  for (const target of caps.readOnlyMounts) {
    steps.push(`${mount} -o ${['remount', 'bind', 'ro', ...target.keepFlags].join(',')} ${shellQuote(target.path)}`)
  }
  return `${steps.join(' && ')} || exit 125; `
}

/** The namespaces a served launcher (pool.ts) sets up once and keeps for all of its runs. */
function namespaceArgs(caps: SandboxCapabilities): string[] {
  const args: string[] = []
  if (caps.mode === 'userns') args.push('--userns')
  if (caps.netns) args.push('--net')
  if (caps.ipcns) args.push('--ipc')
  if (caps.pidns) args.push('--pid')
  if (caps.mountns) {
    args.push('--mount')
    for (const target of caps.readOnlyMounts) args.push('--ro', target.path)
    if (caps.pidns) args.push('--mount-proc')
  }
  return args
}

/** What `edgerun-sandbox --serve` is started with. */
export function serveStartArgs(caps: SandboxCapabilities): string[] {
  return namespaceArgs(caps)
}

function helperCommand(helper: string, caps: SandboxCapabilities, spec: SandboxCommandSpec): SandboxCommand {
  return { file: helper, args: [...namespaceArgs(caps), ...helperRunArgs(caps, spec)], metaFd: 3 }
}

/** The helper's options for one run, and the program: the same for a one-shot and a served run. */
export function helperRunArgs(caps: SandboxCapabilities, spec: SandboxCommandSpec): string[] {
  const args: string[] = []
  if (caps.mode === 'userns') args.push('--drop-caps')
  if (caps.mountns) args.push('--bind', spec.jobDir)
  args.push('--cwd', spec.boxDir)
  if (caps.mode === 'root' && caps.dropUser && spec.uid !== undefined) args.push('--uid', String(spec.uid), '--gid', String(spec.uid))
  const { limits } = spec
  // With its own /proc the helper stops the tree at treeCpuMs, to the tick, on the same clock as
  // the reported time (the kernel's RLIMIT_CPU clock can run ahead of it by a fifth on a busy
  // VM). RLIMIT_CPU is then only the backstop, a second further on.
  const polled = limits.treeCpuMs !== undefined && caps.pidns && caps.mountns
  const cpuSoft = polled ? limits.cpuSeconds + 1 : limits.cpuSeconds
  const rlimits: [string, number | string | undefined][] = [
    ['cpu', `${cpuSoft}:${cpuSoft + 1}`],
    ['stack', limits.stackBytes],
    ['nproc', limits.processes],
    ['fsize', limits.fileSizeBytes],
    ['nofile', limits.openFiles],
    ['as', limits.addressSpaceBytes],
    ['data', limits.dataBytes],
  ]
  for (const [name, value] of rlimits) if (value !== undefined) args.push('--limit', `${name}=${value}`)
  if (spec.wallMs !== undefined) args.push('--wall-ms', String(Math.ceil(spec.wallMs)))
  if (limits.treeCpuMs !== undefined) args.push('--cpu-ms', String(Math.ceil(limits.treeCpuMs)))
  args.push('--', ...spec.argv)
  return args
}

/** Returns what to spawn (detached, with the four descriptors described above). */
export function buildSandboxCommand(caps: SandboxCapabilities, spec: SandboxCommandSpec): SandboxCommand {
  if (caps.launcher === 'helper' && caps.tools.helper) return helperCommand(caps.tools.helper, caps, spec)
  const sh = caps.tools.sh
  const inner = [...setprivArgs(caps, spec.uid), caps.tools.prlimit, ...prlimitArgs(spec.limits), '--', ...spec.argv]
  const setup = `${mountScript(caps, spec.jobDir)}cd ${shellQuote(spec.boxDir)} || exit 125; `
  let script: string
  let positional: string[]
  if (caps.tools.time) {
    const time = [caps.tools.time, '-f', `${TIME_MARK} %e %U %S %M %x`, '--', sh, '-c', 'exec 2>&3 3>&-; exec "$@"', 'sh']
    script = `${setup}exec "$@"`
    positional = [...time, ...inner]
  } else {
    // Without GNU time the shell stays as the parent (so the program is never a pid-namespace
    // init, whose default signal dispositions are ignored) and reports the exit status itself.
    script = `${setup}"$@" 2>&3 3>&-; echo "${STATUS_MARK} $?" >&2`
    positional = inner
  }
  const chain = [...unshareArgs(caps), sh, '-c', script, 'sh', ...positional]
  return { file: chain[0]!, args: chain.slice(1), metaFd: 2 }
}
