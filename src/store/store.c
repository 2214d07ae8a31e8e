/*
 * store.c - objects in zones on local disk.
 *
 * Model: an object key is a path relative to the lake root; its first
 * folders name the zone (zone folders may be nested, "warehouse/core").
 * Invariants:
 *   - every write is temp file -> fsync -> rename -> fsync(dir): after a
 *     crash an object is either whole or absent;
 *   - raw-zone objects are never replaced or deleted, except that the
 *     flusher may rewrite its own objects with identical bytes on replay
 *     (STORE_REPLAY); ordinary raw writes use rename-without-replace, so
 *     even two racing writers cannot overwrite each other;
 *   - .tarn/ and temp files (OS_TMP_PREFIX) are never objects;
 *   - keys outside every zone (tarn.yaml, ...) are refused.
 * Thread-safe: the struct is read-only after store_open.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "core/banned.h"

static const char *const zone_names[ZONE_COUNT] = {
	"raw", "transient", "master", "drop", "sandbox", "log",
	"stage", "cleanse", "core", "mart", "references",
};

static const char *const zone_defaults[ZONE_COUNT] = {
	"01-raw-data-zone", "02-transient-zone", "03-master-data-zone", "04-user-drop-zone",
	"data/user", "log", "warehouse/stage", "warehouse/cleanse", "warehouse/core",
	"warehouse/mart", "references",
};

/* Fixed sub-folders created by store_create_layout (zone, folder). */
static const struct {
	enum zone z;
	const char *sub;
} layout_subdirs[] = {
	{ ZONE_TRANSIENT, "01-athena" },
	{ ZONE_TRANSIENT, "02-glue" },
	{ ZONE_TRANSIENT, "quarantine" },
	{ ZONE_LOG, "server" },
	{ ZONE_LOG, "audit" },
	{ ZONE_LOG, "jobs" },
};

struct store {
	char *root;
	int root_fd;       /* O_PATH: objects are read by openat from it (a shorter walk) */
	char *dir[ZONE_COUNT];
	size_t dirlen[ZONE_COUNT];
	int64_t opened_ms;  /* wall clock at open: older temp files are a past life's */
};

const char *zone_db_name(enum zone z)
{
	return z < ZONE_COUNT ? zone_names[z] : NULL;
}

int zone_by_name(const char *name)
{
	if (!strcmp(name, "bronze"))
		return ZONE_RAW;
	if (!strcmp(name, "silver"))
		return ZONE_CLEANSE;
	if (!strcmp(name, "gold"))
		return ZONE_MART;
	for (int i = 0; i < ZONE_COUNT; i++)
		if (!strcmp(name, zone_names[i]))
			return i;
	return -1;
}

const char *zone_default_dir(enum zone z)
{
	return z < ZONE_COUNT ? zone_defaults[z] : NULL;
}

int store_open(const char *root, const struct zone_dirs *dirs, struct store **out, char *err)
{
	char abs[PATH_MAX];
	if (!realpath(root, abs))
		return tn_fail(err, TN_ENOTFOUND, "lake '%s': no such directory", root);
	struct store *s = xcalloc(1, sizeof *s);
	s->opened_ms = time_now_ms();
	s->root = xstrdup(abs);
	s->root_fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		int rc = tn_fail(err, TN_EIO, "lake '%s': %s", abs, strerror(errno));
		store_close(s);
		return rc;
	}
	for (int i = 0; i < ZONE_COUNT; i++) {
		const char *d = dirs && dirs->dir[i] && *dirs->dir[i] ? dirs->dir[i] : zone_defaults[i];
		if (store_key_check(d, strlen(d), NULL) != 0 || !strncmp(d, ".tarn", 5)) {
			int rc = tn_fail(err, TN_EINVAL, "zone '%s': invalid folder '%s'",
					 zone_names[i], d);
			store_close(s);
			return rc;
		}
		s->dir[i] = xstrdup(d);
		s->dirlen[i] = strlen(d);
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ZONE_COUNT; i++)
		free(s->dir[i]);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->root);
	free(s);
}

