/*
 * os.c - file system calls with one place for fault injection.
 *
 * Design: thin wrappers over POSIX that (1) translate errno into TN codes
 * with a message naming the path, (2) loop over short reads and writes,
 * (3) consult the fault table armed from TARN_FAULT before the real call.
 * The fault table is process-wide and protected by a mutex; the counters
 * only move when a fault is armed, so production pays one relaxed load.
 */
#include "core/os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/banned.h"

enum fault_op { F_WRITE, F_FSYNC, F_RENAME, F_FALLOCATE, F_OPEN, F_UNLINK, F_NOPS };
enum fault_kind { K_NONE, K_EIO, K_ENOSPC, K_SHORT, K_CRASH };

static const char *const op_names[F_NOPS] = { "write", "fsync", "rename", "fallocate", "open",
						 "unlink" };

static struct {
	pthread_mutex_t mu;
	atomic_int armed;   /* -1 unread, 0 none, 1 armed */
	enum fault_kind kind[F_NOPS];
	long at[F_NOPS];
	long calls[F_NOPS];
} faults = { PTHREAD_MUTEX_INITIALIZER, -1, { 0 }, { 0 }, { 0 } };

static void fault_parse(void)
{
	const char *env = getenv("TARN_FAULT");
	memset(faults.kind, 0, sizeof faults.kind);
	memset(faults.calls, 0, sizeof faults.calls);
	int any = 0;
	if (env && *env) {
		char spec[256];
		snprintf(spec, sizeof spec, "%s", env);
		char *save = NULL;
		for (char *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char op[32], kind[32];
			long n;
			if (sscanf(tok, "%31[a-z]:%31[a-z]:%ld", op, kind, &n) != 3 || n < 1)
				continue;
			for (int i = 0; i < F_NOPS; i++) {
				if (strcmp(op, op_names[i]) != 0)
					continue;
				enum fault_kind k = !strcmp(kind, "eio") ? K_EIO :
					!strcmp(kind, "enospc") ? K_ENOSPC :
					!strcmp(kind, "short") ? K_SHORT :
					!strcmp(kind, "crash") ? K_CRASH : K_NONE;
				if (k != K_NONE) {
					faults.kind[i] = k;
					faults.at[i] = n;
					any = 1;
				}
			}
		}
	}
	atomic_store(&faults.armed, any);
}

void os_fault_reset(void)
{
	pthread_mutex_lock(&faults.mu);
	fault_parse();
	pthread_mutex_unlock(&faults.mu);
}

/* Returns the fault to apply to this call of op (K_NONE almost always). */
static enum fault_kind fault_check(enum fault_op op)
{
	int armed = atomic_load_explicit(&faults.armed, memory_order_relaxed);
	if (armed == 0)
		return K_NONE;
	pthread_mutex_lock(&faults.mu);
	if (atomic_load(&faults.armed) < 0)
		fault_parse();
	enum fault_kind k = K_NONE;
	if (faults.kind[op] != K_NONE) {
		long c = ++faults.calls[op];
		if (c == faults.at[op] || (c > faults.at[op] && faults.kind[op] != K_CRASH))
			k = faults.kind[op];
	}
	pthread_mutex_unlock(&faults.mu);
	if (k == K_CRASH) {
		fprintf(stderr, "tarn: fault injection: crash at %s\n", op_names[op]);
		kill(getpid(), SIGKILL);
	}
	return k;
}

static int fail_errno(char *err, int e, const char *what, const char *path)
{
	return tn_fail(err, tn_from_errno(e), "%s '%s': %s", what, path, strerror(e));
}

int os_open(const char *path, int flags, int mode, char *err)
{
	enum fault_kind k = fault_check(F_OPEN);
	if (k == K_EIO || k == K_SHORT)
		return fail_errno(err, EIO, "open", path);
	if (k == K_ENOSPC && (flags & O_CREAT))
		return fail_errno(err, ENOSPC, "open", path);
	int fd;
	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return fail_errno(err, errno, "open", path);
	return fd;
}

void os_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int do_write(int fd, const void *p, size_t n, uint64_t off, int positional,
		    const char *path, char *err)
{
	enum fault_kind k = fault_check(F_WRITE);
	if (k == K_EIO)
		return fail_errno(err, EIO, "write", path);
	if (k == K_ENOSPC)
		return fail_errno(err, ENOSPC, "write", path);
	if (k == K_SHORT && n > 1) {
		/* Write half, then fail as a full disk would. */
		ssize_t w = positional ? pwrite(fd, p, n / 2, (off_t)off) : write(fd, p, n / 2);
		(void)w;
		return fail_errno(err, ENOSPC, "write", path);
	}
	const char *c = p;
	while (n > 0) {
		ssize_t w = positional ? pwrite(fd, c, n, (off_t)off) : write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno(err, errno, "write", path);
		}
		if (w == 0)
			return fail_errno(err, ENOSPC, "write", path);
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int os_pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *path, char *err)
{
	return do_write(fd, p, n, off, 1, path, err);
}

int os_write_all(int fd, const void *p, size_t n, const char *path, char *err)
{
	return do_write(fd, p, n, 0, 0, path, err);
}

int os_pread(int fd, void *p, size_t n, uint64_t off, size_t *got, const char *path, char *err)
{
	size_t total = 0;
	char *c = p;
	while (total < n) {
		ssize_t r = pread(fd, c + total, n - total, (off_t)(off + total));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno(err, errno, "read", path);
		}
		if (r == 0)
			break;
		total += (size_t)r;
	}
	*got = total;
	return 0;
}

