/*
 * api_catalog.c - the data catalog under /v1: crawl on demand, the views
 * of tables, columns and bad files, and column tags.
 *
 * Thin translation onto catalog.h: path parameters, a query parameter and
 * small JSON bodies in, core calls, JSON out.  The catalog renders its own
 * documents (crawl_report_json, catalog_tables_json, catalog_table_json,
 * catalog_bad_files_json), answered as they are through
 * http_reply_json_buf.
 *
 * Threads: a crawl reads files for seconds to minutes, so POST /v1/crawl
 * runs on a worker thread (http_defer) and asks with CRAWL_NOWAIT: a
 * second crawl while one runs is refused at once with 409 "busy" rather
 * than parking a thread (errors.c maps TN_EAGAIN to 503 + Retry-After,
 * which is backpressure; a running crawl is a state conflict the client
 * should see, not retry blindly).  The views and the tag change are short
 * metastore reads and writes and run on the loop thread, like stream
 * describe/configure (see README.md "Threads").
 *
 * Authorization: every authenticated principal is root until the
 * governance issue; the tag change still checks is_admin so that it stays
 * an admin's decision when non-admin principals appear.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/http_int.h"
#include "policy/policy.h"

#include "core/banned.h"

/* Longest query parameter value kept (a database name, an alias). */
#define QUERY_VALUE_MAX 128

/* The optional ?db= of a list; answers and returns false when it is bad. */
static bool db_param(struct http_req *r, char *db, size_t n, const char **out)
{
	int rc = http_query_param(r->raw_query, "db", db, n);

	if (rc < 0) {
		http_reply_error(r, TN_EINVAL, "query parameter 'db' is too long or malformed");
		return false;
	}
	*out = rc ? db : NULL;
	return true;
}

/* Answers 200 with a document the catalog rendered into b (taken: released). */
static void reply_doc(struct http_req *r, struct buf *b)
{
	struct buf *out = http_reply_json_buf(r, 200);

	buf_append(out, b->data, b->len);
	buf_putc(out, '\n');
	buf_release(b);
}

/* ---- POST /v1/crawl --------------------------------------------------- */

/* Worker thread of a crawl: parses the body, crawls, answers. */
static void crawl_work(struct http_req *r)
{
	struct crawl_report rep;
	struct crawl_opts o = { NULL, CRAWL_NOWAIT };
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	json_t *doc, *v;
	int rc;

	memset(&rep, 0, sizeof(rep));
	doc = http_body_json(r, err);
	if (!doc) {
		http_reply_error(r, TN_EINVAL, err);
		return;
	}
	v = json_object_get(doc, "target");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			http_reply_error(r, TN_EINVAL,
					 "'target' must be a zone (\"raw\", \"bronze\"...) or a key "
					 "prefix inside a zone");
			goto out;
		}
		o.target = json_string_value(v);
	}
	v = json_object_get(doc, "full");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			http_reply_error(r, TN_EINVAL, "'full' must be true or false");
			goto out;
		}
		if (json_is_true(v))
			o.flags |= CRAWL_FULL;
	}
	rc = catalog_crawl(r->deps->catalog, &o, &rep, err);
	if (rc == TN_EAGAIN) {
		http_reply_error_status(r, 409, "busy",
					"a crawl is already running: try again once it has finished");
		goto out;
	}
	if (rc) {
		char msg[TN_ERRLEN];

		http_utf8_copy(err, msg, sizeof(msg));
		http_reply_error(r, rc, msg);
		goto out;
	}
	crawl_report_json(&rep, &b);
	reply_doc(r, &b);
out:
	crawl_report_release(&rep);
	buf_release(&b);
	json_decref(doc);
}

/*
 * POST /v1/crawl  body (optional): {"target": "raw" | "bronze" | "01-raw-data-zone/x",
 *                                   "full": true}
 *   -> 200 {crawl report: counters, "tables": [...], "bad_files": [...]}
 *      400 bad body or target, 404 a key prefix that does not exist,
 *      409 "busy" while another crawl runs.
 * No target: every catalogued zone.  "full": re-read every file.
 */
void api_crawl(struct http_req *r)
{
	http_defer(r, crawl_work);
}

/* ---- views ------------------------------------------------------------ */