int store_create_layout(struct store *s, char *err)
{
	char path[PATH_MAX];
	for (int i = 0; i < ZONE_COUNT; i++) {
		snprintf(path, sizeof path, "%s/%s", s->root, s->dir[i]);
		int rc = os_mkdir_p(path, 0750, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < sizeof layout_subdirs / sizeof layout_subdirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", s->root, s->dir[layout_subdirs[i].z],
			 layout_subdirs[i].sub);
		int rc = os_mkdir_p(path, 0750, err);
		if (rc)
			return rc;
	}
	return 0;
}

const char *store_root(const struct store *s)
{
	return s->root;
}

const char *store_zone_dir(const struct store *s, enum zone z)
{
	return z < ZONE_COUNT ? s->dir[z] : NULL;
}

int store_zone_of(const struct store *s, const char *key)
{
	/* Longest matching zone folder wins (zones may nest under a common parent). */
	int best = -1;
	size_t bestlen = 0;
	for (int i = 0; i < ZONE_COUNT; i++) {
		size_t n = s->dirlen[i];
		if (!strncmp(key, s->dir[i], n) && key[n] == '/' && n > bestlen) {
			best = i;
			bestlen = n;
		}
	}
	return best;
}

int store_key_check(const char *key, size_t n, char *err)
{
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "object key is empty");
	if (n > TN_MAX_KEY)
		return tn_fail(err, TN_EINVAL, "object key is %zu bytes, over the %u-byte limit", n,
			       TN_MAX_KEY);
	size_t seg = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || key[i] == '/') {
			size_t len = i - seg;
			const char *p = key + seg;
			if (len == 0)
				return tn_fail(err, TN_EINVAL,
					       "object key '%.*s': empty path segment at byte %zu",
					       (int)n, key, i);
			if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
				return tn_fail(err, TN_EINVAL,
					       "object key '%.*s': '.' and '..' segments are not allowed",
					       (int)n, key);
			if ((len >= 5 && !memcmp(p, ".tarn", 5)))
				return tn_fail(err, TN_EINVAL,
					       "object key '%.*s': segments starting with '.tarn' are reserved",
					       (int)n, key);
			seg = i + 1;
			continue;
		}
		unsigned char c = (unsigned char)key[i];
		if (c == 0)
			return tn_fail(err, TN_EINVAL, "object key contains a NUL byte at byte %zu", i);
		size_t l = utf8_seq_len((const unsigned char *)key + i, n - i);
		if (l == 0)
			return tn_fail(err, TN_EINVAL, "object key: invalid UTF-8 at byte %zu", i);
		i += l - 1;
	}
	return 0;
}

static int object_path(struct store *s, const char *key, char *path, size_t n, char *err)
{
	int rc = store_key_check(key, strlen(key), err);
	if (rc)
		return rc;
	if (store_zone_of(s, key) < 0)
		return tn_fail(err, TN_EINVAL, "object key '%s': not inside a zone", key);
	if ((size_t)snprintf(path, n, "%s/%s", s->root, key) >= n)
		return tn_fail(err, TN_EINVAL, "object key '%s': path too long", key);
	return 0;
}

/* The extended attribute holding an object's blob (store_writer_set_attr). */
#define STORE_XATTR "user.tarn.object"

/* Bytes a writer gathers before one write(2). */
#define STORE_WRITER_BUF (256u << 10)
/* A piece at least this large, with nothing gathered, is written as it is. */
#define STORE_WRITER_DIRECT (32u << 10)
/* The pieces of a paced write (write_paced). */
#define STORE_PACE (1u << 20)

struct store_writer {
	struct store *store;
	char *key;
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd;
	int flags;
	bool raw;
	struct buf pending;
	uint64_t written;
	void *attr;        /* store_writer_set_attr's blob, attached at commit */
	size_t attr_len;
	bool synced;       /* store_writer_sync ran: bytes and the blob of then are durable */
	bool attr_later;   /* a blob set after the sync: attached at commit, not synced */
	char dir[PATH_MAX];/* the object's folder */
};

/*
 * A part writer's flag: its folder is the upload's, made by
 * store_upload_create; gone, it means the upload was completed, aborted or
 * expired meanwhile, and must not come back.
 */
#define WRITER_IN_UPLOAD (1 << 16)

