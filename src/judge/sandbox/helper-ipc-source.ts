/**
 * The served launcher's IPC namespace (C, inserted in helper-serve-source.ts). A new IPC
 * namespace per run cost the launcher a fifth of its time per test (its mqueue mount and sysctl
 * tables made, then freed by a kernel worker), so a launcher started with --ipc makes one for
 * itself and empties it after every run instead: it removes every System V shared memory
 * segment, semaphore set and message queue, and every POSIX message queue, once the run's
 * processes are all gone and before the next run starts. What a run could leave there is
 * exactly those objects and the namespace's sysctls; only the namespace's root may change the
 * sysctls, so a run that does not switch uid (a user namespace's uid 0, which would be that root)
 * still gets an IPC namespace of its own, as does every run where the POSIX queues cannot be
 * reached (a kernel without fsopen).
 */
export const IPC_SOURCE = String.raw`
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 1
#define FSCONFIG_CMD_CREATE 6
#define FSMOUNT_CLOEXEC 1
#endif

/* The root of this IPC namespace's POSIX message queues (a mount attached nowhere), or -1. */
static int mqueue_dir = -1;

/* In the launcher's own IPC namespace, once. */
static void open_mqueue_dir(void) {
#ifdef SYS_fsopen
  int fs = (int)syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC);
  if (fs < 0) return;
  if (!syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    if (mnt >= 0) {
      mqueue_dir = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      close(mnt);
    }
  }
  close(fs);
#endif
}

union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };

/* Removes every IPC object in the namespace: a few system calls when there are none. -1 when
   one could not be removed. */
static int sweep_ipc(void) {
  int left = 0;
  struct shm_info shm;
  int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&shm);
  for (int i = 0; max >= 0 && shm.used_ids > 0 && i <= max; i++) {
    struct shmid_ds ds;
    int id = shmctl(i, SHM_STAT, &ds);
    if (id >= 0 && shmctl(id, IPC_RMID, NULL)) left = 1;
  }
  struct seminfo sem;
  union semun arg = { .__buf = &sem };
  max = semctl(0, 0, SEM_INFO, arg);
  for (int i = 0; max >= 0 && sem.semusz > 0 && i <= max; i++) {
    struct semid_ds ds;
    arg.buf = &ds;
    int id = semctl(i, 0, SEM_STAT, arg);
    if (id >= 0 && semctl(id, 0, IPC_RMID)) left = 1;
  }
  struct msginfo msg;
  max = msgctl(0, MSG_INFO, (struct msqid_ds *)&msg);
  for (int i = 0; max >= 0 && msg.msgpool > 0 && i <= max; i++) {
    struct msqid_ds ds;
    int id = msgctl(i, MSG_STAT, &ds);
    if (id >= 0 && msgctl(id, IPC_RMID, NULL)) left = 1;
  }
  if (mqueue_dir < 0 || lseek(mqueue_dir, 0, SEEK_SET)) return -1;
  char buf[4096];
  for (long n; (n = syscall(SYS_getdents64, mqueue_dir, buf, sizeof buf)) != 0;) {
    if (n < 0) return -1;
    for (long off = 0; off < n;) {
      struct dirent64 *entry = (struct dirent64 *)(buf + off);
      off += entry->d_reclen;
      if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") && unlinkat(mqueue_dir, entry->d_name, 0)) left = 1;
    }
  }
  return left ? -1 : 0;
}
`