static int do_sync(int fd, int data_only, const char *path, char *err)
{
	enum fault_kind k = fault_check(F_FSYNC);
	if (k == K_EIO || k == K_SHORT)
		return fail_errno(err, EIO, "fsync", path);
	if (k == K_ENOSPC)
		return fail_errno(err, ENOSPC, "fsync", path);
	int rc = data_only ? fdatasync(fd) : fsync(fd);
	if (rc < 0)
		return fail_errno(err, errno, "fsync", path);
	return 0;
}

int os_fsync(int fd, const char *path, char *err)
{
	return do_sync(fd, 0, path, err);
}

int os_fdatasync(int fd, const char *path, char *err)
{
	return do_sync(fd, 1, path, err);
}

int os_fallocate(int fd, uint64_t len, const char *path, char *err)
{
	enum fault_kind k = fault_check(F_FALLOCATE);
	if (k == K_EIO || k == K_SHORT)
		return fail_errno(err, EIO, "fallocate", path);
	if (k == K_ENOSPC)
		return fail_errno(err, ENOSPC, "fallocate", path);
	int rc = posix_fallocate(fd, 0, (off_t)len);
	if (rc != 0)
		return fail_errno(err, rc, "fallocate", path);
	return 0;
}

int os_ftruncate(int fd, uint64_t len, const char *path, char *err)
{
	if (ftruncate(fd, (off_t)len) < 0)
		return fail_errno(err, errno, "truncate", path);
	return 0;
}

int os_rename(const char *from, const char *to, char *err)
{
	enum fault_kind k = fault_check(F_RENAME);
	if (k == K_EIO || k == K_SHORT)
		return fail_errno(err, EIO, "rename", to);
	if (k == K_ENOSPC)
		return fail_errno(err, ENOSPC, "rename", to);
	if (rename(from, to) < 0)
		return fail_errno(err, errno, "rename", to);
	return 0;
}

int os_rename_noreplace(const char *from, const char *to, char *err)
{
	enum fault_kind k = fault_check(F_RENAME);
	if (k == K_EIO || k == K_SHORT)
		return fail_errno(err, EIO, "rename", to);
	if (k == K_ENOSPC)
		return fail_errno(err, ENOSPC, "rename", to);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
		return fail_errno(err, errno, "rename", to);
	return 0;
}

int os_unlink(const char *path, char *err)
{
	if (fault_check(F_UNLINK) != K_NONE)
		return fail_errno(err, EIO, "unlink", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return fail_errno(err, errno, "unlink", path);
	return 0;
}

int os_fsync_dir(const char *dir, char *err)
{
	int fd = os_open(dir, O_RDONLY | O_DIRECTORY, 0, err);
	if (fd < 0)
		return fd;
	int rc = os_fsync(fd, dir, err);
	os_close(fd);
	return rc;
}

int os_fsync_parent(const char *path, char *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return os_fsync_dir(".", err);
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return os_fsync_dir(dir, err);
}

int os_mkdir_p(const char *path, int mode, char *err)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return tn_fail(err, TN_EINVAL, "path '%s': too long", path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (os_is_dir(p))
		return 0;
	/* Create the parent first, then this one, then make it durable. */
	char *slash = strrchr(p, '/');
	if (slash && slash != p) {
		*slash = '\0';
		int rc = os_mkdir_p(p, mode, err);
		*slash = '/';
		if (rc)
			return rc;
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return fail_errno(err, errno, "mkdir", p);
	return os_fsync_parent(p, err);
}

bool os_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

bool os_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t os_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return tn_from_errno(errno);
	return (int64_t)st.st_size;
}

int os_read_file(const char *path, size_t max, struct buf *out, char *err)
{
	int fd = os_open(path, O_RDONLY, 0, err);
	if (fd < 0)
		return fd;
	int rc = 0;
	char tmp[65536];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = fail_errno(err, errno, "read", path);
			break;
		}
		if (r == 0)
			break;
		if (out->len + (size_t)r > max) {
			rc = tn_fail(err, TN_ETOOBIG, "file '%s': larger than %zu bytes", path, max);
			break;
		}
		rc = buf_append(out, tmp, (size_t)r);
		if (rc) {
			tn_fail(err, rc, "file '%s': too big", path);
			break;
		}
	}
	os_close(fd);
	return rc;
}

int os_tmp_path(const char *path, char *out, size_t outlen)
{
	static atomic_ulong counter;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	const char *base = slash ? slash + 1 : path;
	int n = snprintf(out, outlen, "%.*s" OS_TMP_PREFIX "%s.%ld.%lu", dirlen, path, base,
			 (long)getpid(), atomic_fetch_add(&counter, 1));
	return n < 0 || (size_t)n >= outlen ? TN_EINVAL : 0;
}

int os_write_file_atomic(const char *path, const void *p, size_t n, int mode, char *err)
{
	char tmp[PATH_MAX];
	if (os_tmp_path(path, tmp, sizeof tmp))
		return tn_fail(err, TN_EINVAL, "path '%s': too long", path);
	int fd = os_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode, err);
	if (fd < 0)
		return fd;
	int rc = os_write_all(fd, p, n, tmp, err);
	if (rc == 0)
		rc = os_fsync(fd, tmp, err);
	os_close(fd);
	if (rc == 0)
		rc = os_rename(tmp, path, err);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return os_fsync_parent(path, err);
}

int64_t os_free_bytes(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return tn_from_errno(errno);
	return (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}