/* Creates the writer's temp file (and the object's folder). */
static int writer_create(struct store_writer *w, char *err)
{
	if (w->flags & WRITER_IN_UPLOAD) {
		w->fd = os_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0640, err);
		if (w->fd == TN_ENOTFOUND)
			return tn_fail(err, TN_ENOTFOUND, "%s: the upload no longer exists", w->key);
		return w->fd < 0 ? w->fd : 0;
	}
	int rc = os_mkdir_p(w->dir, 0750, err);
	if (rc)
		return rc;
	w->fd = os_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0640, err);
	if (w->fd == TN_ENOTFOUND && os_mkdir_p(w->dir, 0750, err) == 0) /* pruned meanwhile */
		w->fd = os_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0640, err);
	return w->fd < 0 ? w->fd : 0;
}

/* Opens a writer of the file path (key: what messages call it; raw: the immutable rules). */
static int writer_open_path(struct store *s, const char *path, const char *key, bool raw,
			    int flags, struct store_writer **out, char *err)
{
	struct store_writer *w = xcalloc(1, sizeof *w);
	int rc;
	*out = NULL;
	w->fd = -1;
	snprintf(w->path, sizeof w->path, "%s", path);
	w->raw = raw;
	if (w->raw && !(flags & STORE_REPLAY) && os_exists(w->path)) {
		rc = tn_fail(err, TN_ECONFLICT, "object '%s' exists and the raw zone is immutable",
			     key);
		goto fail;
	}
	snprintf(w->dir, sizeof w->dir, "%s", w->path);
	*strrchr(w->dir, '/') = '\0';
	if (os_tmp_path(w->path, w->tmp, sizeof w->tmp)) {
		rc = tn_fail(err, TN_EINVAL, "object key '%s': path too long", key);
		goto fail;
	}
	w->store = s;
	w->flags = flags;
	w->key = xstrdup(key);
	if (!(flags & STORE_LAZY) && (rc = writer_create(w, err))) {
		free(w->key);
		goto fail;
	}
	buf_init(&w->pending, 0);
	*out = w;
	return 0;
fail:
	free(w);
	return rc;
}

int store_writer_open(struct store *s, const char *key, int flags, struct store_writer **out,
		      char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	*out = NULL;
	if (rc)
		return rc;
	return writer_open_path(s, path, key, store_zone_of(s, key) == ZONE_RAW, flags, out, err);
}

static int writer_drain(struct store_writer *w, char *err);
static int remove_tree(const char *path, unsigned depth, unsigned *removed, char *err);

/* ---- multipart uploads: staged under .tarn/uploads/<id>/, never objects ---- */

static int upload_dir(struct store *s, const char *id, char *out, size_t n, char *err)
{
	size_t l = strlen(id);
	if (l < 16 || l > 64 || strspn(id, "0123456789abcdef") != l)
		return tn_fail(err, TN_ENOTFOUND, "upload '%.80s' does not exist", id);
	snprintf(out, n, "%s/.tarn/uploads/%s", s->root, id);
	return 0;
}

int store_upload_create(struct store *s, const char *id, const void *meta, size_t n, char *err)
{
	char dir[PATH_MAX], p[PATH_MAX];
	int rc = upload_dir(s, id, dir, sizeof dir, err);
	if (rc || (rc = os_mkdir_p(dir, 0700, err)))
		return rc;
	snprintf(p, sizeof p, "%s/upload.json", dir);
	return os_write_file_atomic(p, meta, n, 0600, err);
}

int store_upload_meta(struct store *s, const char *id, struct buf *out, int64_t *created_ns,
		      char *err)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct stat st;
	int rc = upload_dir(s, id, dir, sizeof dir, err);
	if (rc)
		return rc;
	snprintf(p, sizeof p, "%s/upload.json", dir);
	if (stat(p, &st) != 0)
		return tn_fail(err, TN_ENOTFOUND, "upload '%s' does not exist", id);
	if (created_ns)
		*created_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return os_read_file(p, 64u << 10, out, err);
}

