/*
 * list.c - objects in key order (store_list).
 *
 * Keys sort bytewise, as S3 lists them, which is not the order of a
 * directory walk that sorts names: "a-b" (0x2D) sorts before "a/x" (0x2F)
 * but after folder "a" by name.  So each folder's entries are sorted by
 * their key -- a file's name, a folder's name with "/" appended -- and a
 * folder is walked at its place in that order.
 *
 * Pruning.  A folder K (a key ending in "/") is walked only when it can
 * hold something to report: prefix starts with K (the prefix goes
 * deeper), or K starts with prefix.  In folder mode (delimiter "/") a
 * folder that starts with prefix is reported as a common prefix and not
 * walked: every key below it rolls up into it, because its "/" is the
 * first one after the prefix.  start_after skips a folder whose keys all
 * sort before it (K < start_after and start_after not inside K), and, in
 * folder mode, a common prefix at or before it or holding it (the marker
 * a previous page ended on).
 *
 * Only zones show: at the root and in folders that merely contain zones
 * ("warehouse/", "data/"), a file is skipped and a folder is walked only
 * if it is a zone or leads to one.  .tarn*, temp files (OS_TMP_PREFIX),
 * symbolic links and special files never show.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/banned.h"

struct lister {
	struct store *s;
	const char *prefix;
	size_t plen;
	const char *after;
	bool folders;
	store_list_fn fn;
	void *arg;
	bool stop;
	char *err;
};

struct entry {
	char *key;         /* full key; folders end in "/" */
	bool dir;
	struct store_stat st;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static bool starts(const char *s, const char *p, size_t n)
{
	return strncmp(s, p, n) == 0;
}

/* Folder key k (ending in "/") is a zone, inside one, or holds one. */
static bool folder_in_lake(struct store *s, const char *k, size_t kl)
{
	if (store_zone_of(s, k) >= 0)
		return true;
	for (int z = 0; z < ZONE_COUNT; z++)
		if (starts(store_zone_dir(s, (enum zone)z), k, kl))
			return true;
	return false;
}

static int walk(struct lister *l, const char *dirkey, unsigned depth);

static int visit(struct lister *l, struct entry *e, unsigned depth)
{
	size_t kl = strlen(e->key);
	const char *after = l->after;
	if (!e->dir) {
		if (kl < l->plen || !starts(e->key, l->prefix, l->plen) ||
		    store_zone_of(l->s, e->key) < 0 || strcmp(e->key, after) <= 0)
			return 0;
		if (l->fn(l->arg, e->key, false, &e->st))
			l->stop = true;
		return 0;
	}
	if (!folder_in_lake(l->s, e->key, kl))
		return 0;
	bool deeper = kl <= l->plen && starts(l->prefix, e->key, kl);
	if (!deeper && (kl < l->plen || !starts(e->key, l->prefix, l->plen)))
		return 0;
	bool after_inside = starts(after, e->key, kl);
	if (!deeper && l->folders) {
		if (strcmp(e->key, after) <= 0 || after_inside)
			return 0;
		struct store_stat zero = { 0 };
		if (l->fn(l->arg, e->key, true, &zero))
			l->stop = true;
		return 0;
	}
	if (*after && strcmp(e->key, after) < 0 && !after_inside)
		return 0;
	return walk(l, e->key, depth + 1);
}

static int walk(struct lister *l, const char *dirkey, unsigned depth)
{
	char path[PATH_MAX];
	const char *root = store_root(l->s);
	if (depth > TN_MAX_KEY / 2)
		return tn_fail(l->err, TN_EINVAL, "listing '%s': folders nested too deep", dirkey);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, dirkey) >= sizeof path)
		return 0;
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return tn_fail(l->err, TN_EIO, "list '%s': %s", path, strerror(errno));
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0, dl = strlen(dirkey);
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t nl = strlen(name);
		struct stat sb;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strncmp(name, ".tarn", 5) ||
		    !strncmp(name, OS_TMP_PREFIX, strlen(OS_TMP_PREFIX)))
			continue;
		if (dl + nl + 1 > TN_MAX_KEY)
			continue;
		if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone since readdir */
		if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof *v);
		}
		struct entry *e = &v[n++];
		e->dir = S_ISDIR(sb.st_mode);
		e->key = xmalloc(dl + nl + 2);
		memcpy(e->key, dirkey, dl);
		memcpy(e->key + dl, name, nl);
		if (e->dir)
			e->key[dl + nl++] = '/';
		e->key[dl + nl] = '\0';
		e->st.size = e->dir ? 0 : (uint64_t)sb.st_size;
		e->st.mtime_ns = e->dir ? 0 : (int64_t)sb.st_mtim.tv_sec * 1000000000 +
						      sb.st_mtim.tv_nsec;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, entry_cmp);
	for (size_t i = 0; i < n && rc == 0 && !l->stop; i++)
		rc = visit(l, &v[i], depth);
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
	return rc;
}

int store_list(struct store *s, const char *prefix, const char *start_after, bool folders,
	       store_list_fn fn, void *arg, char *err)
{
	struct lister l = { .s = s, .prefix = prefix ? prefix : "", .after = start_after ? start_after
											: "",
			    .folders = folders, .fn = fn, .arg = arg, .err = err };
	l.plen = strlen(l.prefix);
	/* Start at the deepest folder the prefix names: "a/b/c" walks from "a/b/". */
	const char *slash = strrchr(l.prefix, '/');
	if (!slash)
		return walk(&l, "", 0);
	size_t dl = (size_t)(slash - l.prefix) + 1;
	if (dl > TN_MAX_KEY)
		return 0;
	char *dir = xmalloc(dl + 1);
	memcpy(dir, l.prefix, dl);
	dir[dl] = '\0';
	int rc = 0;
	/*
	 * The start folder must be a well-formed key ("..", "." and ".tarn"
	 * segments would walk outside what its keys claim) and listable (a
	 * zone or on the way to one); else nothing matches.
	 */
	char dummy[TN_ERRLEN];
	if (store_key_check(dir, dl - 1, dummy) == 0 && folder_in_lake(s, dir, dl))
		rc = walk(&l, dir, 1);
	free(dir);
	return rc;
}
