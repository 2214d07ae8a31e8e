/*
 * crawler.c - walks zones, groups files into tables, reads what changed,
 * and writes tables, columns, partitions, files, versions and PII tags.
 *
 * Data flow of one crawl:
 *   scope    the target becomes a list of zones, or one zone and one unit
 *            (a top-level folder or a file lying in the zone folder) with
 *            an optional key prefix inside it;
 *   walk     per unit, stat() every file below it (no content is read);
 *            hidden names, temp files of atomic writes, symlinks and
 *            folders of other (nested) zones are skipped;
 *   diff     the walk, sorted by key, is merge-joined with the file memory
 *            of the unit (cat_files, same order): new, changed (size or
 *            mtime differ), unchanged, removed;
 *   check    new and changed files are checked for what needs no reading:
 *            their partition folders match the table's keys, their format
 *            is the table's;
 *   read     the remaining files go to the probe (probe.c), which marks
 *            bad files and returns the merged schema and value samples;
 *   write    one transaction per unit: table row, schema version if the
 *            schema changed, columns, files, partitions, statistics, PII
 *            tags (crawler layer only: admin decisions live in rows of
 *            their own that the crawler never writes).
 * The metastore lock is held only while reading the memory and writing a
 * unit, never while DuckDB reads files, so the flusher's checkpoints and
 * API readers are not held up by a long crawl.
 *
 * Invariants: a file is read only when it is new or changed (or a full
 * crawl asks); columns are never dropped and types only widen (schema.c);
 * a bad file has no partition and counts in no statistic.
 *
 * The walk lists directories with opendir/readdir: core/os has no listing
 * call, and listing is not a durability point that fault injection needs.
 *
 * This file holds the scope, the walk and the crawl as a whole; one unit's
 * diff, read and write are in crawl_table.c.  Runs on the thread that
 * called catalog_crawl, under catalog->crawl_mu.
 */
#include "catalog/crawler_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- helpers -------------------------------------------------------------- */

static void cfile_release(struct cfile *f)
{
	free(f->key);
	for (size_t i = 0; i < f->np; i++) {
		free(f->pkeys[i]);
		free(f->pvals[i]);
	}
	free(f->perr);
	free(f->reason);
	free(f->options);
	free(f->codec);
}

static void unit_release(struct unit *u)
{
	for (size_t i = 0; i < u->n; i++)
		cfile_release(&u->f[i]);
	free(u->f);
	free(u->name);
	free(u->table);
	free(u->scope);
	free(u->conflict);
	memset(u, 0, sizeof *u);
}

int crawl_sql_err(struct crawl *cr, const char *what)
{
	sqlite3 *db = meta_db(cr->c->meta);
	int code = sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO;
	return tn_fail(cr->err, code, "crawler: metastore: %s: %s", what, sqlite3_errmsg(db));
}

sqlite3_stmt *crawl_prep(struct crawl *cr, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(meta_db(cr->c->meta), sql, -1, &st, NULL) != SQLITE_OK) {
		crawl_sql_err(cr, "prepare");
		return NULL;
	}
	return st;
}

/* ---- walking --------------------------------------------------------------- */

static void unit_add(struct unit *u, const char *key, const struct stat *st, enum cat_format fmt,
		     enum cat_comp comp)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 64;
		u->f = xrealloc(u->f, u->cap * sizeof *u->f);
	}
	struct cfile *f = &u->f[u->n++];
	memset(f, 0, sizeof *f);
	f->key = xstrdup(key);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	f->fmt = fmt;
	f->comp = comp;
	f->rows = -1;
}

static bool hidden(const char *name)
{
	return name[0] == '.'; /* includes OS_TMP_PREFIX temp files and "." / ".." */
}

