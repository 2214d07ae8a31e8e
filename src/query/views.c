/*
 * views.c - the views a query reads through: catalog tables resolved by
 * name (with suggestions for unknown ones), partition pruning from the
 * guard's predicates, the view SQL over the kept files, and the secured
 * view of a principal who is not an admin (granted columns, masks, row
 * filter).  See query.c for where they are created and why per connection.
 */
#include <ctype.h>
#include <duckdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "policy/policy.h"
#include "query/guard.h"
#include "query/query_int.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- partition pruning ---- */

/* An integer literal as DuckDB would read it exactly: [+-]digits, within int64. */
static bool exact_int(const char *t, long long *out)
{
	char *end;
	if (!*t || strspn(t + (*t == '-' || *t == '+'), "0123456789") != strlen(t + (*t == '-' || *t == '+')))
		return false;
	errno = 0;
	*out = strtoll(t, &end, 10);
	return !errno && !*end;
}

/*
 * -1, 0, 1 comparing partition value v with constant c as DuckDB would;
 * 2 when tarn cannot tell how DuckDB compares them (then the file is kept).
 */
static int cmp_value(const struct cat_partition_key *k, const char *v, const struct guard_const *c)
{
	bool numeric = strcmp(k->type, "VARCHAR") != 0;
	if (numeric) {
		long long a, b;
		if (!exact_int(v, &a))
			return 2;
		if (exact_int(c->text, &b))
			return a < b ? -1 : a > b;
		if (!c->number)
			return 2;  /* '2024.5' against an integer: DuckDB casts and rounds */
		char *end;
		errno = 0;
		double d = strtod(c->text, &end);
		if (end == c->text || *end || errno || d > 9007199254740992.0 ||
		    d < -9007199254740992.0 || a > (1ll << 53) || a < -(1ll << 53))
			return 2;
		return (double)a < d ? -1 : (double)a > d;
	}
	if (c->number)
		return 2;  /* VARCHAR = 5: DuckDB decides the cast; keep */
	int r = strcmp(v, c->text);
	return r < 0 ? -1 : r > 0;
}

/* Does partition value v (NULL = SQL NULL) pass p?  Unknown -> true. */
static bool pred_holds(const struct cat_partition_key *k, const char *v, const struct guard_pred *p)
{
	if (!v)
		return false;  /* every guard comparison is false on NULL */
	int r;
	switch (p->op) {
	case GUARD_IN:
		for (size_t i = 0; i < p->nvals; i++) {
			r = cmp_value(k, v, &p->vals[i]);
			if (r == 0 || r == 2)
				return true;
		}
		return false;
	case GUARD_BETWEEN: {
		int lo = cmp_value(k, v, &p->vals[0]), hi = cmp_value(k, v, &p->vals[1]);
		if (lo == 2 || hi == 2)
			return true;
		return lo >= 0 && hi <= 0;
	}
	default:
		break;
	}
	r = cmp_value(k, v, &p->vals[0]);
	if (r == 2)
		return true;
	switch (p->op) {
	case GUARD_EQ: return r == 0;
	case GUARD_NE: return r != 0;
	case GUARD_LT: return r < 0;
	case GUARD_LE: return r <= 0;
	case GUARD_GT: return r > 0;
	case GUARD_GE: return r >= 0;
	default: return true;
	}
}

/* cat_partition_fn: keeps a partition some reference of the table may need. */
static bool keep_partition(void *arg, const struct cat_table *t, const char *const *vals)
{
	const struct guard_table *gt = arg;
	for (size_t r = 0; r < gt->nrefs; r++) {
		const struct guard_ref *ref = &gt->refs[r];
		bool ok = true;
		for (size_t i = 0; i < ref->npreds && ok; i++)
			for (size_t k = 0; k < t->npkeys && ok; k++)
				if (!strcasecmp(t->pkeys[k].name, ref->preds[i].column))
					ok = pred_holds(&t->pkeys[k], vals[k], &ref->preds[i]);
		if (ok)
			return true;
	}
	return false;
}

