/**
 * C source of `edgerun-sandbox`, a tiny setuid-free launcher compiled on first use (see
 * helper.ts). It does in one exec what the util-linux chain does in eight: namespaces, a
 * read-only host view, rlimits, the uid switch, and the supervision of the run: wall-clock and
 * whole-tree CPU limits, exact CPU time and peak RSS, and the end of every process the program
 * left behind (~3 ms a trivial test, against ~11 ms for the chain). A TypeScript string rather
 * than a .c file, so that it ships inside dist/.
 *
 * Usage: edgerun-sandbox [--net] [--ipc] [--mount] [--pid] [--userns] [--mount-proc] [--bind DIR]…
 *   [--ro DIR]… [--cwd DIR] [--uid N --gid N] [--drop-caps] [--wall-ms N] [--cpu-ms N]
 *   [--limit cpu|as|data|stack|nproc|fsize|nofile=SOFT[:HARD]]… -- PROGRAM ARGS…
 * fd 0/1/2 are the program's; fd 3 (close-on-exec) receives one line "edgerun-stats EXIT SIGNAL
 * CPU_US MAXRSS_KB WALL_US KILLED" (KILLED: none, wall or cpu; CPU_US and MAXRSS_KB cover every
 * process of the run, the ones the program left behind included) or "edgerun-sandbox: what: why"
 * lines when the sandbox itself fails (exit status 125).
 *
 * The run ends when the program itself ends (or a limit stops it): whatever it left behind is
 * killed then, not waited for. In a pid namespace the supervisor is its init and kill(-1) reaches
 * everything; without one, the supervisor is a child subreaper, so every orphan, setsid or not,
 * becomes its child and is found in /proc. `--serve` makes it a long-lived launcher that runs one
 * test per request: see helper-serve-source.ts.
 */
import { SERVE_SOURCE } from './helper-serve-source.js'

export const HELPER_VERSION = 3

const CORE_SOURCE = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/securebits.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define META_FD 3
#define MAX_PATHS 64
#define MAX_LIMITS 16
#define MAX_ENV 64
/* How often the whole tree's CPU time is summed: a tenth of a typical limit, a few µs of work. */
#define CPU_POLL_US 25000

struct limit { int resource; rlim_t soft, hard; };

static int ns_flags, userns, mount_proc, drop_caps;
static const char *binds[MAX_PATHS], *ros[MAX_PATHS], *cwd;
static int nbinds, nros, nlimits;
static long uid = -1, gid = -1;
static long long wall_ms, cpu_ms;
static struct limit limits[MAX_LIMITS];
static char **program;
/* Serve mode only (see the serve part): per-run environment, input and output handling. */
static char *envs[MAX_ENV + 1];
static int nenvs, make_box, keep_box;
static const char *stdin_path, *tmpfs_dir;
static long long stdout_max, stderr_max;
static int program_clone_flags, program_fds[3] = { -1, -1, -1 };
static void (*flush_hook)(void); static long long flush_due_us; /* held replies: helper-serve-source.ts */

static void fail(const char *what) {
  if (flush_hook) flush_hook();
  dprintf(META_FD, "edgerun-sandbox: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static void usage(const char *what) {
  if (flush_hook) flush_hook();
  dprintf(META_FD, "edgerun-sandbox: bad arguments: %s\n", what);
  _exit(125);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail(path);
  close(fd);
}

static void parse_limit(const char *spec) {
  static const struct { const char *name; int resource; } names[] = {
    {"cpu", RLIMIT_CPU}, {"as", RLIMIT_AS}, {"data", RLIMIT_DATA}, {"stack", RLIMIT_STACK},
    {"nproc", RLIMIT_NPROC}, {"fsize", RLIMIT_FSIZE}, {"nofile", RLIMIT_NOFILE}, {"core", RLIMIT_CORE},
  };
  const char *eq = strchr(spec, '=');
  if (!eq || nlimits == MAX_LIMITS) usage(spec);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i].name) == (size_t)(eq - spec) && strncmp(spec, names[i].name, eq - spec) == 0) {
      char *end;
      unsigned long long soft = strtoull(eq + 1, &end, 10), hard = soft;
      if (*end == ':') hard = strtoull(end + 1, &end, 10);
      if (*end) usage(spec);
      limits[nlimits++] = (struct limit){ names[i].resource, soft, hard };
      return;
    }
  }
  usage(spec);
}