/* Adds every candidate file below the folder abs (whose key is key) to u. */
static void walk(struct crawl *cr, struct unit *u, const char *abs, const char *key, int depth)
{
	DIR *d = opendir(abs);
	if (!d) {
		log_warn("crawler", "cannot list '%s': %s", key, strerror(errno));
		return;
	}
	struct dirent *de;
	char path[PATH_MAX], sub[PATH_MAX];
	while ((de = readdir(d))) {
		if (hidden(de->d_name)) {
			/* a crash's temp files in the folders a crawl walks end here */
			if (!strncmp(de->d_name, OS_TMP_PREFIX, strlen(OS_TMP_PREFIX)) &&
			    (size_t)snprintf(path, sizeof path, "%s/%s", abs, de->d_name) <
				    sizeof path &&
			    store_drop_stale_temp(cr->c->store, path))
				log_info("crawler", "removed '%s/%s', left by a write that never "
					 "committed", key, de->d_name);
			continue;
		}
		struct stat st;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", abs, de->d_name) >= sizeof path ||
		    (size_t)snprintf(sub, sizeof sub, "%s/%s", key, de->d_name) >= sizeof sub ||
		    store_key_check(sub, strlen(sub), NULL) != 0) {
			cr->rep->files_skipped++;
			continue;
		}
		if (lstat(path, &st) != 0)
			continue; /* gone since readdir */
		if (S_ISDIR(st.st_mode)) {
			struct buf k = BUF_INIT(0);
			buf_printf(&k, "%s/", sub);
			bool other_zone = store_zone_of(cr->c->store, k.data) != (int)u->zone;
			buf_release(&k);
			if (other_zone)
				continue;
			if (depth >= MAX_DEPTH) {
				log_warn("crawler", "'%s': deeper than %d folders, not crawled", sub,
					 MAX_DEPTH);
				continue;
			}
			walk(cr, u, path, sub, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			cr->rep->files_skipped++; /* symlinks, sockets, ... */
			continue;
		}
		enum cat_comp comp;
		enum cat_format fmt = cat_classify(de->d_name, &comp, NULL);
		if (fmt == FMT_NONE) {
			cr->rep->files_skipped++;
			continue;
		}
		unit_add(u, sub, &st, fmt, comp);
	}
	closedir(d);
}

/* ---- scope ------------------------------------------------------------------------- */

/* Zones crawled when the target names none (see catalog.h). */
static bool default_zone(enum zone z)
{
	return z != ZONE_TRANSIENT && z != ZONE_REFERENCES;
}

struct units {
	struct unit *v;
	size_t n;
};

static struct unit *units_add(struct units *us, enum zone z, const char *name, const char *table,
			      bool loose)
{
	us->v = xrealloc(us->v, (us->n + 1) * sizeof *us->v);
	struct unit *u = &us->v[us->n++];
	memset(u, 0, sizeof *u);
	u->zone = z;
	u->name = xstrdup(name);
	u->loose = loose;
	if (table) {
		u->table = xstrdup(table);
	} else if (loose) {
		enum cat_comp comp;
		size_t stem = 0;
		cat_classify(name, &comp, &stem);
		u->table = xstrndup(name, stem);
	} else {
		u->table = xstrdup(name);
	}
	u->scope = xstrdup("");
	return u;
}

static void units_release(struct units *us)
{
	for (size_t i = 0; i < us->n; i++)
		unit_release(&us->v[i]);
	free(us->v);
	memset(us, 0, sizeof *us);
}

static int units_find(const struct units *us, enum zone z, const char *name)
{
	for (size_t i = 0; i < us->n; i++)
		if (us->v[i].zone == z && !strcmp(us->v[i].name, name))
			return (int)i;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the units remembered for zone z but gone from disk (their files are removed). */
static int vanished_units(struct crawl *cr, enum zone z, struct units *us)
{
	meta_lock(cr->c->meta);
	sqlite3_stmt *st = crawl_prep(cr, "SELECT DISTINCT unit, table_name FROM cat_files WHERE db = ?");
	int rc = st ? 0 : TN_EIO;
	if (st) {
		sqlite3_bind_text(st, 1, zone_db_name(z), -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *unit = (const char *)sqlite3_column_text(st, 0);
			const char *table = (const char *)sqlite3_column_text(st, 1);
			if (units_find(us, z, unit) < 0)
				units_add(us, z, unit, table, strcmp(unit, table) != 0);
		}
		rc = rc == SQLITE_DONE ? 0 : crawl_sql_err(cr, "list remembered tables");
		sqlite3_finalize(st);
	}
	meta_unlock(cr->c->meta);
	return rc;
}

/*
 * The units of one folder of zone z (the zone folder, or a user's folder
 * in the sandbox: prefix "" or "alice/"), named prefix + entry: folders
 * first (they keep their names against loose files).
 */
static void folder_units(struct crawl *cr, enum zone z, const char *prefix, struct units *us)
{
	const char *zd = store_zone_dir(cr->c->store, z);
	char abs[PATH_MAX], path[PATH_MAX], key[PATH_MAX], name[PATH_MAX];
	snprintf(abs, sizeof abs, "%s/%s/%s", cr->root, zd, prefix);
	DIR *d = opendir(abs);
	char **dirs = NULL, **files = NULL;
	size_t nd = 0, nf = 0;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			struct stat st;
			if (hidden(de->d_name))
				continue;
			snprintf(path, sizeof path, "%s/%s", abs, de->d_name);
			snprintf(key, sizeof key, "%s/%s%s/", zd, prefix, de->d_name);
			if (lstat(path, &st) != 0 || store_key_check(key, strlen(key) - 1, NULL))
				continue;
			if (S_ISDIR(st.st_mode) && store_zone_of(cr->c->store, key) == (int)z) {
				dirs = xrealloc(dirs, (nd + 1) * sizeof *dirs);
				dirs[nd++] = xasprintf("%s%s", prefix, de->d_name);
			} else if (S_ISREG(st.st_mode)) {
				files = xrealloc(files, (nf + 1) * sizeof *files);
				files[nf++] = xasprintf("%s%s", prefix, de->d_name);
			}
		}
		closedir(d);
	}
	if (nd)
		qsort(dirs, nd, sizeof *dirs, cmp_str);
	if (nf)
		qsort(files, nf, sizeof *files, cmp_str);
	for (size_t i = 0; i < nd; i++) {
		struct unit *u = units_add(us, z, dirs[i], NULL, false);
		snprintf(path, sizeof path, "%s/%s/%s", cr->root, zd, dirs[i]);
		snprintf(key, sizeof key, "%s/%s", zd, dirs[i]);
		walk(cr, u, path, key, 1);
		free(dirs[i]);
	}
	for (size_t i = 0; i < nf; i++) {
		enum cat_comp comp;
		enum cat_format fmt = cat_classify(files[i], &comp, NULL);
		struct stat st;
		snprintf(path, sizeof path, "%s/%s/%s", cr->root, zd, files[i]);
		snprintf(key, sizeof key, "%s/%s", zd, files[i]);
		snprintf(name, sizeof name, "%s", files[i]);
		if (fmt == FMT_NONE) {
			cr->rep->files_skipped++;
		} else if (lstat(path, &st) == 0) {
			struct unit *u = units_add(us, z, name, NULL, true);
			unit_add(u, key, &st, fmt, comp);
		}
		free(files[i]);
	}
	free(dirs);
	free(files);
}