bool store_drop_stale_temp(const struct store *s, const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	base = base ? base + 1 : path;
	if (strncmp(base, OS_TMP_PREFIX, strlen(OS_TMP_PREFIX)) || lstat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	if (mtime_ms >= s->opened_ms - STORE_STALE_TEMP_MS)
		return false;
	return unlink(path) == 0;
}

int store_part_writer_open(struct store *s, const char *id, unsigned part, int flags,
			   struct store_writer **out, char *err)
{
	char dir[PATH_MAX], p[PATH_MAX], name[64];
	int rc = upload_dir(s, id, dir, sizeof dir, err);
	*out = NULL;
	if (rc)
		return rc;
	snprintf(p, sizeof p, "%s/upload.json", dir);
	if (!os_exists(p))
		return tn_fail(err, TN_ENOTFOUND, "upload '%s' does not exist", id);
	snprintf(p, sizeof p, "%s/part-%05u", dir, part);
	snprintf(name, sizeof name, "part %u of upload %.20s", part, id);
	return writer_open_path(s, p, name, false, (flags & STORE_LAZY) | WRITER_IN_UPLOAD, out,
				err);
}

int store_upload_parts(struct store *s, const char *id, struct store_part **out, size_t *n,
		       char *err)
{
	char dir[PATH_MAX];
	int rc = upload_dir(s, id, dir, sizeof dir, err);
	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return tn_fail(err, TN_ENOTFOUND, "upload '%s' does not exist", id);
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(d)) != NULL) {
		unsigned num = 0;
		if (strlen(de->d_name) != 10 || strncmp(de->d_name, "part-", 5) ||
		    strspn(de->d_name + 5, "0123456789") != 5)
			continue;
		num = (unsigned)strtoul(de->d_name + 5, NULL, 10);
		char p[PATH_MAX + 32];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		struct store_part *sp = &(*out)[(*n)++];
		memset(sp, 0, sizeof *sp);
		sp->number = num;
		sp->size = (uint64_t)st.st_size;
		sp->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		ssize_t al = getxattr(p, STORE_XATTR, sp->attr, sizeof sp->attr - 1);
		sp->attr_len = al > 0 ? (size_t)al : 0;
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++) /* insertion sort by number: parts arrive near-sorted */
		for (size_t j = i; j > 0 && (*out)[j - 1].number > (*out)[j].number; j--) {
			struct store_part t = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
	return 0;
}

int store_writer_append_part(struct store_writer *w, const char *id, unsigned part, char *err)
{
	char dir[PATH_MAX], p[PATH_MAX + 16];
	int rc = upload_dir(w->store, id, dir, sizeof dir, err);
	if (rc || (rc = writer_drain(w, err)))
		return rc;
	snprintf(p, sizeof p, "%s/part-%05u", dir, part);
	int fd = os_open(p, O_RDONLY, 0, err);
	if (fd < 0)
		return tn_fail(err, fd, "part %u of upload '%s' is gone", part, id);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		os_close(fd);
		return tn_fail(err, TN_EIO, "stat '%s': %s", p, strerror(errno));
	}
	/* in-kernel copy: the bytes do not pass through this process */
	uint64_t left = (uint64_t)st.st_size;
	while (left > 0) {
		ssize_t c = copy_file_range(fd, NULL, w->fd, NULL,
					    left > (1u << 30) ? (1u << 30) : (size_t)left, 0);
		if (c < 0 && errno == EINTR)
			continue;
		if (c <= 0) {
			int e = errno;
			os_close(fd);
			return tn_fail(err, e == ENOSPC ? TN_ENOSPC : TN_EIO, "copy of part %u: %s",
				       part, c == 0 ? "file shrank" : strerror(e));
		}
		left -= (uint64_t)c;
		w->written += (uint64_t)c;
	}
	os_close(fd);
	return 0;
}

int store_upload_remove(struct store *s, const char *id, char *err)
{
	char dir[PATH_MAX];
	unsigned removed = 0;
	int rc = upload_dir(s, id, dir, sizeof dir, err);
	if (rc)
		return rc;
	if (!os_is_dir(dir))
		return tn_fail(err, TN_ENOTFOUND, "upload '%s' does not exist", id);
	return remove_tree(dir, 0, &removed, err);
}

int store_uploads(struct store *s, store_upload_fn fn, void *arg, char *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/.tarn/uploads", s->root);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : tn_fail(err, TN_EIO, "list '%s': %s", dir,
						      strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char dummy[TN_ERRLEN];
		if (de->d_name[0] == '.' || upload_dir(s, de->d_name, tmp, sizeof tmp, dummy))
			continue;
		rc = fn(arg, de->d_name);
	}
	closedir(d);
	return rc > 0 ? 0 : rc;
}