static bool refs_filter(const struct guard_table *gt)
{
	for (size_t r = 0; r < gt->nrefs; r++)
		if (gt->refs[r].npreds == 0)
			return false;
	return gt->nrefs > 0;
}

/* ---- views ---- */

/* A typed empty SELECT with the table's columns (a table without files). */
static void empty_view(const struct cat_table *t, struct buf *b)
{
	bool first = true;
	buf_puts(b, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->cols[i].depth)
			continue;
		buf_puts(b, first ? "" : ", ");
		first = false;
		buf_puts(b, "CAST(NULL AS ");
		buf_puts(b, t->cols[i].type);
		buf_puts(b, ") AS ");
		query_sql_ident(b, t->cols[i].name);
	}
	if (first)
		buf_puts(b, "NULL AS \"_\"");
	buf_puts(b, " LIMIT 0");
}

/* Column names the views use internally (not visible: excluded by the outer SELECT). */
#define VIEW_FILE_COL "__tarn_file"

/*
 * The view SQL of table t over files (kept by pruning).  A partitioned
 * table is one read over all its files (so DuckDB spreads the files over
 * its threads) with each row's file index, and each partition value is an
 * element of a constant list indexed by it: a list access per row.  (A
 * MAP keyed by the file's folder cost 25% more on a GROUP BY over a
 * partition column; one read per partition, a UNION ALL, far more.)
 */
static int view_sql(struct query_engine *e, const struct cat_table *t,
		    const struct cat_file_list *fl, struct buf *b, char *err)
{
	const char *root = store_root(e->store);
	if (fl->n == 0) {
		empty_view(t, b);
		return 0;
	}
	if (t->npkeys == 0)
		return catalog_scan_sql(t, root, fl->v, fl->n, NULL, b, err);
	buf_puts(b, "SELECT * EXCLUDE (\"" VIEW_FILE_COL "\")");
	for (size_t k = 0; k < t->npkeys; k++) {
		buf_puts(b, ", CAST([");
		for (size_t i = 0; i < fl->n; i++) {
			const char *v = fl->v[i].pvals[k];
			buf_puts(b, i ? ", " : "");
			if (v)
				query_sql_str(b, v);
			else
				buf_puts(b, "NULL");
		}
		buf_puts(b, "][\"" VIEW_FILE_COL "\" + 1] AS ");
		buf_puts(b, t->pkeys[k].type);
		buf_puts(b, ") AS ");
		query_sql_ident(b, t->pkeys[k].name);
	}
	buf_puts(b, " FROM (");
	int rc = catalog_scan_sql(t, root, fl->v, fl->n, VIEW_FILE_COL, b, err);
	buf_puts(b, ")");
	return rc;
}

/* Creates (or keeps) the view schema.name on slot s with the given SQL. */
static int put_view(struct slot *s, const char *schema, const char *name, const struct buf *sql,
		    char *err)
{
	char key[512];
	snprintf(key, sizeof key, "%s.%s", schema, name);
	for (char *p = key; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	uint64_t h = query_fnv1a(sql->data, sql->len);
	struct view_memo *m = NULL;
	for (size_t i = 0; i < s->nviews && !m; i++)
		if (!strcmp(s->views[i].name, key))
			m = &s->views[i];
	if (m && m->hash == h)
		return 0;
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "CREATE OR REPLACE VIEW ");
	query_sql_ident(&b, schema);
	buf_putc(&b, '.');
	query_sql_ident(&b, name);
	buf_puts(&b, " AS ");
	buf_append(&b, sql->data, sql->len);
	duckdb_result r;
	int rc = 0;
	if (duckdb_query(s->con, b.data, &r) != DuckDBSuccess)
		rc = tn_fail(err, TN_EINTERNAL, "table '%s.%s': cannot build its view: %.300s", schema,
			     name, duckdb_result_error(&r));
	duckdb_destroy_result(&r);
	buf_release(&b);
	if (rc) {
		if (m)
			m->hash = 0;
		return rc;
	}
	if (!m) {
		if (s->nviews >= QUERY_VIEW_CACHE) {
			for (size_t i = 0; i < s->nviews; i++)
				free(s->views[i].name);
			s->nviews = 0;
		}
		s->views = xrealloc(s->views, (s->nviews + 1) * sizeof *s->views);
		m = &s->views[s->nviews++];
		m->name = xstrdup(key);
	}
	m->hash = h;
	return 0;
}