/*
 * Every unit of zone z.  In the sandbox zone each user's folder
 * (data/user/<user>/) is a zone of its own: its top-level folders and
 * files are the tables "<user>/<name>" (files lying directly in
 * data/user/ belong to nobody and are skipped).
 */
static int zone_units(struct crawl *cr, enum zone z, struct units *us)
{
	if (z != ZONE_SANDBOX) {
		folder_units(cr, z, "", us);
		return vanished_units(cr, z, us);
	}
	char abs[PATH_MAX], path[PATH_MAX];
	snprintf(abs, sizeof abs, "%s/%s", cr->root, store_zone_dir(cr->c->store, z));
	DIR *d = opendir(abs);
	char **users = NULL;
	size_t n = 0;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			struct stat st;
			if (hidden(de->d_name))
				continue;
			snprintf(path, sizeof path, "%s/%s", abs, de->d_name);
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				users = xrealloc(users, (n + 1) * sizeof *users);
				users[n++] = xasprintf("%s/", de->d_name);
			} else {
				cr->rep->files_skipped++;
			}
		}
		closedir(d);
	}
	if (n)
		qsort(users, n, sizeof *users, cmp_str);
	for (size_t i = 0; i < n; i++) {
		folder_units(cr, z, users[i], us);
		free(users[i]);
	}
	free(users);
	return vanished_units(cr, z, us);
}

/*
 * A key-prefix target: one unit of one zone, limited to the prefix.
 * TN_ENOTFOUND when nothing on disk or in memory lies under it.
 */