static void parse(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--")) { program = argv + i + 1; break; }
    else if (!strcmp(a, "--net")) ns_flags |= CLONE_NEWNET;
    else if (!strcmp(a, "--ipc")) ns_flags |= CLONE_NEWIPC;
    else if (!strcmp(a, "--mount")) ns_flags |= CLONE_NEWNS;
    else if (!strcmp(a, "--pid")) ns_flags |= CLONE_NEWPID;
    else if (!strcmp(a, "--userns")) userns = 1;
    else if (!strcmp(a, "--mount-proc")) mount_proc = 1;
    else if (!strcmp(a, "--drop-caps")) drop_caps = 1;
    else if (!next) usage(a);
    else if (!strcmp(a, "--bind") && nbinds < MAX_PATHS) { binds[nbinds++] = next; i++; }
    else if (!strcmp(a, "--ro") && nros < MAX_PATHS) { ros[nros++] = next; i++; }
    else if (!strcmp(a, "--cwd")) { cwd = next; i++; }
    else if (!strcmp(a, "--uid")) { uid = atol(next); i++; }
    else if (!strcmp(a, "--gid")) { gid = atol(next); i++; }
    else if (!strcmp(a, "--limit")) { parse_limit(next); i++; }
    else if (!strcmp(a, "--wall-ms")) { wall_ms = atoll(next); i++; }
    else if (!strcmp(a, "--cpu-ms")) { cpu_ms = atoll(next); i++; }
    else if (!strcmp(a, "--env") && nenvs < MAX_ENV) { envs[nenvs++] = (char *)next; i++; }
    else if (!strcmp(a, "--stdin")) { stdin_path = next; i++; }
    else if (!strcmp(a, "--box")) { make_box = 1; if (!strcmp(next, "keep")) keep_box = 1; i++; }
    else if (!strcmp(a, "--tmpfs")) { tmpfs_dir = next; i++; }
    else if (!strcmp(a, "--stdout-max")) { stdout_max = atoll(next); i++; }
    else if (!strcmp(a, "--stderr-max")) { stderr_max = atoll(next); i++; }
    else usage(a);
  }
  if (!program || !program[0]) usage("no program");
}

/* Remounting read-only must keep the flags already there (a user namespace may not clear them). */
static unsigned long kept_flags(const char *path) {
  struct statvfs s;
  if (statvfs(path, &s)) fail(path);
  unsigned long flags = 0;
  if (s.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

static void setup_mounts(void);

static void setup_namespaces(void) {
  uid_t outer_uid = getuid();
  gid_t outer_gid = getgid();
  if (userns) {
    char map[64];
    if (unshare(CLONE_NEWUSER)) fail("unshare(user)");
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outer_uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)outer_gid);
    write_file("/proc/self/gid_map", map);
  }
  if (ns_flags && unshare(ns_flags)) fail("unshare");
  setup_mounts();
}

/* In a fresh mount namespace: a private copy of the host, read-only but for the bound directories. */
static void setup_mounts(void) {
  if (ns_flags & CLONE_NEWNS) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) fail("make mounts private");
    /* Binds first: each copies its parent mount as it is now (read-write). */
    for (int i = 0; i < nbinds; i++)
      if (mount(binds[i], binds[i], NULL, MS_BIND, NULL)) fail(binds[i]);
    for (int i = 0; i < nros; i++)
      if (mount(NULL, ros[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(ros[i]), NULL)) fail(ros[i]);
  }
}

