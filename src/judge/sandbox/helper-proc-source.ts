/**
 * What `edgerun-sandbox` (C, helper-source.ts) reads from /proc: the CPU time of every process
 * of a run, for the whole-tree CPU limit, and, without a pid namespace, the children to kill.
 * Inserted in the helper's source before the supervision that uses it.
 */
export const PROC_SOURCE = String.raw`
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
`
