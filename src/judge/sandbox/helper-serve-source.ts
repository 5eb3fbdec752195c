/**
 * The serve mode of `edgerun-sandbox` (C, appended to helper-source.ts): one long-lived launcher
 * per judge slot, a zygote, so that a test costs about what a bare fork and exec cost.
 *
 *   edgerun-sandbox --serve [--userns] [--net] [--ipc] --pid --mount [--ro DIR]… [--mount-proc]
 *
 * At start it enters its namespaces once: the user namespace (--userns), an empty network
 * namespace (--net), a mount namespace in which the host is read-only (--ro), and a pid
 * namespace whose init, the zygote, mounts its own /proc and serves every run. Requests come on
 * fd 0, each a little-endian u32 length and that many bytes: NUL-terminated arguments (the
 * one-shot run options --bind JOBDIR --cwd --uid --gid --limit --wall-ms --cpu-ms --drop-caps,
 * plus --env K=V, --stdin FILE, --box new|keep, --tmpfs DIR, --stdout-max N, --stderr-max N), an
 * empty one, then the test's input. --tmpfs mounts a tmpfs (256 MiB, in the launcher's mount
 * namespace only) on DIR once per job, for the boxes: on a busy disk a box made and deleted per
 * test cost more than the test.
 *
 * Each run: the job directory is bound read-write (once per job; the previous job's bind is
 * undone), --box new makes the working directory (0700, the run's uid), and the program is
 * forked into an IPC namespace of its own (--ipc), with its rlimits and uid, exactly as in
 * one-shot mode. When it ends (or a limit stops it) the zygote, as the pid namespace's init,
 * kills every process left in the namespace with kill(-1) and reaps them all before it replies:
 * no process of a run meets the next one. CPU time and peak RSS are those of the processes
 * reaped in this run. The box is deleted after the reply (what cannot be goes with the job
 * directory).
 *
 * Input, stdout and stderr are memfds: the worker opens no file per test. Each reply on fd 1 is
 * a u32 length and "edgerun-run STDOUT_SIZE STDOUT_SENT STDERR_SENT 0 META_LEN\n", META_LEN
 * bytes of the one-shot launcher's report (its stats line or its failure lines), STDOUT_SENT
 * bytes of stdout (all of it when it is at most --stdout-max, else none) and STDERR_SENT bytes
 * of the start of stderr. Replies are held while another request waits, and the held ones go in
 * one write when none does, HOLD_US after the first (even while a run goes on), at HOLD_MAX, or
 * before the launcher exits: one wake-up of the worker for several fast tests. The launcher's
 * own failures go to fd 2, and it exits: the worker starts another.
 */
