/*
 * policy.c - grants, clearances and masks in the metastore, and what they
 * allow one principal on one table.
 *
 * A principal's grants are its own and those of every role it holds,
 * found with one recursive query over principal_roles (cycles cannot be
 * made: auth refuses them; UNION would stop them anyway).  Evaluation is
 * per query and per table: a handful of rows, no cache, so a revoke is in
 * force for the next query.
 *
 * The hash mask is HMAC-SHA256 under a key K derived from the master key,
 * computed by tarn_mask_hash, a C function the query engine registers in
 * DuckDB with K (query/udf.c, policy_mask_key): the same value masks to the
 * same digest in every query (joins and GROUP BY on masked keys work), and
 * nobody without K can build the table of digests of, say, every SSN.  K
 * never appears in SQL text; users cannot call the function (the guard).
 */
#include "policy/policy.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "core/banned.h"

struct policy {
	struct meta *m;
	uint8_t mask_key[32];  /* K of the hash mask: HMAC(master key, "tarn mask key v1") */
};

static const char *const kind_names[] = { "select", "clearance", "stream", "write",
					   "read", "list", "delete" };
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

int grant_kind_parse(const char *s)
{
	for (int i = 0; i < (int)KIND_COUNT; i++)
		if (s && !strcmp(s, kind_names[i]))
			return i;
	return -1;
}

const char *grant_kind_name(enum grant_kind k)
{
	return (unsigned)k < KIND_COUNT ? kind_names[k] : "select";
}

static int db_fail(struct policy *p, char *err, const char *what)
{
	return tn_fail(err, TN_EIO, "policy: %s: %s", what, sqlite3_errmsg(meta_db(p->m)));
}