static void exec_program(void) {
  for (int i = 0; i < nlimits; i++) {
    struct rlimit r = { limits[i].soft, limits[i].hard };
    if (setrlimit(limits[i].resource, &r)) fail("setrlimit");
  }
  struct rlimit none = { 0, 0 };
  setrlimit(RLIMIT_CORE, &none);
  if (cwd && chdir(cwd)) fail(cwd);
  if (gid >= 0 && (setgroups(0, NULL) || setresgid(gid, gid, gid))) fail("setresgid");
  if (uid >= 0 && setresuid(uid, uid, uid)) fail("setresuid");
  if (drop_caps) {
    /* uid 0 of a user namespace: make exec grant no capabilities at all. */
    for (int cap = 0; cap < 64; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0)) fail("securebits");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) fail("no_new_privs");
  /* A uid change clears the parent-death signal: set it again, now. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (nenvs) execve(program[0], program, envs);
  else execv(program[0], program);
  fail(program[0]);
}

static pid_t program_pid;
static int program_status, program_done;
static sigset_t sigchld;

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Sleeps until a child changes state or us microseconds pass; a SIGCHLD that came first is still pending. */
static void wait_chld(long long us) {
  struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
  sigtimedwait(&sigchld, NULL, &t);
}

/* What the processes reaped in this run used: CPU summed, peak RSS the largest (a served init
   outlives many runs, so RUSAGE_CHILDREN would mix them). */
static long long reaped_cpu_us;
static long reaped_maxrss_kb;

/* Reaps whatever has ended, noting the program's own status. 1 when children remain. */
static int reap(void) {
  for (;;) {
    int status;
    struct rusage ru;
    pid_t done = wait4(-1, &status, WNOHANG | __WALL, &ru);
    if (done == program_pid) { program_status = status; program_done = 1; }
    if (done > 0) {
      reaped_cpu_us += (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
      if (ru.ru_maxrss > reaped_maxrss_kb) reaped_maxrss_kb = ru.ru_maxrss;
      continue;
    }
    if (done < 0 && errno == EINTR) continue;
    if (done < 0 && errno != ECHILD) fail("waitpid");
    return done == 0;
  }
}

static int read_small(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

/* After the ")" that ends the command name in /proc/PID/stat: field 3 (state) onwards. */
static const char *stat_fields(const char *pid, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  if (read_small(path, buf, size)) return NULL;
  const char *close = strrchr(buf, ')');
  return close && close[1] ? close + 2 : NULL;
}

/* CPU time, ms, of every process still in the namespace and of the children each one reaped
   (the ones this init reaped are counted as it reaped them). Only with a /proc of the namespace's own. */
static long long tree_cpu_ms(void) {
  long long us = reaped_cpu_us;
  long long ticks = 0;
  DIR *dir = opendir("/proc");
  if (!dir) return us / 1000;
  struct dirent *entry;
  char buf[1024];
  while ((entry = readdir(dir))) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9' || !strcmp(entry->d_name, "1")) continue; /* 1: ourselves */
    const char *f = stat_fields(entry->d_name, buf, sizeof buf);
    unsigned long long ut, st;
    long long cut, cst;
    if (f && sscanf(f, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut, &st, &cut, &cst) == 4)
      ticks += (long long)(ut + st) + cut + cst;
  }
  closedir(dir);
  return us / 1000 + ticks * 1000 / sysconf(_SC_CLK_TCK);
}

/* Without a pid namespace: SIGKILL to each of our children (as a subreaper, orphans are ours). */
static void kill_children(void) {
  char path[64], buf[4096];
  pid_t self = getpid();
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)self);
  if (!read_small(path, buf, sizeof buf)) {
    char *end = buf;
    for (long pid; (pid = strtol(end, &end, 10)) > 0;) kill((pid_t)pid, SIGKILL);
    if (buf[0]) return;
  }
  /* No children file (or it was empty while a child remains): look at every process's parent. */
  DIR *dir = opendir("/proc");
  if (!dir) return;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    const char *f = stat_fields(entry->d_name, buf, sizeof buf);
    int ppid;
    if (f && sscanf(f, "%*c %d", &ppid) == 1 && ppid == self) kill((pid_t)atol(entry->d_name), SIGKILL);
  }
  closedir(dir);
}

