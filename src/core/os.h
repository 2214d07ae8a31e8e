/*
 * os.h - the one seam between tarn and the file system.
 *
 * Every file call of the core goes through here, so tests can inject
 * failures exactly where durability is decided (SQLite's VFS and test6.c):
 * EIO, ENOSPC, short writes, and a simulated crash (the process dies with
 * SIGKILL) just before an fsync.  Faults are armed from the environment
 * at first use:
 *
 *   TARN_FAULT=<op>:<kind>:<n>[,<op>:<kind>:<n>...]
 *     op    write | fsync | rename | fallocate | open | unlink (eio only)
 *     kind  eio | enospc | short | crash
 *     n     the fault fires on the n-th call of op (1-based) and, for
 *           eio/enospc/short, on every later call too
 *
 * Functions return 0 or a negative TN code and, given err, a message
 * naming the path.  Any thread may call them.
 */
#ifndef TN_OS_H
#define TN_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

/* open(2) with O_CLOEXEC; returns the fd (>= 0) or a negative TN code. */
int os_open(const char *path, int flags, int mode, char *err);
void os_close(int fd);
/* Writes all n bytes at off (pwrite loop). A short write is TN_EIO/ENOSPC. */
int os_pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *path, char *err);
int os_write_all(int fd, const void *p, size_t n, const char *path, char *err);
/* Reads up to n bytes at off; *got is the count (short only at EOF). */
int os_pread(int fd, void *p, size_t n, uint64_t off, size_t *got, const char *path, char *err);
int os_fsync(int fd, const char *path, char *err);
int os_fdatasync(int fd, const char *path, char *err);
/* Reserves [0, len) on disk so later writes inside it cannot hit ENOSPC. */
int os_fallocate(int fd, uint64_t len, const char *path, char *err);
int os_ftruncate(int fd, uint64_t len, const char *path, char *err);
int os_rename(const char *from, const char *to, char *err);
/* rename that fails with TN_ECONFLICT instead of replacing an existing to. */
int os_rename_noreplace(const char *from, const char *to, char *err);
int os_unlink(const char *path, char *err);
/* fsyncs the directory holding path (after a create, rename or unlink). */
int os_fsync_parent(const char *path, char *err);
int os_fsync_dir(const char *dir, char *err);
/* mkdir -p; directories created are fsync'd into their parents. */
int os_mkdir_p(const char *path, int mode, char *err);
bool os_exists(const char *path);
bool os_is_dir(const char *path);
/* Size of the file at path, or a negative TN code. */
int64_t os_file_size(const char *path);
/* Reads a whole file (up to max bytes) into out. */
int os_read_file(const char *path, size_t max, struct buf *out, char *err);
/*
 * Temp files of atomic writes are named ".tarn-tmp-<name>.<pid>.<n>" beside
 * their target; listings skip names with this prefix.
 */
#define OS_TMP_PREFIX ".tarn-tmp-"
/* Builds the temp path for target path into out (PATH_MAX). */
int os_tmp_path(const char *path, char *out, size_t outlen);
/*
 * Writes a whole file atomically: a temp file beside it, fsync, rename over
 * path, fsync of the directory.  A reader sees the old file or the new one,
 * never a part.
 */
int os_write_file_atomic(const char *path, const void *p, size_t n, int mode, char *err);
/* Free bytes for unprivileged writers on the file system holding path. */
int64_t os_free_bytes(const char *path);

/* Re-reads TARN_FAULT (tests call it after setenv). */
void os_fault_reset(void);

#endif