int policy_open(struct meta *m, const uint8_t master_key[32], struct policy **out, char *err)
{
	struct policy *p = xcalloc(1, sizeof *p);
	p->m = m;
	crypto_hmac_sha256(master_key, 32, "tarn mask key v1", 16, p->mask_key);
	sqlite3_stmt *st = NULL;
	meta_lock(m);
	int rc = sqlite3_prepare_v2(meta_db(m), "SELECT 1 FROM policy_grants, policy_masks LIMIT 0",
				    -1, &st, NULL) == SQLITE_OK ? 0 : db_fail(p, err, "open");
	sqlite3_finalize(st);
	meta_unlock(m);
	if (rc) {
		policy_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

void policy_close(struct policy *p)
{
	if (!p)
		return;
	explicit_bzero(p, sizeof *p);
	free(p);
}

/* ---- grants ---- */

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* "db", "db.table" (canonical db name), "tag:x"; written canonical into out. */
static int target_check(const char *target, char *out, size_t n, char *err)
{
	if (!strncmp(target, "tag:", 4)) {
		const char *t = target + 4;
		if (!*t || strlen(t) > 32 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
						       strlen(t))
			return tn_fail(err, TN_EINVAL, "grant target '%.80s': a tag is 1..32 of "
				       "[a-z0-9_-]", target);
		snprintf(out, n, "%s", target);
		return 0;
	}
	char db[64];
	const char *dot = strchr(target, '.');
	size_t dl = dot ? (size_t)(dot - target) : strlen(target);
	if (dl == 0 || dl >= sizeof db || (dot && !dot[1]))
		return tn_fail(err, TN_EINVAL, "grant target '%.80s': use DB, DB.TABLE or tag:NAME",
			       target);
	for (size_t i = 0; i < dl; i++)
		db[i] = (char)(target[i] >= 'A' && target[i] <= 'Z' ? target[i] - 'A' + 'a'
									: target[i]);
	db[dl] = 0;
	int z = zone_by_name(db);
	if (z < 0)
		return tn_fail(err, TN_EINVAL, "grant target '%.80s': no database '%s'", target, db);
	snprintf(out, n, "%s%s%s", zone_db_name((enum zone)z), dot ? "." : "", dot ? dot + 1 : "");
	return 0;
}

/*
 * Object targets: "ZONE" or "ZONE/PREFIX" (a zone's database name or
 * alias, canonical in out).  A prefix matches keys the way S3 policies
 * do, by string: "drop/team" also covers "drop/team-b/"; end it with "/"
 * to mean a folder.  Its segments follow the key rules (no "", ".", "..",
 * NUL).  A table write grant (CREATE/INSERT/DROP) needs a zone target.
 */
static int object_target_check(enum grant_kind k, const char *target, char *out, size_t n,
			       char *err)
{
	char db[64];
	const char *slash = strchr(target, '/');
	size_t dl = slash ? (size_t)(slash - target) : strlen(target);
	if (dl == 0 || dl >= sizeof db)
		return tn_fail(err, TN_EINVAL, "%s grant '%.80s': use ZONE or ZONE/PREFIX (raw, "
			       "drop/team/, ...)", grant_kind_name(k), target);
	for (size_t i = 0; i < dl; i++)
		db[i] = (char)(target[i] >= 'A' && target[i] <= 'Z' ? target[i] - 'A' + 'a'
									: target[i]);
	db[dl] = 0;
	int z = zone_by_name(db);
	if (z < 0)
		return tn_fail(err, TN_EINVAL, "%s grant '%.80s': no zone '%s' (raw, transient, "
			       "master, drop, sandbox, log, stage, cleanse, core, mart, references)",
			       grant_kind_name(k), target, db);
	const char *prefix = slash ? slash + 1 : "";
	size_t pl = strlen(prefix);
	if (pl > 512)
		return tn_fail(err, TN_EINVAL, "%s grant: prefix over 512 bytes", grant_kind_name(k));
	for (size_t i = 0, seg = 0; i <= pl; i++) {
		if (i < pl && prefix[i] != '/')
			continue;
		size_t len = i - seg;
		const char *sp = prefix + seg;
		bool last = i == pl;
		if ((len == 0 && !last) || (len == 1 && sp[0] == '.') ||
		    (len == 2 && sp[0] == '.' && sp[1] == '.'))
			return tn_fail(err, TN_EINVAL, "%s grant '%.80s': empty, '.' or '..' segment in "
				       "the prefix", grant_kind_name(k), target);
		seg = i + 1;
	}
	if ((size_t)snprintf(out, n, "%s%s%s", zone_db_name((enum zone)z), pl ? "/" : "", prefix) >=
	    n)
		return tn_fail(err, TN_EINVAL, "%s grant: target too long", grant_kind_name(k));
	return 0;
}

int policy_grant(struct policy *p, struct grant *g, char *err)
{
	char target[300];
	int rc;
	if (g->kind == GRANT_SELECT) {
		if ((rc = target_check(g->target, target, sizeof target, err)))
			return rc;
	} else if (g->kind == GRANT_STREAM) {
		snprintf(target, sizeof target, "%s", g->target);
		if (!*target || strlen(target) > 128 ||
		    (strcmp(target, "*") && strspn(target, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
						   "OPQRSTUVWXYZ0123456789_.-") != strlen(target)))
			return tn_fail(err, TN_EINVAL, "stream grant '%.80s': a stream name or *",
				       g->target);
	} else if (g->kind == GRANT_WRITE || g->kind == GRANT_READ || g->kind == GRANT_LIST ||
		   g->kind == GRANT_DELETE) {
		if ((rc = object_target_check(g->kind, g->target, target, sizeof target, err)))
			return rc;
	} else {
		snprintf(target, sizeof target, "%s", g->target);
		if (!*target || strspn(target, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(target))
			return tn_fail(err, TN_EINVAL, "clearance '%.80s': a tag is 1..32 of [a-z0-9_-]",
				       g->target);
	}
	sqlite3_stmt *st = NULL;
	meta_lock(p->m);
	rc = 0;
	if (sqlite3_prepare_v2(meta_db(p->m), "SELECT 1 FROM principals WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "grant");
		goto out;
	}
	sqlite3_bind_text(st, 1, g->principal, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = tn_fail(err, TN_ENOTFOUND, "'%.64s' is neither a user nor a role", g->principal);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "INSERT INTO policy_grants(principal, kind, target, columns, exclude, "
			       "row_filter, created_ms, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "grant");
		goto out;
	}
	g->created_ms = time_now_ms();
	sqlite3_bind_text(st, 1, g->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grant_kind_name(g->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
	if (g->columns)
		sqlite3_bind_text(st, 4, g->columns, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, g->exclude);
	if (g->row_filter)
		sqlite3_bind_text(st, 6, g->row_filter, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, g->created_ms);
	sqlite3_bind_text(st, 8, g->created_by ? g->created_by : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(p, err, "grant");
	else
		g->id = sqlite3_last_insert_rowid(meta_db(p->m));
out:
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return rc;
}

int policy_revoke(struct policy *p, int64_t id, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m), "DELETE FROM policy_grants WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "revoke");
	} else {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(p, err, "revoke");
		else if (sqlite3_changes(meta_db(p->m)) == 0)
			rc = tn_fail(err, TN_ENOTFOUND, "grant %lld does not exist", (long long)id);
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return rc;
}

static void grant_row(sqlite3_stmt *st, struct grant *g)
{
	memset(g, 0, sizeof *g);
	g->id = sqlite3_column_int64(st, 0);
	g->principal = col_dup(st, 1);
	int k = grant_kind_parse((const char *)sqlite3_column_text(st, 2));
	g->kind = k < 0 ? GRANT_CLEARANCE : (enum grant_kind)k;  /* unknown kinds grant no read */
	g->target = col_dup(st, 3);
	g->columns = col_dup(st, 4);
	g->exclude = sqlite3_column_int(st, 5) != 0;
	g->row_filter = col_dup(st, 6);
	g->created_ms = sqlite3_column_int64(st, 7);
	g->created_by = col_dup(st, 8);
}

int policy_grants(struct policy *p, const char *principal, struct grant_list *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	memset(out, 0, sizeof *out);
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "SELECT id, principal, kind, target, columns, exclude, row_filter, "
			       "created_ms, created_by FROM policy_grants WHERE ?1 IS NULL OR "
			       "principal = ?1 ORDER BY principal, id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "list grants");
	} else {
		if (principal)
			sqlite3_bind_text(st, 1, principal, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
			grant_row(st, &out->v[out->n++]);
		}
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return rc;
}

void grant_list_release(struct grant_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].principal);
		free(l->v[i].target);
		free(l->v[i].columns);
		free(l->v[i].row_filter);
		free(l->v[i].created_by);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- masks ---- */

static const char *const mask_names[] = { "null", "redact", "partial", "hash" };

int mask_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, mask_names[i]))
			return i;
	return -1;
}

const char *mask_name(enum mask_kind k)
{
	return (unsigned)k < 4 ? mask_names[k] : "redact";
}

int policy_set_mask(struct policy *p, const char *tag, enum mask_kind k, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (!tag || !*tag || strlen(tag) > 32 ||
	    strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(tag))
		return tn_fail(err, TN_EINVAL, "tag '%.40s': 1..32 of [a-z0-9_-]", tag ? tag : "");
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "INSERT INTO policy_masks(tag, mask) VALUES (?, ?) ON CONFLICT(tag) "
			       "DO UPDATE SET mask = excluded.mask",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "set mask");
	} else {
		sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, mask_name(k), -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(p, err, "set mask");
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return rc;
}

bool policy_mask_set(struct policy *p, const char *tag, enum mask_kind *k)
{
	sqlite3_stmt *st = NULL;
	bool set = false;
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m), "SELECT mask FROM policy_masks WHERE tag = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			int m = mask_parse((const char *)sqlite3_column_text(st, 0));
			if (m >= 0) {
				*k = (enum mask_kind)m;
				set = true;
			}
		}
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return set;
}