/* GET /v1/catalog/tables[?db=raw]  -> 200 {"tables": [{summary}...]} | 404 unknown db */
void api_catalog_tables(struct http_req *r)
{
	struct cat_table_list l = { NULL, 0 };
	struct buf b = BUF_INIT(0);
	char db[QUERY_VALUE_MAX], err[TN_ERRLEN];
	const char *dbp;
	int rc;

	if (!db_param(r, db, sizeof(db), &dbp))
		return;
	rc = catalog_tables(r->deps->catalog, dbp, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	/* a user who is not an admin sees the tables they may read, no others */
	if (!r->who.is_admin) {
		size_t kept = 0;
		for (size_t i = 0; i < l.n; i++) {
			struct cat_table full;
			struct table_access a;
			bool ok = catalog_table_get(r->deps->catalog, l.v[i].db, l.v[i].name, &full,
						    err) == 0;
			if (ok) {
				ok = policy_read_access(r->deps->policy, r->who.name, false, &full, &a,
							err) == 0 && a.allowed;
				table_access_release(&a);
				cat_table_release(&full);
			}
			if (ok)
				l.v[kept++] = l.v[i];
			else
				cat_table_release(&l.v[i]);
		}
		l.n = kept;
	}
	catalog_tables_json(&l, &b);
	cat_table_list_release(&l);
	reply_doc(r, &b);
}

/*
 * Splits the {name} parameter "db.table" and describes the table into t.
 * Answers the error (400 bad name, 404 no such table) and returns false.
 */
static bool table_param(struct http_req *r, char *db, char *table, struct cat_table *t)
{
	char err[TN_ERRLEN];
	int rc = catalog_split_name(r->param[0], db, HTTP_MAX_PARAM, table, HTTP_MAX_PARAM, err);

	if (rc == 0)
		rc = catalog_table_get(r->deps->catalog, db, table, t, err);
	if (rc) {
		char msg[TN_ERRLEN];

		http_utf8_copy(err, msg, sizeof(msg));
		http_reply_error(r, rc, msg);
		return false;
	}
	return true;
}

/*
 * GET /v1/catalog/tables/{db}.{table}
 *   -> 200 {table: ..., "partition_keys": [...], "columns": [{..., "tags": [...]}],
 *           "schema_history": [...]} | 400 bad name | 404
 */
void api_catalog_table(struct http_req *r)
{
	char db[HTTP_MAX_PARAM], table[HTTP_MAX_PARAM];
	struct cat_table t;
	struct buf b = BUF_INIT(0);

	memset(&t, 0, sizeof(t));
	if (!table_param(r, db, table, &t))
		return;
	catalog_table_json(&t, &b);
	if (!r->who.is_admin) {
		/* only a readable table, and only its granted columns */
		struct table_access a;
		char err[TN_ERRLEN];
		bool ok = policy_read_access(r->deps->policy, r->who.name, false, &t, &a, err) == 0 &&
			  a.allowed;
		json_t *doc = ok ? json_loadb(b.data, b.len, 0, NULL) : NULL;
		json_t *cols = json_object_get(doc, "columns"), *keep = json_array();
		size_t i;
		json_t *c;
		json_array_foreach(cols, i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			char top[HTTP_MAX_PARAM];
			snprintf(top, sizeof top, "%s", name ? name : "");
			char *dot = strchr(top, '.');
			if (dot)
				*dot = 0;
			if (table_access_column(&a, top))
				json_array_append(keep, c);
		}
		table_access_release(&a);
		cat_table_release(&t);
		buf_release(&b);
		if (!doc) {
			json_decref(keep);
			http_reply_error(r, TN_ENOTFOUND, "table not found in the catalog (or not "
					 "readable by you)");
			return;
		}
		json_object_set_new(doc, "columns", keep);
		http_reply_json(r, 200, doc);
		return;
	}
	cat_table_release(&t);
	reply_doc(r, &b);
}

/*
 * GET /v1/catalog/errors[?db=raw]
 *   -> 200 {"errors": [{"path", "database", "table", "reason", "size", "seen"}...]}
 *      newest first | 404 unknown db
 */
void api_catalog_errors(struct http_req *r)
{
	struct cat_bad_list l = { NULL, 0 };
	struct buf b = BUF_INIT(0);
	char db[QUERY_VALUE_MAX], err[TN_ERRLEN];
	const char *dbp;
	int rc;

	if (!db_param(r, db, sizeof(db), &dbp))
		return;
	rc = catalog_bad_files(r->deps->catalog, dbp, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	catalog_bad_files_json(&l, &b);
	cat_bad_list_release(&l);
	reply_doc(r, &b);
}

/* ---- tags ------------------------------------------------------------- */

/*
 * Answers 200 with the column col of the described table t:
 *   {"table": "raw.x", "column": {column as in describe}}
 * Exact name first, then case-insensitively (as the catalog matches).
 */
static void reply_column(struct http_req *r, const struct cat_table *t, const char *col)
{
	struct buf b = BUF_INIT(0);
	json_t *doc, *cols, *found = NULL, *c;
	char qname[2 * HTTP_MAX_PARAM + 2];
	size_t i;

	catalog_table_json(t, &b);
	doc = json_loadb(b.data, b.len, 0, NULL);
	buf_release(&b);
	cols = doc ? json_object_get(doc, "columns") : NULL;
	json_array_foreach(cols, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));

		if (n && !strcmp(n, col)) {
			found = c;
			break;
		}
	}
	if (!found) {
		json_array_foreach(cols, i, c) {
			const char *n = json_string_value(json_object_get(c, "name"));

			if (n && !strcasecmp(n, col)) {
				found = c;
				break;
			}
		}
	}
	snprintf(qname, sizeof(qname), "%s.%s", t->db, t->name);
	http_reply_json(r, 200, json_pack("{s:s,s:O?}", "table", qname, "column", found));
	json_decref(doc);
}

