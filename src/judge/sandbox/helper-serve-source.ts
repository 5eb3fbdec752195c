/**
 * The serve mode of `edgerun-sandbox` (C, appended to helper-source.ts): one long-lived launcher
 * per judge slot, so that the worker stops paying a Node spawn, a dynamic launcher start and the
 * creation of a network namespace for every test.
 *
 *   edgerun-sandbox --serve [--userns] [--net]
 *
 * At start it enters the user namespace (--userns) and an empty network namespace (--net) that
 * all its runs share: nothing a run can leave in a network namespace without capabilities
 * outlives the run's processes. Then it reads requests on fd 0, each a little-endian u32 length
 * and that many bytes: NUL-terminated arguments (the one-shot options, plus --env K=V,
 * --stdin FILE, --box new|keep, --stdout-max N, --stderr-max N), an empty one, then the test's
 * input. Each run is a fresh child cloned into new pid, mount and IPC namespaces: it remounts
 * the host read-only but for the bound job directory, mounts a /proc of its own, and supervises
 * the program exactly as the one-shot launcher does. When it exits the kernel ends everything
 * left in its pid namespace, and the IPC objects go with the namespace. --box new makes the
 * working directory (0700, the run's uid) before the run and deletes it after; --box keep
 * leaves it for the caller.
 *
 * Input, stdout and stderr are memfds: no file is opened on the caller's side at all. Each reply
 * on fd 1 is a u32 length and: "edgerun-run STDOUT_SIZE STDOUT_SENT STDERR_SENT BOX_LEFT META_LEN\n",
 * META_LEN bytes of the one-shot launcher's report (the stats line or its failure lines), then
 * STDOUT_SENT bytes of stdout (all of it when it is at most --stdout-max, else none) and
 * STDERR_SENT bytes of the start of stderr. The box is deleted after the reply (BOX_LEFT is 0;
 * whatever cannot be deleted goes with the job directory).
 * The launcher's own failures go to fd 2, and it exits: the caller starts another.
 */
export const SERVE_SOURCE = String.raw`
#define MAX_ARGS 1024

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

static void reset_run(void) {
  ns_flags = mount_proc = drop_caps = 0;
  nbinds = nros = nlimits = nenvs = 0;
  uid = gid = -1;
  wall_ms = cpu_ms = 0;
  program = NULL;
  cwd = stdin_path = NULL;
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
  write_full(1, &total, 4);
  write_full(1, head, head_len);
  write_full(1, meta, meta_len);
  if (out_sent) write_full(1, out, out_sent);
  if (err_sent) write_full(1, err, err_sent);
  free(out);
  free(err);
}

static void reply_failure(const char *what) {
  char text[512];
  int n = snprintf(text, sizeof text, "edgerun-sandbox: %s: %s\n", what, strerror(errno));
  reply(text, n, -1, -1, 0);
}

static void run_one(const char *input, size_t input_len) {
  envs[nenvs] = NULL;
  int in_fd = stdin_path ? open(stdin_path, O_RDONLY | O_CLOEXEC) : memfd_create("stdin", MFD_CLOEXEC);
  int out_fd = memfd_create("stdout", MFD_CLOEXEC), err_fd = memfd_create("stderr", MFD_CLOEXEC);
  int meta[2] = { -1, -1 };
  char *meta_text = NULL;
  size_t meta_len = 0;
  int box_made = 0;
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) { reply_failure("open input or output"); goto done; }
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
  if (make_box && !keep_box) {
    if (!cwd || mkdir(cwd, 0700)) { reply_failure("make box"); goto done; }
    box_made = 1;
    if (uid >= 0 && chown(cwd, uid, gid >= 0 ? gid : uid)) { reply_failure("chown box"); goto done; }
  }
  if (pipe2(meta, O_CLOEXEC)) { reply_failure("pipe"); goto done; }
  /* A raw clone, like fork but into new namespaces: a pid namespace can only be entered by a new
     process, and unshare(CLONE_NEWPID) works once per process. */
  pid_t init = (pid_t)syscall(SYS_clone, (unsigned long)((ns_flags & ~CLONE_NEWNET) | SIGCHLD), NULL, NULL, NULL, NULL);
  if (init < 0) { reply_failure("clone"); goto done; }
  if (init == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 || dup2(meta[1], META_FD) < 0) _exit(125);
    fcntl(META_FD, F_SETFD, FD_CLOEXEC);
    setup_mounts();
    if (mount_proc && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail("mount /proc");
    _exit(supervise((ns_flags & CLONE_NEWPID) != 0));
  }
  close(meta[1]);
  meta[1] = -1;
  size_t cap = 4096;
  meta_text = malloc(cap);
  for (;;) {
    if (meta_len == cap) { char skip[512]; ssize_t r = read(meta[0], skip, sizeof skip); if (r > 0 || (r < 0 && errno == EINTR)) continue; break; }
    ssize_t r = read(meta[0], meta_text + meta_len, cap - meta_len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    meta_len += r;
  }
  /* The report came when the init closed it on its way out, after it had killed and reaped every
     process of the run. Its exit then tears its namespaces down, which can take milliseconds on
     a busy machine (an RCU grace period): the reply goes first, the reaping and the box after,
     while the worker reads the reply. */
  int status = 0;
  if (meta_len == 0) {
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {}
    init = 0;
    meta_len = snprintf(meta_text, cap, "edgerun-sandbox: the run ended without a report (status %d)\n", status);
  }
  reply(meta_text, meta_len, out_fd, err_fd, 0);
  if (init > 0) while (waitpid(init, &status, 0) < 0 && errno == EINTR) {}
done:
  if (box_made) nftw(cwd, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  free(meta_text);
  for (int i = 0; i < 2; i++) if (meta[i] >= 0) close(meta[i]);
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
}

static int serve(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* The launcher's own complaints (fail, usage) go to fd 2; fd 3 is taken so that every file it
     opens later lands above the four a run's init rearranges. */
  if (dup2(2, META_FD) < 0 || fcntl(META_FD, F_SETFD, FD_CLOEXEC)) return 125;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--userns")) userns = 1;
    else if (!strcmp(argv[i], "--net")) ns_flags |= CLONE_NEWNET;
    else usage(argv[i]);
  }
  setup_namespaces();
  static char *args[MAX_ARGS + 1];
  for (;;) {
    uint32_t len;
    ssize_t got = read_full(0, &len, 4);
    if (got == 0) return 0;
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
    int keep_userns = userns;
    reset_run();
    parse(n, args);
    userns = keep_userns;
    run_one(req + (off < len ? off : len), off < len ? len - off : 0);
    free(req);
  }
}
`