static int prefix_unit(struct crawl *cr, const char *target, struct units *us, enum zone *zone)
{
	char k[PATH_MAX], abs[PATH_MAX], key[PATH_MAX];
	size_t n = strlen(target);
	while (n && target[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof k)
		return tn_fail(cr->err, TN_EINVAL, "crawl target '%s': not a zone or key prefix", target);
	memcpy(k, target, n);
	k[n] = 0;
	int rc = store_key_check(k, n, cr->err);
	if (rc)
		return rc;
	int z = store_zone_of(cr->c->store, k);
	if (z < 0)
		return tn_fail(cr->err, TN_EINVAL,
			       "crawl target '%s': not a database name and not inside a zone", target);
	*zone = (enum zone)z;
	const char *zd = store_zone_dir(cr->c->store, (enum zone)z);
	const char *rel = k + strlen(zd) + 1;
	const char *slash = strchr(rel, '/');
	if (z == ZONE_SANDBOX) {
		/* a sandbox table is data/user/<user>/<name>: its unit name has two segments */
		if (!slash)
			return tn_fail(cr->err, TN_EINVAL, "crawl target '%s': name a table inside a "
				       "sandbox (%s/<user>/<table>), or crawl the zone 'sandbox'",
				       target, zd);
		slash = strchr(slash + 1, '/');
	}
	char *name = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(rel);
	struct stat st;
	snprintf(abs, sizeof abs, "%s/%s/%s", cr->root, zd, name);
	bool exists = lstat(abs, &st) == 0;
	bool loose = exists ? S_ISREG(st.st_mode) : false;
	const char *table = NULL;
	char *mem_table = NULL;
	if (!exists) {
		/* Gone from disk: forget what the memory holds under the prefix. */
		meta_lock(cr->c->meta);
		sqlite3_stmt *q = crawl_prep(cr, "SELECT unit, table_name FROM cat_files WHERE db = ? AND "
					   "unit = ? LIMIT 1");
		if (q) {
			sqlite3_bind_text(q, 1, zone_db_name((enum zone)z), -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW) {
				mem_table = xstrdup((const char *)sqlite3_column_text(q, 1));
				loose = strcmp(name, mem_table) != 0;
				table = mem_table;
			}
		}
		sqlite3_finalize(q);
		meta_unlock(cr->c->meta);
		if (!mem_table) {
			rc = tn_fail(cr->err, TN_ENOTFOUND, "crawl target '%s': no such folder or file",
				     target);
			free(name);
			return rc;
		}
	}
	if (exists && S_ISDIR(st.st_mode) && store_zone_of(cr->c->store, k) != z) {
		free(name);
		return tn_fail(cr->err, TN_EINVAL, "crawl target '%s': lies in another zone", target);
	}
	struct unit *u = units_add(us, (enum zone)z, name, table, loose);
	free(mem_table);
	if (loose || !slash) {
		/* the whole unit */
		snprintf(key, sizeof key, "%s/%s", zd, name);
		if (exists && loose) {
			enum cat_comp comp;
			enum cat_format fmt = cat_classify(name, &comp, NULL);
			if (fmt == FMT_NONE) {
				rc = tn_fail(cr->err, TN_EINVAL,
					     "crawl target '%s': not a JSON, CSV or Parquet file", target);
				free(name);
				return rc;
			}
			unit_add(u, key, &st, fmt, comp);
		} else if (exists) {
			walk(cr, u, abs, key, 1);
		}
		free(name);
		return 0;
	}
	/* A folder or file inside a unit: walk just it; the memory is limited to it too. */
	snprintf(abs, sizeof abs, "%s/%s", cr->root, k);
	free(u->scope);
	if (lstat(abs, &st) == 0 && S_ISREG(st.st_mode)) {
		enum cat_comp comp;
		enum cat_format fmt = cat_classify(k, &comp, NULL);
		if (fmt != FMT_NONE)
			unit_add(u, k, &st, fmt, comp);
		u->scope = xstrdup(k);
		u->scope_exact = true;
	} else {
		u->scope = xasprintf("%s/", k);
		if (exists && lstat(abs, &st) == 0 && S_ISDIR(st.st_mode))
			walk(cr, u, abs, k, 2);
	}
	free(name);
	return 0;
}

/* ---- the crawl ------------------------------------------------------------------------- */

static void add_dir(struct crawl *cr, enum zone z)
{
	char abs[PATH_MAX];
	snprintf(abs, sizeof abs, "%s/%s", cr->root, store_zone_dir(cr->c->store, z));
	cr->dirs = xrealloc(cr->dirs, (cr->ndirs + 1) * sizeof *cr->dirs);
	cr->dirs[cr->ndirs++] = xstrdup(abs);
}

static int crawl_units(struct crawl *cr, struct units *us)
{
	/* folders before loose files, so a folder keeps its name (zone_units orders them) */
	for (size_t i = 0; i < us->n; i++) {
		int rc = crawl_unit(cr, &us->v[i]);
		if (rc)
			return rc;
	}
	return crawl_touch_flush(cr);
}

static int crawl_record(struct crawl *cr, const char *target, int status_done, int failed)
{
	sqlite3_stmt *st;
	int rc = 0;
	meta_lock(cr->c->meta);
	if (!status_done) {
		st = crawl_prep(cr, "INSERT INTO cat_crawls(target, full, started_ms, status) "
			      "VALUES(?, ?, ?, 'running')");
		if (st) {
			sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, cr->full);
			sqlite3_bind_int64(st, 3, cr->now_ms);
			if (sqlite3_step(st) == SQLITE_DONE)
				cr->id = sqlite3_last_insert_rowid(meta_db(cr->c->meta));
			else
				rc = crawl_sql_err(cr, "record the crawl");
		} else {
			rc = TN_EIO;
		}
	} else {
		struct buf js = BUF_INIT(0);
		crawl_report_json(cr->rep, &js);
		st = crawl_prep(cr, "UPDATE cat_crawls SET finished_ms = ?, status = ?, report = ? "
			      "WHERE id = ?");
		if (st) {
			sqlite3_bind_int64(st, 1, time_now_ms());
			sqlite3_bind_text(st, 2, failed ? "failed" : "ok", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, js.data, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, cr->id);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = crawl_sql_err(cr, "record the crawl");
		} else {
			rc = TN_EIO;
		}
		buf_release(&js);
	}
	sqlite3_finalize(st);
	meta_unlock(cr->c->meta);
	return rc;
}