void policy_mask_key(struct policy *p, uint8_t key[32])
{
	memcpy(key, p->mask_key, sizeof p->mask_key);
}

enum mask_kind policy_mask(struct policy *p, const char *tag)
{
	enum mask_kind k = MASK_REDACT;
	policy_mask_set(p, tag, &k);
	return k;
}

void policy_mask_sql(struct policy *p, enum mask_kind k, const char *expr, const char *type,
		     struct buf *out)
{
	switch (k) {
	case MASK_NULL:
		buf_printf(out, "CAST(NULL AS %s)", type);
		return;
	case MASK_PARTIAL:
		buf_printf(out, "CASE WHEN %s IS NULL THEN NULL ELSE '***' || "
				"right(CAST(%s AS VARCHAR), 4) END", expr, expr);
		return;
	case MASK_HASH:
		/* the bytes of the value's text; NULL stays NULL (query/udf.c) */
		buf_printf(out, "tarn_mask_hash(CAST(%s AS VARCHAR))", expr);
		return;
	case MASK_REDACT:
	default:
		buf_printf(out, "CASE WHEN %s IS NULL THEN NULL ELSE '***' END", expr);
		return;
	}
}

/* ---- access ---- */

void table_access_release(struct table_access *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ncolumns; i++)
		free(a->columns[i]);
	free(a->columns);
	for (size_t i = 0; i < a->ncleared; i++)
		free(a->cleared[i]);
	free(a->cleared);
	free(a->row_filter);
	memset(a, 0, sizeof *a);
}