static int writer_drain(struct store_writer *w, char *err)
{
	int rc = w->fd < 0 ? writer_create(w, err) : 0;
	if (rc)
		return rc;
	if (w->pending.len)
		rc = os_write_all(w->fd, w->pending.data, w->pending.len, w->tmp, err);
	buf_reset(&w->pending);
	return rc;
}

int store_writer_write(struct store_writer *w, const void *p, size_t n, char *err)
{
	int rc;
	if (w->pending.len + n > STORE_WRITER_BUF && (rc = writer_drain(w, err)))
		return rc;
	w->written += n;
	if (w->pending.len == 0 && n >= STORE_WRITER_DIRECT) {
		if (w->fd < 0 && (rc = writer_create(w, err)))
			return rc;
		return os_write_all(w->fd, p, n, w->tmp, err);
	}
	return buf_append(&w->pending, p, n);
}

uint64_t store_writer_size(const struct store_writer *w)
{
	return w->written;
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		os_close(w->fd);
		unlink(w->tmp);
	}
	buf_release(&w->pending);
	free(w->attr);
	free(w->key);
	free(w);
}

int store_writer_set_attr(struct store_writer *w, const void *p, size_t n, char *err)
{
	if (n > STORE_MAX_ATTR)
		return tn_fail(err, TN_ETOOBIG, "object attributes of %zu bytes, over %u", n,
			       STORE_MAX_ATTR);
	free(w->attr);
	w->attr = xmalloc(n ? n : 1);
	memcpy(w->attr, p, n);
	w->attr_len = n;
	w->attr_later = w->synced;
	return 0;
}

static int attr_fail(int e, const char *path, char *err)
{
	if (e == ENOTSUP)
		return tn_fail(err, TN_EUNSUPPORTED, "'%s': the file system keeps no user attributes",
			       path);
	if (e == ENOSPC || e == EDQUOT)
		return tn_fail(err, TN_ENOSPC, "'%s': no space for its attributes", path);
	if (e == E2BIG || e == ERANGE)
		return tn_fail(err, TN_ETOOBIG, "'%s': attributes too large", path);
	return tn_fail(err, TN_EIO, "'%s': attributes: %s", path, strerror(e));
}

/* Attaches the blob to the temp file (none: nothing). */
static int writer_attach(struct store_writer *w, char *err)
{
	/* no user xattrs on this file system: the object is kept without its blob */
	if (w->attr && fsetxattr(w->fd, STORE_XATTR, w->attr, w->attr_len, 0) != 0 &&
	    errno != ENOTSUP)
		return attr_fail(errno, w->tmp, err);
	return 0;
}

int store_writer_sync(struct store_writer *w, char *err)
{
	int rc = writer_drain(w, err);
	if (rc == 0)
		rc = writer_attach(w, err);
	if (rc == 0 && !(w->flags & STORE_NOSYNC))
		rc = os_fsync(w->fd, w->tmp, err);
	w->synced = rc == 0;
	return rc;
}

int store_writer_commit(struct store_writer *w, char *err)
{
	int rc = 0;
	if (!w->synced)
		rc = store_writer_sync(w, err);
	else if (w->attr_later)
		rc = writer_attach(w, err);
	/*
	 * Clean pages of a durable object are dropped at once rather than left
	 * to age out: a bulk writer otherwise fills the page cache with data
	 * nobody reads soon, and every new page costs more to fill than a
	 * recycled one (10x on the benchmark machine).
	 */
	if (rc == 0 && (w->flags & STORE_UNCACHED) && !(w->flags & STORE_NOSYNC))
		(void)posix_fadvise(w->fd, 0, 0, POSIX_FADV_DONTNEED);
	os_close(w->fd);
	w->fd = -1;
	if (rc == 0) {
		if (w->raw && !(w->flags & STORE_REPLAY)) {
			rc = os_rename_noreplace(w->tmp, w->path, err);
			if (rc == TN_ECONFLICT)
				tn_fail(err, rc, "object '%s' exists and the raw zone is immutable",
					w->key);
		} else {
			rc = os_rename(w->tmp, w->path, err);
		}
	}
	if (rc)
		unlink(w->tmp);
	if (rc == 0 && !(w->flags & STORE_NOSYNC))
		rc = os_fsync_dir(w->dir, err);
	buf_release(&w->pending);
	free(w->attr);
	free(w->key);
	free(w);
	return rc;
}