export const SERVE_SOURCE = String.raw`
#define MAX_ARGS 1024
#include <sys/uio.h>
#include <poll.h>

static ssize_t read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got ? (ssize_t)got : r;
    got += r;
  }
  return got;
}

static void write_full(int fd, const void *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(125);
    buf = (const char *)buf + w;
    n -= w;
  }
}

/* Replies held for one write: until no request waits, HOLD_US after the first, or HOLD_MAX bytes. */
#define HOLD_US 5000
#define HOLD_MAX (64 << 10)
static char *held;
static size_t held_len, held_cap;

/* Sent before the launcher exits (fail, usage) and when due during a run; a forked program that
   fails before its exec holds a copy, which is not its to send. */
static pid_t holder;
static void flush_held(void) {
  if (getpid() != holder) return;
  flush_due_us = 0;
  if (!held_len) return;
  size_t n = held_len;
  held_len = 0;
  write_full(1, held, n);
}

static void hold(const void *data, size_t n) {
  if (!n) return;
  if (held_len + n > held_cap) {
    size_t cap = held_cap ? held_cap : 4096;
    while (cap < held_len + n) cap *= 2;
    char *grown = realloc(held, cap);
    /* No room to hold it: what is held goes now, and this part straight after. */
    if (!grown) { flush_held(); write_full(1, data, n); return; }
    held = grown;
    held_cap = cap;
  }
  memcpy(held + held_len, data, n);
  held_len += n;
}

/* Before the launcher would block on its next request: the worker must not wait for a run that
   is not coming. 1 when a request is already there. */
static int request_waiting(void) {
  struct pollfd p = { 0, POLLIN, 0 };
  return poll(&p, 1, 0) > 0;
}

static void reset_run(void) {
  ns_flags = mount_proc = drop_caps = 0;
  nbinds = nros = nlimits = nenvs = 0;
  uid = gid = -1;
  wall_ms = cpu_ms = 0;
  program = NULL;
  cwd = stdin_path = tmpfs_dir = NULL;
  make_box = keep_box = 0;
  stdout_max = stderr_max = 0;
  program_pid = 0;
  program_status = program_done = 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st; (void)type; (void)ftw;
  return remove(path) ? -1 : 0;
}

/* Up to max bytes of fd from its start; *sent how many. */
static char *read_head(int fd, long long size, long long max, long long *sent) {
  long long n = size < max ? size : max;
  *sent = 0;
  if (n <= 0) return NULL;
  char *buf = malloc(n);
  if (!buf) return NULL;
  ssize_t got = pread(fd, buf, n, 0);
  *sent = got > 0 ? got : 0;
  return buf;
}

static void reply(const char *meta, size_t meta_len, int out_fd, int err_fd, int box_left) {
  struct stat st;
  long long out_size = 0, err_size = 0, out_sent = 0, err_sent = 0;
  if (out_fd >= 0 && !fstat(out_fd, &st)) out_size = st.st_size;
  if (err_fd >= 0 && !fstat(err_fd, &st)) err_size = st.st_size;
  char *out = out_size <= stdout_max ? read_head(out_fd, out_size, stdout_max, &out_sent) : NULL;
  char *err = read_head(err_fd, err_size, stderr_max, &err_sent);
  char head[160];
  int head_len = snprintf(head, sizeof head, "edgerun-run %lld %lld %lld %d %zu\n", out_size, out_sent, err_sent, box_left, meta_len);
  uint32_t total = head_len + meta_len + out_sent + err_sent;
  struct iovec parts[5] = { { &total, 4 }, { head, head_len }, { (void *)meta, meta_len }, { out, out_sent }, { err, err_sent } };
  /* Held with the replies before it and sent in one write: each write wakes the worker, and a
     wake-up per test cost the worker more than a trivial test costs here. */
  if (!held_len) flush_due_us = now_us() + HOLD_US;
  for (int i = 0; i < 5; i++) hold(parts[i].iov_base, parts[i].iov_len);
  if (held_len >= HOLD_MAX) flush_held();
  free(out);
  free(err);
}

static void reply_failure(const char *what) {
  char text[512];
  int n = snprintf(text, sizeof text, "edgerun-sandbox: %s: %s\n", what, strerror(errno));
  reply(text, n, -1, -1, 0);
}

/* The zygote's lasting setup: IPC namespaces per run, its own /proc, the job directory bound now. */
static int serve_ipc, serve_proc;
static char bound_dir[4096], boxes_dir[4096];
/* Room for the boxes of one job: memory, not the disk's journal (a box is made and deleted per test). */
#define BOXES_TMPFS "size=256m,nr_inodes=16384,mode=0711"

/* The job's directory, read-write in a read-only host: bound once per job, the last job's undone. */
static int bind_job_dir(const char *dir) {
  if (!strcmp(dir, bound_dir)) return 0;
  /* Gone already if the worker deleted the directory (a mount in another namespace does not stop that). */
  if (boxes_dir[0]) umount2(boxes_dir, MNT_DETACH);
  boxes_dir[0] = 0;
  if (bound_dir[0]) umount2(bound_dir, MNT_DETACH);
  bound_dir[0] = 0;
  if (strlen(dir) >= sizeof bound_dir) { errno = ENAMETOOLONG; return -1; }
  /* The bind copies the read-only mount it lies in; the remount lifts that for this mount alone. */
  if (mount(dir, dir, NULL, MS_BIND, NULL)) return -1;
  if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | kept_flags(dir), NULL)) { umount2(dir, MNT_DETACH); return -1; }
  strcpy(bound_dir, dir);
  return 0;
}

static void run_one(const char *input, size_t input_len) {
  envs[nenvs] = NULL;
  int in_fd = stdin_path ? open(stdin_path, O_RDONLY | O_CLOEXEC) : memfd_create("stdin", MFD_CLOEXEC);
  int out_fd = memfd_create("stdout", MFD_CLOEXEC), err_fd = memfd_create("stderr", MFD_CLOEXEC);
  int meta_fd = memfd_create("meta", MFD_CLOEXEC);
  int box_made = 0;
  if (in_fd < 0 || out_fd < 0 || err_fd < 0 || meta_fd < 0) { reply_failure("open input or output"); goto done; }
  if (!stdin_path) {
    size_t off = 0;
    while (off < input_len) {
      ssize_t w = write(in_fd, input + off, input_len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) { reply_failure("write input"); goto done; }
      off += w;
    }
    lseek(in_fd, 0, SEEK_SET);
  }
  if (nbinds > 0 && bind_job_dir(binds[0])) { reply_failure(binds[0]); goto done; }
  if (tmpfs_dir && strcmp(tmpfs_dir, boxes_dir)) {
    if (strlen(tmpfs_dir) >= sizeof boxes_dir) { errno = ENAMETOOLONG; reply_failure("--tmpfs"); goto done; }
    if (boxes_dir[0]) umount2(boxes_dir, MNT_DETACH);
    boxes_dir[0] = 0;
    if (mount("tmpfs", tmpfs_dir, "tmpfs", MS_NOSUID | MS_NODEV, BOXES_TMPFS)) { reply_failure(tmpfs_dir); goto done; }
    strcpy(boxes_dir, tmpfs_dir);
  }
  if (make_box && !keep_box) {
    if (!cwd || mkdir(cwd, 0700)) { reply_failure("make box"); goto done; }
    box_made = 1;
    if (uid >= 0 && chown(cwd, uid, gid >= 0 ? gid : uid)) { reply_failure("chown box"); goto done; }
  }
  /* The report, and the program's own failures before its exec, go to fd 3 as in one-shot mode. */
  if (dup2(meta_fd, META_FD) < 0 || fcntl(META_FD, F_SETFD, FD_CLOEXEC)) { reply_failure("meta"); goto done; }
  program_fds[0] = in_fd;
  program_fds[1] = out_fd;
  program_fds[2] = err_fd;
  program_clone_flags = serve_ipc ? CLONE_NEWIPC : 0;
  mount_proc = serve_proc;
  /* As the pid namespace's init: everything the run left is killed and reaped before this returns. */
  supervise(1);
  dup2(2, META_FD);
  char meta[4096];
  ssize_t meta_len = pread(meta_fd, meta, sizeof meta, 0);
  if (meta_len <= 0) meta_len = snprintf(meta, sizeof meta, "edgerun-sandbox: the run ended without a report\n");
  reply(meta, meta_len, out_fd, err_fd, 0);
done:
  /* After the reply: the worker reads it meanwhile. */
  /* Most boxes are left empty: one rmdir, and the walk only when that is not enough. */
  if (box_made && rmdir(cwd) && nftw(cwd, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT)) {
    /* Deeper than a path can name: closed to the job's uid instead; it goes with the tmpfs. */
    if (chown(cwd, 0, 0) || chmod(cwd, 0)) {}
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  if (meta_fd >= 0) close(meta_fd);
}

static int serve(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* The launcher's own complaints (fail, usage) go to fd 2; fd 3 is taken so that every file it
     opens later lands above the four a run rearranges. */
  if (dup2(2, META_FD) < 0 || fcntl(META_FD, F_SETFD, FD_CLOEXEC)) return 125;
  /* Whatever else the worker's process let us inherit is not for the programs. */
  if (syscall(SYS_close_range, META_FD + 1, ~0U, 0)) for (int fd = META_FD + 1; fd < 1024; fd++) close(fd);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--userns")) userns = 1;
    else if (!strcmp(a, "--net")) ns_flags |= CLONE_NEWNET;
    else if (!strcmp(a, "--ipc")) serve_ipc = 1;
    else if (!strcmp(a, "--pid")) ns_flags |= CLONE_NEWPID;
    else if (!strcmp(a, "--mount")) ns_flags |= CLONE_NEWNS;
    else if (!strcmp(a, "--mount-proc")) serve_proc = 1;
    else if (!strcmp(a, "--ro") && i + 1 < argc && nros < MAX_PATHS) ros[nros++] = argv[++i];
    else usage(a);
  }
  if (!(ns_flags & CLONE_NEWPID) || !(ns_flags & CLONE_NEWNS)) usage("--serve needs --pid and --mount");
  setup_namespaces();
  /* The zygote: the pid namespace's init, and the parent of every run. */
  pid_t zygote = fork();
  if (zygote < 0) fail("fork");
  if (zygote > 0) {
    int status;
    while (waitpid(zygote, &status, 0) < 0)
      if (errno != EINTR) fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (serve_proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail("mount /proc");
  static char *args[MAX_ARGS + 1];
  holder = getpid();
  flush_hook = flush_held;
  for (;;) {
    if (held_len && (!request_waiting() || now_us() >= flush_due_us)) flush_held();
    uint32_t len;
    ssize_t got = read_full(0, &len, 4);
    if (got == 0) { flush_held(); _exit(0); }
    if (got != 4 || len > (1u << 30)) usage("bad request frame");
    char *req = malloc((size_t)len + 2);
    if (!req || read_full(0, req, len) != (ssize_t)len) usage("short request");
    req[len] = req[len + 1] = 0;
    int n = 0;
    size_t off = 0;
    args[n++] = "serve";
    while (off < len && req[off]) {
      if (n == MAX_ARGS) usage("too many arguments");
      args[n++] = req + off;
      off += strlen(req + off) + 1;
    }
    off++;
    args[n] = NULL;
    reset_run();
    parse(n, args);
    if (ns_flags) usage("namespaces are the launcher's, not a run's");
    run_one(req + (off < len ? off : len), off < len ? len - off : 0);
    free(req);
  }
}
`