/* Does t have a column carrying tag (in effect)? */
static bool table_has_tag(const struct cat_table *t, const char *tag)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (!strcmp(tag, "pii") && t->cols[i].pii)
			return true;
		for (size_t k = 0; k < t->cols[i].ntags; k++)
			if (!t->cols[i].tags[k].cleared && !strcmp(t->cols[i].tags[k].name, tag))
				return true;
	}
	return false;
}

static bool in_json_list(const char *json, const char *name)
{
	/* the list is ours (written by the REST edge from a JSON array of strings) */
	struct buf q = BUF_INIT(0);
	buf_json_str(&q, name, strlen(name));
	bool hit = json && strstr(json, q.data) != NULL;
	buf_release(&q);
	return hit;
}

static void add_column(struct table_access *a, const char *name)
{
	for (size_t i = 0; i < a->ncolumns; i++)
		if (!strcmp(a->columns[i], name))
			return;
	a->columns = xrealloc(a->columns, (a->ncolumns + 1) * sizeof *a->columns);
	a->columns[a->ncolumns++] = xstrdup(name);
}

int policy_table_access(struct policy *p, const char *principal, const struct cat_table *t,
			struct table_access *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	bool unfiltered = false;
	struct buf filter = BUF_INIT(0);
	char full[300];
	memset(out, 0, sizeof *out);
	snprintf(full, sizeof full, "%s.%s", t->db, t->name);
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "WITH RECURSIVE r(n) AS (SELECT ?1 UNION SELECT pr.role FROM "
			       "principal_roles pr JOIN r ON pr.member = r.n) SELECT id, principal, "
			       "kind, target, columns, exclude, row_filter, created_ms, created_by "
			       "FROM policy_grants WHERE principal IN (SELECT n FROM r) ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "read grants");
		meta_unlock(p->m);
		goto out;
	}
	sqlite3_bind_text(st, 1, principal, -1, SQLITE_STATIC);
	struct grant_list gl = { 0 };
	while (sqlite3_step(st) == SQLITE_ROW) {
		gl.v = xrealloc(gl.v, (gl.n + 1) * sizeof *gl.v);
		grant_row(st, &gl.v[gl.n++]);
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	for (size_t i = 0; i < gl.n; i++) {
		const struct grant *g = &gl.v[i];
		if (g->kind == GRANT_CLEARANCE) {
			out->cleared = xrealloc(out->cleared, (out->ncleared + 1) * sizeof *out->cleared);
			out->cleared[out->ncleared++] = xstrdup(g->target);
			continue;
		}
		if (g->kind != GRANT_SELECT)
			continue;
		bool match = !strcmp(g->target, t->db) || !strcasecmp(g->target, full) ||
			     (!strncmp(g->target, "tag:", 4) && table_has_tag(t, g->target + 4));
		if (!match)
			continue;
		out->allowed = true;
		/* columns: the union over grants */
		if (!g->columns) {
			out->all_columns = true;
		} else if (!out->all_columns) {
			for (size_t c = 0; c < t->ncols; c++) {
				if (t->cols[c].depth)
					continue;
				bool listed = in_json_list(g->columns, t->cols[c].name);
				if (listed != g->exclude)
					add_column(out, t->cols[c].name);
			}
		}
		/* rows: any grant's filter */
		if (!g->row_filter || !g->row_filter[0]) {
			unfiltered = true;
		} else {
			buf_printf(&filter, "%s(%s)", filter.len ? " OR " : "", g->row_filter);
		}
	}
	grant_list_release(&gl);
	if (out->allowed && !unfiltered && filter.len)
		out->row_filter = xstrdup(filter.data);
out:
	buf_release(&filter);
	return rc;
}