static int zones_done(struct crawl *cr, const bool *walked)
{
	int rc = 0;
	meta_lock(cr->c->meta);
	sqlite3_stmt *st = crawl_prep(cr, "INSERT INTO cat_databases(name, last_crawl_ms) VALUES(?, ?) "
				    "ON CONFLICT(name) DO UPDATE SET last_crawl_ms = excluded.last_crawl_ms");
	for (int z = 0; st && rc == 0 && z < ZONE_COUNT; z++) {
		if (!walked[z])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, zone_db_name((enum zone)z), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cr->now_ms);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = crawl_sql_err(cr, "record the crawl of a zone");
	}
	if (!st)
		rc = TN_EIO;
	sqlite3_finalize(st);
	meta_unlock(cr->c->meta);
	return rc;
}

int crawler_run(struct catalog *c, const struct crawl_opts *o, struct crawl_report *rep, char *err)
{
	struct crawl cr = { 0 };
	struct units us = { 0 };
	bool walked[ZONE_COUNT] = { 0 };
	int64_t t0 = time_mono_ns();
	const char *target = o && o->target ? o->target : "";
	int rc = 0;
	memset(rep, 0, sizeof *rep);
	cr.c = c;
	cr.root = store_root(c->store);
	cr.full = o && (o->flags & CRAWL_FULL);
	cr.rep = rep;
	cr.err = err;
	cr.now_ms = time_now_ms();
	rep->started_ms = cr.now_ms;

	int zone = *target ? zone_by_name(target) : -1;
	if (*target && zone < 0) {
		enum zone z;
		rc = prefix_unit(&cr, target, &us, &z);
		if (rc)
			goto out;
		add_dir(&cr, z);
		walked[z] = true;
		rep->zones = 1;
	}
	if ((rc = crawl_record(&cr, target, 0, 0)))
		goto out;
	if (us.n) {
		rc = crawl_units(&cr, &us);
	} else {
		/* DuckDB opens on the first read: allow every zone in scope up front. */
		for (int z = 0; z < ZONE_COUNT; z++)
			if (zone >= 0 ? z == zone : default_zone((enum zone)z))
				add_dir(&cr, (enum zone)z);
		for (int z = 0; rc == 0 && z < ZONE_COUNT; z++) {
			if (zone >= 0 ? z != zone : !default_zone((enum zone)z))
				continue;
			rc = zone_units(&cr, (enum zone)z, &us);
			if (rc == 0)
				rc = crawl_units(&cr, &us);
			units_release(&us);
			walked[z] = true;
			rep->zones++;
		}
	}
	if (rc == 0)
		rc = zones_done(&cr, walked);
	rep->duration_ms = (time_mono_ns() - t0) / 1000000;
	rep->id = cr.id;
	if (cr.id) {
		/* Record the outcome without overwriting the message of a failure. */
		char e2[TN_ERRLEN];
		cr.err = e2;
		int rc2 = crawl_record(&cr, target, 1, rc != 0);
		cr.err = err;
		if (rc == 0 && rc2)
			rc = tn_fail(err, rc2, "%s", e2);
	}
	if (rc == 0)
		log_info("crawler", "crawl '%s': %u tables (%u new, %u changed), %u files (%u read, "
				    "%u unchanged, %u bad, %u removed) in %lld ms",
			 *target ? target : "all", rep->tables_seen, rep->tables_new,
			 rep->tables_changed, rep->files_seen, rep->files_read, rep->files_unchanged,
			 rep->files_bad, rep->files_removed, (long long)rep->duration_ms);
out:
	probe_close(cr.probe);
	units_release(&us);
	for (size_t i = 0; i < cr.ndirs; i++)
		free(cr.dirs[i]);
	free(cr.dirs);
	free(cr.touched);
	return rc;
}