/*
 * Writes iov in STORE_PACE pieces, each sent to the disk as soon as it is
 * in the page cache, and waits for the piece before it: at most two pieces
 * of this object are in the disk's queue at a time, so a WAL's fdatasync
 * waits behind a piece, not behind the whole object flushed at once by
 * the commit's fsync (8 MiB objects made 10 ms stalls of every durable
 * append).  The fsync at commit then finds the data written.
 */
static int write_paced(struct store_writer *w, const struct iovec *iov, int iovcnt, char *err)
{
	uint64_t off = 0, sent = 0, waited = 0;
	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			size_t n = left < STORE_PACE - (off - sent) ? left : STORE_PACE - (off - sent);
			int rc = os_write_all(w->fd, p, n, w->tmp, err);
			if (rc)
				return rc;
			p += n;
			left -= n;
			off += n;
			if (off - sent < STORE_PACE)
				continue;
			/* a hint: the fsync at commit is what makes the bytes durable */
			if (sent > waited)
				(void)sync_file_range(w->fd, (off_t)waited, (off_t)(sent - waited),
						      SYNC_FILE_RANGE_WAIT_BEFORE |
						      SYNC_FILE_RANGE_WRITE |
						      SYNC_FILE_RANGE_WAIT_AFTER);
			waited = sent;
			(void)sync_file_range(w->fd, (off_t)sent, (off_t)(off - sent),
					      SYNC_FILE_RANGE_WRITE);
			sent = off;
		}
	}
	return 0;
}

int store_put(struct store *s, const char *key, const struct iovec *iov, int iovcnt, int flags,
	      char *err)
{
	struct store_writer *w;
	int rc = store_writer_open(s, key, flags, &w, err);
	if (rc)
		return rc;
	if ((flags & STORE_UNCACHED) && !(flags & STORE_NOSYNC))
		rc = write_paced(w, iov, iovcnt, err);
	else
		for (int i = 0; rc == 0 && i < iovcnt; i++)
			rc = os_write_all(w->fd, iov[i].iov_base, iov[i].iov_len, w->tmp, err);
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	return store_writer_commit(w, err);
}

int store_head(struct store *s, const char *key, uint64_t *size, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (os_is_dir(path))
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	int64_t n = os_file_size(path);
	if (n < 0)
		return tn_fail(err, (int)n, "object '%s': not found", key);
	*size = (uint64_t)n;
	return 0;
}

int store_get(struct store *s, const char *key, size_t max, struct buf *out, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (!os_exists(path) || os_is_dir(path))
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	return os_read_file(path, max, out, err);
}

int store_read_at(struct store *s, const char *key, uint64_t off, size_t max, struct buf *out,
		  uint64_t *size, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (os_is_dir(path))
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	int fd = os_open(path, O_RDONLY, 0, err);
	if (fd < 0)
		return fd == TN_ENOTFOUND ? tn_fail(err, fd, "object '%s': not found", key) : fd;
	int64_t total = os_file_size(path);
	if (total < 0) {
		os_close(fd);
		return tn_fail(err, (int)total, "object '%s': not found", key);
	}
	*size = (uint64_t)total;
	size_t want = off >= (uint64_t)total ? 0
		: (uint64_t)total - off < max ? (size_t)((uint64_t)total - off) : max;
	size_t got = 0;
	if (want && (rc = buf_grow(out, want)) == 0) {
		rc = os_pread(fd, out->data + out->len, want, off, &got, path, err);
		if (rc == 0)
			out->len += got;
	}
	os_close(fd);
	return rc;
}

/*
 * Removes the folders of key left empty by its deletion, up to (not
 * including) its zone folder and the fixed folders of the layout, as S3
 * has no empty folders to show.  rmdir refuses a folder that is not empty,
 * so a concurrent writer's folder stays (and a writer that loses its
 * folder between mkdir and open makes it again: writer_open_path).
 */