bool policy_allows(struct policy *p, const char *principal, enum grant_kind k, const char *target)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;
	if (!p || !principal)
		return false;
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "WITH RECURSIVE r(n) AS (SELECT ?1 UNION SELECT pr.role FROM "
			       "principal_roles pr JOIN r ON pr.member = r.n) SELECT 1 FROM "
			       "policy_grants WHERE principal IN (SELECT n FROM r) AND kind = ?2 AND "
			       "(target = ?3 OR (?2 = 'stream' AND target = '*')) LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, principal, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, grant_kind_name(k), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	meta_unlock(p->m);
	return ok;
}

int policy_object_targets(struct policy *p, const char *principal, enum grant_kind k,
			  char ***out, size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	meta_lock(p->m);
	if (sqlite3_prepare_v2(meta_db(p->m),
			       "WITH RECURSIVE r(n) AS (SELECT ?1 UNION SELECT pr.role FROM "
			       "principal_roles pr JOIN r ON pr.member = r.n) SELECT DISTINCT target "
			       "FROM policy_grants WHERE principal IN (SELECT n FROM r) AND kind = ?2 "
			       "ORDER BY target", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(p, err, "object grants");
		goto out;
	}
	sqlite3_bind_text(st, 1, principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grant_kind_name(k), -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		(*out)[(*n)++] = col_dup(st, 0);
	}
	if (step != SQLITE_DONE)
		rc = db_fail(p, err, "object grants");
out:
	sqlite3_finalize(st);
	meta_unlock(p->m);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

bool policy_owns(const char *principal, const struct cat_table *t)
{
	size_t ul = principal ? strlen(principal) : 0;
	return !strcmp(t->db, "sandbox") && ul && !strncmp(t->name, principal, ul) &&
	       t->name[ul] == '/';
}

int policy_read_access(struct policy *p, const char *principal, bool admin,
		       const struct cat_table *t, struct table_access *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (admin || policy_owns(principal, t)) {
		out->allowed = out->all_columns = true;
		out->cleared = xcalloc(1, sizeof *out->cleared);
		out->cleared[0] = xstrdup("pii");
		out->ncleared = 1;
		return 0;
	}
	if (!p)
		return 0;
	return policy_table_access(p, principal, t, out, err);
}

bool table_access_column(const struct table_access *a, const char *name)
{
	if (a->all_columns)
		return true;
	for (size_t i = 0; i < a->ncolumns; i++)
		if (!strcmp(a->columns[i], name))
			return true;
	return false;
}