/* Edit distance of two short strings, case-insensitive (for suggestions). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 128 || lb > 128)
		return 1000;
	size_t prev[129], cur[129];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			char x = a[i - 1], y = b[j - 1];
			if (x >= 'A' && x <= 'Z')
				x = (char)(x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (char)(y - 'A' + 'a');
			size_t best = prev[j - 1] + (x != y);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb];
}

struct suggestion {
	size_t dist;
	size_t index;
};

static int cmp_suggestion(const void *a, const void *b)
{
	const struct suggestion *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* "table 'raw.immunisations' is not in the catalog; did you mean raw.immunizations?" */
static int unknown_table(struct query_engine *e, const char *db, const char *name, char *err)
{
	struct cat_table_list l;
	char ask[300], dummy[TN_ERRLEN];
	snprintf(ask, sizeof ask, "%s%s%s", db ? db : "", db ? "." : "", name);
	struct buf hint = BUF_INIT(0);
	if (catalog_tables(e->catalog, NULL, &l, dummy) == 0) {
		struct suggestion *sg = xcalloc(l.n ? l.n : 1, sizeof *sg);
		size_t n = 0, limit = strlen(ask) / 3 + 2;
		for (size_t i = 0; i < l.n; i++) {
			char full[300];
			snprintf(full, sizeof full, "%s.%s", l.v[i].db, l.v[i].name);
			size_t d = db ? edit_distance(ask, full) : edit_distance(name, l.v[i].name);
			if (d <= limit)
				sg[n++] = (struct suggestion){ d, i };
		}
		qsort(sg, n, sizeof *sg, cmp_suggestion);
		for (size_t k = 0; k < n && k < 3; k++)
			buf_printf(&hint, "%s%s.%s", k ? ", " : "", l.v[sg[k].index].db,
				   l.v[sg[k].index].name);
		free(sg);
		cat_table_list_release(&l);
	}
	int rc;
	if (hint.len)
		rc = tn_fail(err, TN_ENOTFOUND,
			     "table '%.200s' is not in the catalog; did you mean %.200s?", ask,
			     hint.data);
	else
		rc = tn_fail(err, TN_ENOTFOUND,
			     "table '%.200s' is not in the catalog (see tarn tables)", ask);
	buf_release(&hint);
	return rc;
}

/*
 * Finds the catalog table of a reference.  An unqualified name is looked
 * for in every database and must be unique.
 */