static void prune_empty_parents(struct store *s, const char *key)
{
	char dir[PATH_MAX];
	int z = store_zone_of(s, key);
	if (z < 0)
		return;
	size_t keep = strlen(s->root) + 1 + strlen(s->dir[z]);
	snprintf(dir, sizeof dir, "%s/%s", s->root, key);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) <= keep)
			return;
		*slash = '\0';
		for (size_t i = 0; i < sizeof layout_subdirs / sizeof layout_subdirs[0]; i++) {
			char fixed[PATH_MAX];
			snprintf(fixed, sizeof fixed, "%s/%s/%s", s->root, s->dir[layout_subdirs[i].z],
				 layout_subdirs[i].sub);
			if (!strcmp(fixed, dir))
				return;
		}
		if (rmdir(dir) != 0)
			return;
	}
}

int store_open_read(struct store *s, const char *key, int *fd, struct store_stat *st, char *err)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	int f = openat(s->root_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
		return tn_fail(err, TN_EIO, "open '%s': %s", path, strerror(errno));
	}
	if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(f);
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	}
	st->size = (uint64_t)sb.st_size;
	st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	st->dev = (uint64_t)sb.st_dev;
	st->ino = (uint64_t)sb.st_ino;
	st->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
	*fd = f;
	return 0;
}

int store_attr_get(struct store *s, const char *key, struct buf *out, char *err)
{
	char path[PATH_MAX], tmp[STORE_MAX_ATTR];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	ssize_t n = lgetxattr(path, STORE_XATTR, tmp, sizeof tmp);
	if (n < 0) {
		if (errno == ENODATA || errno == ENOENT || errno == ENOTDIR)
			return tn_fail(err, TN_ENOTFOUND, "object '%s': no attributes", key);
		return attr_fail(errno, path, err);
	}
	return buf_append(out, tmp, (size_t)n);
}

int store_attr_get_fd(int fd, const char *key, struct buf *out, char *err)
{
	char tmp[STORE_MAX_ATTR];
	ssize_t n = fgetxattr(fd, STORE_XATTR, tmp, sizeof tmp);
	if (n < 0) {
		if (errno == ENODATA)
			return tn_fail(err, TN_ENOTFOUND, "object '%s': no attributes", key);
		return attr_fail(errno, key, err);
	}
	return buf_append(out, tmp, (size_t)n);
}

int store_attr_set(struct store *s, const char *key, const void *p, size_t n, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (n > STORE_MAX_ATTR)
		return tn_fail(err, TN_ETOOBIG, "object attributes of %zu bytes, over %u", n,
			       STORE_MAX_ATTR);
	if (os_is_dir(path))
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	if (lsetxattr(path, STORE_XATTR, p, n, 0) != 0)
		return errno == ENOENT ? tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key)
				       : attr_fail(errno, path, err);
	return 0;
}

int store_delete(struct store *s, const char *key, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (store_zone_of(s, key) == ZONE_RAW)
		return tn_fail(err, TN_EDENIED, "object '%s': the raw zone is immutable", key);
	if (!os_exists(path) || os_is_dir(path))
		return tn_fail(err, TN_ENOTFOUND, "object '%s': not found", key);
	if ((rc = os_unlink(path, err)))
		return rc;
	if ((rc = os_fsync_parent(path, err)))
		return rc;
	prune_empty_parents(s, key);
	return 0;
}

/* ---- folders: what DuckDB writes, moved into place; a table's folder removed ---- */

int store_path(struct store *s, const char *key, char *out, size_t n, char *err)
{
	return object_path(s, key, out, n, err);
}

/* Depth of folders walked by the tree operations (a partitioned table has a few). */
#define STORE_TREE_DEPTH 32