/* Kills and reaps every process of the run, the program's leftovers included. */
static void end_run(int pid_init) {
  while (reap()) {
    if (pid_init) kill(-1, SIGKILL);
    else kill_children();
    wait_chld(10000);
  }
}

/* Runs the program as a child, stops it at its limits, ends the run when it ends, reports. */
static int supervise(int pid_init) {
  sigemptyset(&sigchld);
  sigaddset(&sigchld, SIGCHLD);
  /* Blocked, so that no SIGCHLD is lost between a reap and the wait (and an init gets it at all). */
  sigprocmask(SIG_BLOCK, &sigchld, NULL);
  if (!pid_init && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) fail("subreaper");
  long long start = now_us();
  reaped_cpu_us = 0;
  reaped_maxrss_kb = 0;
  /* A served run's program gets IPC objects of its own (program_clone_flags, serve mode). */
  program_pid = program_clone_flags ? (pid_t)syscall(SYS_clone, (unsigned long)(program_clone_flags | SIGCHLD), NULL, NULL, NULL, NULL) : fork();
  if (program_pid < 0) fail("fork");
  if (program_pid == 0) {
    sigprocmask(SIG_UNBLOCK, &sigchld, NULL);
    if (program_fds[0] >= 0 && (dup2(program_fds[0], 0) < 0 || dup2(program_fds[1], 1) < 0 || dup2(program_fds[2], 2) < 0)) fail("dup2");
    exec_program();
  }
  /* The tree's CPU time can only be summed with a /proc that shows this namespace alone. */
  int poll_cpu = cpu_ms > 0 && pid_init && mount_proc;
  const char *killed = "none";
  long long next_poll = CPU_POLL_US; /* most runs end before the first poll, and pay nothing */
  for (;;) {
    reap();
    if (program_done) break;
    long long elapsed = now_us() - start;
    if (wall_ms > 0 && elapsed >= wall_ms * 1000) { killed = "wall"; break; }
    if (poll_cpu && elapsed >= next_poll) {
      if (tree_cpu_ms() > cpu_ms) { killed = "cpu"; break; }
      next_poll = elapsed + CPU_POLL_US;
    }
    long long until = poll_cpu ? next_poll : elapsed + 3600LL * 1000000;
    if (wall_ms > 0 && wall_ms * 1000 < until) until = wall_ms * 1000;
    if (flush_hook && flush_due_us && now_us() >= flush_due_us) { flush_hook(); continue; } /* not when this run ends */
    if (flush_hook && flush_due_us && flush_due_us - start < until) until = flush_due_us - start;
    wait_chld(until - elapsed);
  }
  long long wall_us = now_us() - start;
  end_run(pid_init);
  int status = program_status;
  dprintf(META_FD, "edgerun-stats %d %d %lld %ld %lld %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          WIFSIGNALED(status) ? WTERMSIG(status) : 0, reaped_cpu_us, reaped_maxrss_kb, wall_us, killed);
  return 0;
}

static int serve(int argc, char **argv);

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--serve")) return serve(argc, argv);
  if (fcntl(META_FD, F_SETFD, FD_CLOEXEC)) return 125;
  /* Whatever else the worker's process let us inherit is not for the program. */
  if (syscall(SYS_close_range, META_FD + 1, ~0U, 0)) for (int fd = META_FD + 1; fd < 1024; fd++) close(fd);
  /* If the worker dies, so does the run (and with it, through init, the whole namespace). */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  parse(argc, argv);
  setup_namespaces();
  if (!(ns_flags & CLONE_NEWPID)) return supervise(0);
  /* Our children land in the new pid namespace; the first is its init. When init exits, the
     kernel kills everything left in the namespace, setsid or not. */
  pid_t init = fork();
  if (init < 0) fail("fork");
  if (init == 0) {
    /* (getppid() is 0 here, the parent being outside the namespace: nothing to check it against.
       The worker kills the whole process group anyway.) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (mount_proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail("mount /proc");
    _exit(supervise(1));
  }
  int status;
  while (waitpid(init, &status, 0) < 0)
    if (errno != EINTR) fail("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}
`

export const HELPER_SOURCE = CORE_SOURCE + SERVE_SOURCE