static int resolve(struct query_engine *e, const struct guard_table *gt, const char *user,
		   struct cat_table *t, char *err)
{
	char dummy[TN_ERRLEN], db[64];
	if (gt->db) {
		/* SQL folds the case of names: RAW.t is raw.t */
		snprintf(db, sizeof db, "%s", gt->db);
		for (char *p = db; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		int z = zone_by_name(db);
		if (z < 0)
			return tn_fail(err, TN_ENOTFOUND,
				       "database '%.100s' does not exist (databases are the zones: "
				       "raw, transient, master, drop, sandbox, log, stage, cleanse, "
				       "core, mart, references; aliases bronze, silver, gold)",
				       gt->db);
		/* sandbox.t is the user's own table "<user>/t" */
		if (z == ZONE_SANDBOX && user && !strchr(gt->name, '/')) {
			char own[300];
			snprintf(own, sizeof own, "%s/%s", user, gt->name);
			if (catalog_table_get(e->catalog, db, own, t, dummy) == 0)
				return 0;
		}
		if (catalog_table_get(e->catalog, db, gt->name, t, dummy) == 0)
			return 0;
		return unknown_table(e, db, gt->name, err);
	}
	struct cat_table_list l;
	int rc = catalog_tables(e->catalog, NULL, &l, err);
	if (rc)
		return rc;
	const char *found_db = NULL;
	size_t hits = 0;
	struct buf names = BUF_INIT(0);
	for (size_t i = 0; i < l.n; i++)
		if (!strcasecmp(l.v[i].name, gt->name)) {
			hits++;
			found_db = l.v[i].db;
			buf_printf(&names, "%s%s.%s", hits > 1 ? ", " : "", l.v[i].db, l.v[i].name);
		}
	if (hits == 1) {
		snprintf(db, sizeof db, "%s", found_db);
		rc = catalog_table_get(e->catalog, db, gt->name, t, err);
	} else if (hits > 1) {
		rc = tn_fail(err, TN_EINVAL, "table name '%.100s' is ambiguous: qualify it (%.300s)",
			     gt->name, names.data);
	}
	buf_release(&names);
	cat_table_list_release(&l);
	if (hits == 0)
		return unknown_table(e, NULL, gt->name, err);
	return rc;
}

/* How one top-level column reads for a principal who is not an admin. */
struct column_plan {
	bool granted;
	bool masked;
	enum mask_kind mask;
};

/*
 * Decides, once per table and query, which columns the principal reads and
 * which of them masked: a pii column unless the principal holds the pii
 * clearance; a column with another tag once an admin set a mask for that
 * tag, unless cleared.  plan has t->ncols entries (nested fields unused).
 */
static void plan_columns(struct query_engine *e, const struct cat_table *t,
			 const struct table_access *a, struct column_plan *plan)
{
	bool pii_cleared = false;
	for (size_t i = 0; i < a->ncleared; i++)
		pii_cleared |= !strcmp(a->cleared[i], "pii");
	enum mask_kind pii_mask = policy_mask(e->policy, "pii");
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *c = &t->cols[i];
		struct column_plan *p = &plan[i];
		memset(p, 0, sizeof *p);
		if (c->depth)
			continue;
		p->granted = table_access_column(a, c->name);
		p->masked = c->pii && !pii_cleared;
		p->mask = pii_mask;
		for (size_t k = 0; k < c->ntags && p->granted && !p->masked; k++) {
			const struct cat_tag *tg = &c->tags[k];
			bool cleared = tg->cleared || !strcmp(tg->name, "pii");
			for (size_t q = 0; q < a->ncleared && !cleared; q++)
				cleared = !strcmp(a->cleared[q], tg->name);
			if (!cleared && policy_mask_set(e->policy, tg->name, &p->mask))
				p->masked = true;
		}
	}
}

/*
 * May the principal's predicates on partition columns prune files?  Not
 * when a partition column is hidden or masked: pruning on its real values
 * would tell, through the files counted, what the mask hides.
 */
static bool pruning_allowed(const struct cat_table *t, const struct column_plan *plan)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].partition && (!plan[i].granted || plan[i].masked))
			return false;
	return true;
}

/*
 * The principal's secured view over a table's base view: only granted
 * columns, masked as planned, rows of the grants' filters (evaluated on
 * the real values).
 */
static int secured_sql(struct query_engine *e, const struct cat_table *t,
		       const struct table_access *a, const struct column_plan *plan,
		       const char *base, struct buf *out, const char *user, char *err)
{
	bool any = false;
	buf_puts(out, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *c = &t->cols[i];
		if (c->depth || !plan[i].granted)
			continue;
		buf_puts(out, any ? ", " : "");
		any = true;
		struct buf id = BUF_INIT(0);
		query_sql_ident(&id, c->name);
		if (plan[i].masked)
			policy_mask_sql(e->policy, plan[i].mask, id.data, c->type, out);
		else
			buf_append(out, id.data, id.len);
		buf_puts(out, " AS ");
		buf_append(out, id.data, id.len);
		buf_release(&id);
	}
	if (!any)
		return tn_fail(err, TN_EDENIED, "user '%s' has no grant to any column of table "
			       "'%s.%s'", user, t->db, t->name);
	buf_puts(out, " FROM (");
	buf_puts(out, base);
	buf_puts(out, ") AS \"__tarn_base\"");
	if (a->row_filter)
		buf_printf(out, " WHERE %s", a->row_filter);
	return 0;
}