/* Moves every file under from (absolute) to the same place under to; removes from. */
static int move_tree(const char *from, const char *to, unsigned depth, unsigned *moved,
		     char *err)
{
	DIR *d = opendir(from);
	int rc = 0;
	if (!d)
		return tn_fail(err, tn_from_errno(errno), "cannot read folder '%s'", from);
	if (depth > STORE_TREE_DEPTH) {
		closedir(d);
		return tn_fail(err, TN_ETOOBIG, "folder '%s' is nested too deeply", from);
	}
	if ((rc = os_mkdir_p(to, 0750, err))) {
		closedir(d);
		return rc;
	}
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char a[PATH_MAX], b[PATH_MAX];
		if (snprintf(a, sizeof a, "%s/%s", from, e->d_name) >= (int)sizeof a ||
		    snprintf(b, sizeof b, "%s/%s", to, e->d_name) >= (int)sizeof b) {
			rc = tn_fail(err, TN_EINVAL, "path under '%s' is too long", to);
			break;
		}
		struct stat st;
		if (lstat(a, &st) != 0) {
			rc = tn_fail(err, tn_from_errno(errno), "cannot stat '%s'", a);
		} else if (S_ISDIR(st.st_mode)) {
			rc = move_tree(a, b, depth + 1, moved, err);
		} else {
			/* a file, or a link moved as the link itself (never followed) */
			rc = os_rename_noreplace(a, b, err);
			if (rc == 0)
				(*moved)++;
		}
	}
	closedir(d);
	if (rc == 0)
		rc = os_fsync_dir(to, err);
	if (rc == 0 && rmdir(from) != 0)
		rc = tn_fail(err, tn_from_errno(errno), "cannot remove folder '%s'", from);
	return rc;
}

int store_move_tree(struct store *s, const char *from_key, const char *to_key, unsigned *moved,
		    char *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	int rc;
	*moved = 0;
	if ((rc = object_path(s, from_key, from, sizeof from, err)) ||
	    (rc = object_path(s, to_key, to, sizeof to, err)))
		return rc;
	if (store_zone_of(s, to_key) == ZONE_RAW)
		return tn_fail(err, TN_EDENIED, "'%s': the raw zone is immutable", to_key);
	if (!os_is_dir(from))
		return tn_fail(err, TN_ENOTFOUND, "folder '%s' not found", from_key);
	return move_tree(from, to, 0, moved, err);
}

static int remove_tree(const char *path, unsigned depth, unsigned *removed, char *err)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return tn_fail(err, tn_from_errno(errno), "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {  /* a file, or a link: removed, never followed */
		if (unlink(path) != 0)
			return tn_fail(err, tn_from_errno(errno), "cannot delete '%s'", path);
		(*removed)++;
		return 0;
	}
	if (depth > STORE_TREE_DEPTH)
		return tn_fail(err, TN_ETOOBIG, "folder '%s' is nested too deeply", path);
	DIR *d = opendir(path);
	if (!d)
		return tn_fail(err, tn_from_errno(errno), "cannot read folder '%s'", path);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p) {
			rc = tn_fail(err, TN_EINVAL, "path under '%s' is too long", path);
			break;
		}
		rc = remove_tree(p, depth + 1, removed, err);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0)
		rc = tn_fail(err, tn_from_errno(errno), "cannot remove folder '%s'", path);
	return rc;
}

int store_delete_tree(struct store *s, const char *key, unsigned *removed, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	*removed = 0;
	if (rc)
		return rc;
	int z = store_zone_of(s, key);
	if (z == ZONE_RAW)
		return tn_fail(err, TN_EDENIED, "'%s': the raw zone is immutable", key);
	if (z < 0)
		return tn_fail(err, TN_EDENIED, "'%s' is not inside a zone", key);
	/* never a whole zone folder */
	char zone[PATH_MAX];
	snprintf(zone, sizeof zone, "%s/%s", s->root, store_zone_dir(s, z));
	if (!strcmp(zone, path))
		return tn_fail(err, TN_EDENIED, "'%s' is a whole zone", key);
	if (!os_exists(path))
		return tn_fail(err, TN_ENOTFOUND, "'%s' not found", key);
	rc = remove_tree(path, 0, removed, err);
	if (rc == 0)
		rc = os_fsync_parent(path, err);
	return rc;
}

int store_folder_state(struct store *s, const char *key, char *err)
{
	char path[PATH_MAX];
	int rc = object_path(s, key, path, sizeof path, err);
	if (rc)
		return rc;
	if (!os_exists(path))
		return STORE_ABSENT;
	if (!os_is_dir(path))
		return STORE_VISIBLE;
	DIR *d = opendir(path);
	if (!d)
		return tn_fail(err, tn_from_errno(errno), "cannot read folder '%s'", key);
	struct dirent *e;
	int state = STORE_EMPTY;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			state = STORE_VISIBLE;
			break;
		}
	closedir(d);
	return state;
}