/*
 * PUT /v1/catalog/tables/{db}.{table}/columns/{column}/tags
 *   body {"tag": "pii"}    the tag is in effect, whatever the crawler finds
 *        {"tag": null}     (or "none") "pii" is not in effect, whatever the crawler finds
 *        {"tag": "auto"}   drop the admin's decision on "pii": the crawler's applies
 *   optional "name": the tag that null / "none" / "auto" apply to (default "pii").
 *   -> 200 {"table": "raw.x", "column": {name, type, pii, tags: [...], ...}}
 *      400 bad body or tag name, 403 not an admin, 404 no such table or column.
 * column is a top-level name or "a.b" for a struct field.  The crawler never
 * overrides the decision; the principal's name is kept as the tag's detail.
 */
void api_catalog_tag(struct http_req *r)
{
	char db[HTTP_MAX_PARAM], table[HTTP_MAX_PARAM], err[TN_ERRLEN], msg[TN_ERRLEN];
	const char *column = r->param[1], *tag = "pii";
	enum cat_tag_op op;
	struct cat_table t;
	json_t *doc, *v, *name;
	int rc;

	if (!r->who.is_admin) {
		http_reply_error(r, TN_EDENIED, "changing a column's tags needs an admin principal");
		return;
	}
	memset(&t, 0, sizeof(t));
	doc = http_body_json(r, err);
	if (!doc) {
		http_reply_error(r, TN_EINVAL, err);
		return;
	}
	v = json_object_get(doc, "tag");
	name = json_object_get(doc, "name");
	if (!v) {
		http_reply_error(r, TN_EINVAL,
				 "the body needs 'tag': a tag name (\"pii\"), null to clear it, "
				 "or \"auto\" to hand it back to the crawler");
		goto out;
	}
	if (name && !json_is_null(name) && !json_is_string(name)) {
		http_reply_error(r, TN_EINVAL, "'name' must be a tag name");
		goto out;
	}
	if (json_is_null(v) || (json_is_string(v) && !strcmp(json_string_value(v), "none"))) {
		op = CAT_TAG_CLEAR;
		if (json_is_string(name))
			tag = json_string_value(name);
	} else if (json_is_string(v) && !strcmp(json_string_value(v), "auto")) {
		op = CAT_TAG_AUTO;
		if (json_is_string(name))
			tag = json_string_value(name);
	} else if (json_is_string(v)) {
		op = CAT_TAG_SET;
		tag = json_string_value(v);
	} else {
		http_reply_error(r, TN_EINVAL, "'tag' must be a tag name, null or \"auto\"");
		goto out;
	}
	rc = catalog_split_name(r->param[0], db, sizeof(db), table, sizeof(table), err);
	if (rc == 0)
		rc = catalog_tag(r->deps->catalog, db, table, column, tag, op, r->who.name, err);
	if (rc == 0)
		http_audit(r, "tag", r->who.name,
			   json_pack("{s:s, s:s, s:s?, s:s}", "table", r->param[0], "column", column,
				     "tag", tag, "op", op == CAT_TAG_SET ? "set" : op == CAT_TAG_CLEAR
				     ? "clear" : "auto"));
	if (rc) {
		http_utf8_copy(err, msg, sizeof(msg));
		http_reply_error(r, rc, msg);
		goto out;
	}
	if (table_param(r, db, table, &t)) {
		reply_column(r, &t, column);
		cat_table_release(&t);
	}
out:
	json_decref(doc);
}