int query_table_shape(struct query_engine *e, const struct cat_table *t, const char *user,
		      bool admin, struct query_shape_col **cols, size_t *n, char *err)
{
	struct table_access acc;
	struct column_plan *plan = NULL;
	bool secured = !admin && !policy_owns(user, t);
	int rc = 0;
	*cols = NULL;
	*n = 0;
	memset(&acc, 0, sizeof acc);
	if (secured) {
		if ((rc = policy_read_access(e->policy, user, false, t, &acc, err)))
			return rc;
		if (!acc.allowed) {
			rc = tn_fail(err, TN_EDENIED, "user '%s' has no grant to read table '%s.%s'",
				     user ? user : "", t->db, t->name);
			goto out;
		}
		plan = xcalloc(t->ncols ? t->ncols : 1, sizeof *plan);
		plan_columns(e, t, &acc, plan);
	}
	*cols = xcalloc(t->ncols ? t->ncols : 1, sizeof **cols);
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->cols[i].depth || (plan && !plan[i].granted))
			continue;
		struct query_shape_col *c = &(*cols)[(*n)++];
		c->col = &t->cols[i];
		c->masked = plan && plan[i].masked;
		c->mask = plan ? (int)plan[i].mask : 0;
	}
	if (*n == 0 && secured)
		rc = tn_fail(err, TN_EDENIED, "user '%s' has no grant to any column of table "
			     "'%s.%s'", user ? user : "", t->db, t->name);
out:
	if (rc) {
		free(*cols);
		*cols = NULL;
		*n = 0;
	}
	free(plan);
	table_access_release(&acc);
	return rc;
}

/* Builds the view of every table the statement reads on slot s, as user sees it. */
int query_build_views(struct query_engine *e, struct slot *s, const struct guard_result *g,
		       const char *user, bool admin, struct query_stats *st, char *err)
{
	int rc = 0;
	for (size_t i = 0; i < g->ntables && rc == 0; i++) {
		const struct guard_table *gt = &g->tables[i];
		struct cat_table t;
		struct cat_file_list kept;
		struct table_access acc;
		memset(&kept, 0, sizeof kept);
		memset(&acc, 0, sizeof acc);
		if ((rc = resolve(e, gt, user, &t, err)))
			break;
		/* admins read all; a user their own sandbox, and what grants allow */
		bool secured = !admin && !policy_owns(user, &t);
		if (secured && (rc = policy_read_access(e->policy, user, false, &t, &acc, err))) {
			cat_table_release(&t);
			break;
		}
		if (secured && !acc.allowed) {
			rc = tn_fail(err, TN_EDENIED, "user '%s' has no grant to read table '%s.%s'",
				     user ? user : "", t.db, t.name);
			table_access_release(&acc);
			cat_table_release(&t);
			break;
		}
		struct column_plan *plan = NULL;
		bool prune = true;
		if (secured) {
			plan = xcalloc(t.ncols ? t.ncols : 1, sizeof *plan);
			plan_columns(e, &t, &acc, plan);
			prune = pruning_allowed(&t, plan);
		}
		bool filter = prune && t.npkeys > 0 && refs_filter(gt);
		rc = catalog_table_files(e->catalog, &t, filter ? keep_partition : NULL, (void *)gt,
					 &kept, err);
		/* the table's count of good files, read with it: no second listing */
		if (rc == 0 && filter && t.files > (int64_t)kept.n)
			st->files_pruned += (uint64_t)t.files - kept.n;
		if (rc == 0) {
			struct buf sql = BUF_INIT(0), sec = BUF_INIT(0);
			st->files += kept.n;
			for (size_t k = 0; k < kept.n; k++)
				st->bytes_scanned += kept.v[k].size;
			rc = view_sql(e, &t, &kept, &sql, err);
			if (rc == 0 && secured)
				rc = secured_sql(e, &t, &acc, plan, sql.data, &sec, user, err);
			if (rc == 0)
				rc = put_view(s, gt->db ? gt->db : "main", gt->name,
					      secured ? &sec : &sql, err);
			buf_release(&sql);
			buf_release(&sec);
		}
		st->tables++;
		free(plan);
		table_access_release(&acc);
		cat_file_list_release(&kept);
		cat_table_release(&t);
	}
	return rc;
}

