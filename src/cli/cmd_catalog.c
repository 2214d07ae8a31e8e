/*
 * cmd_catalog.c - the catalog commands of the CLI: crawl, tables,
 * describe, tag.
 *
 *   tarn crawl [ZONE|PREFIX] [--full]     POST /v1/crawl
 *   tarn tables [ZONE]                    GET  /v1/catalog/tables[?db=ZONE]
 *   tarn describe DB.TABLE                GET  /v1/catalog/tables/{db}.{table}
 *   tarn tag DB.TABLE.COLUMN pii|none|auto
 *                                         PUT  /v1/catalog/tables/{db}.{table}/columns/{c}/tags
 *
 * Each prints a human view on stdout, or with --json the server's document
 * as it came.  A crawl that found bad files still succeeded (exit 0): the
 * bad files are listed with their reasons, and `GET /v1/catalog/errors`
 * keeps them.  A crawl already running is the server's 409, exit 1.
 *
 * Naming: "DB.TABLE.COLUMN" splits at the first two dots (the column may
 * be "a.b", a field of a struct); a table whose name holds a dot is named
 * with the three-argument form `tarn tag DB.TABLE COLUMN VALUE`.
 */
#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

#define ENV_HELP                                                                   \
	"environment:\n"                                                           \
	"  TARN_URL        server address (default http://127.0.0.1:7070)\n"       \
	"  TARN_TOKEN      API token (see `tarn token`), or\n"                      \
	"  TARN_USER, TARN_PASSWORD   user name and password\n"

/* Widest type shown in describe's column list (nested fields follow on their own lines). */
#define TYPE_SHOWN 48

/* ---- shared helpers ------------------------------------------------------- */

static void print_raw(const struct buf *raw)
{
	fwrite(raw->data, 1, raw->len, stdout);
	if (raw->len == 0 || raw->data[raw->len - 1] != '\n')
		putchar('\n');
}

static long long jint(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : dflt;
}

/* "12 B", "3.4 KiB", "1.2 MiB", ... */
static void fmt_bytes(long long n, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%lld B", n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

/* An ISO time "2026-11-22T03:40:47.123Z" shown as "2026-11-22 03:40:47"; "-" if null. */
static void fmt_time(const json_t *v, char *out, size_t len)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) < 19) {
		snprintf(out, len, "%s", s && *s ? s : "-");
		return;
	}
	snprintf(out, len, "%.10s %.8s", s, s + 11);
}

/* Runs one JSON call with a fresh client; on failure prints the error and returns 1. */
static int call(const char *method, const char *path, json_t *body, json_t **doc,
		struct buf *raw)
{
	char err[TN_ERRLEN];
	struct client c;
	int rc = 0;

	if (client_init(&c, err) || client_json(&c, method, path, body, doc, raw, err))
		rc = cli_error("%s", err);
	client_release(&c);
	return rc;
}

/* ---- tarn crawl ------------------------------------------------------------ */

static const char crawl_usage[] =
	"usage: tarn crawl [ZONE|PREFIX] [--full] [--json]\n"
	"\n"
	"Crawls the lake now and updates the catalog: new and changed files are read,\n"
	"tables, schemas, partitions and PII tags inferred.  Without an argument every\n"
	"catalogued zone is crawled; ZONE is a database name or alias (raw, bronze,\n"
	"drop, ...); PREFIX is a folder or file inside a zone\n"
	"(01-raw-data-zone/immunizations/2026/04) and crawls only that subtree.\n"
	"Prints what changed; bad files are listed with their reason and do not fail\n"
	"the crawl (`tarn tables`, `GET /v1/catalog/errors`).  One crawl runs at a\n"
	"time: while another runs the command fails at once.\n"
	"\n"
	"options:\n"
	"  --full        re-read every file, not only the new and changed ones\n"
	"  --json        print the server's crawl report as it came\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

static void print_crawl(const json_t *rep)
{
	json_t *tables = json_object_get(rep, "tables"), *bad = json_object_get(rep, "bad_files");
	long long ms = jint(rep, "duration_ms");
	size_t i;
	json_t *t;

	printf("crawled %lld zone%s in %.1f s: %lld table%s new, %lld changed (%lld seen); "
	       "files: %lld read, %lld unchanged, %lld removed, %lld bad, %lld skipped; "
	       "columns: %lld added, %lld widened\n",
	       jint(rep, "zones"), jint(rep, "zones") == 1 ? "" : "s", (double)ms / 1000,
	       jint(rep, "tables_new"), jint(rep, "tables_new") == 1 ? "" : "s",
	       jint(rep, "tables_changed"), jint(rep, "tables_seen"), jint(rep, "files_read"),
	       jint(rep, "files_unchanged"), jint(rep, "files_removed"), jint(rep, "files_bad"),
	       jint(rep, "files_skipped"), jint(rep, "columns_added"),
	       jint(rep, "columns_widened"));
	json_array_foreach(tables, i, t) {
		printf("  %-7s %s.%s  schema v%lld, %lld column%s added, %lld widened; files %lld new, "
		       "%lld changed, %lld removed, %lld bad\n",
		       json_is_true(json_object_get(t, "new")) ? "new" : "changed",
		       jstr(t, "database", "?"), jstr(t, "name", "?"), jint(t, "schema_version"),
		       jint(t, "columns_added"), jint(t, "columns_added") == 1 ? "" : "s",
		       jint(t, "columns_widened"), jint(t, "files_new"), jint(t, "files_changed"),
		       jint(t, "files_removed"), jint(t, "files_bad"));
	}
	if (json_array_size(bad)) {
		printf("bad files (left out of their tables):\n");
		json_array_foreach(bad, i, t)
			printf("  %s: %s\n", jstr(t, "path", "?"), jstr(t, "reason", "?"));
		if ((long long)json_array_size(bad) < jint(rep, "files_bad"))
			printf("  ... and %lld more: see GET /v1/catalog/errors\n",
			       jint(rep, "files_bad") - (long long)json_array_size(bad));
	}
}

int cmd_crawl(int argc, char **argv)
{
	struct cli_args a;
	const char *target = NULL;
	bool full = false, json = false;

	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(crawl_usage, stdout);
			return 0;
		} else if (cli_flag(&a, "--full")) {
			full = true;
		} else if (cli_flag(&a, "--json")) {
			json = true;
		} else if (a.positional && !target) {
			target = a.arg;
		} else {
			return cli_bad_arg(&a, crawl_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, crawl_usage);

	struct buf raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *body = json_object(), *doc = NULL;
	int rc;

	if (target && *target)
		json_object_set_new(body, "target", json_string(target));
	if (full)
		json_object_set_new(body, "full", json_true());
	rc = call("POST", "/v1/crawl", body, &doc, &raw);
	if (rc == 0) {
		if (json)
			print_raw(&raw);
		else if (json_is_object(doc))
			print_crawl(doc);
		else
			rc = cli_error("the server sent an unexpected answer to the crawl");
	}
	json_decref(body);
	json_decref(doc);
	buf_release(&raw);
	return rc;
}

/* ---- tarn tables ------------------------------------------------------------ */

static const char tables_usage[] =
	"usage: tarn tables [ZONE] [--json]\n"
	"\n"
	"Lists the catalog's tables (of ZONE, a database name or alias, if given): format,\n"
	"files, rows, bytes and the last crawl that saw them.  `tarn describe DB.TABLE`\n"
	"shows one.\n"
	"\n"
	"options:\n"
	"  --json        print the server's JSON as it came\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

enum { T_NAME, T_FORMAT, T_FILES, T_ROWS, T_BYTES, T_CRAWL, T_NCOLS };

static void print_tables(const json_t *list)
{
	static const char *const heads[T_NCOLS] = { "TABLE", "FORMAT", "FILES",
						    "ROWS",  "BYTES",  "LAST CRAWL" };
	static const bool right[T_NCOLS] = { false, false, true, true, true, false };
	size_t n = json_array_size(list);
	char(*cells)[T_NCOLS][300] = xcalloc(n ? n : 1, sizeof *cells);
	int width[T_NCOLS];

	for (int k = 0; k < T_NCOLS; k++)
		width[k] = (int)strlen(heads[k]);
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_array_get(list, i), *rows = json_object_get(t, "rows");

		snprintf(cells[i][T_NAME], sizeof cells[i][0], "%s.%s", jstr(t, "database", "?"),
			 jstr(t, "name", "?"));
		snprintf(cells[i][T_FORMAT], sizeof cells[i][0], "%s", jstr(t, "format", "-"));
		snprintf(cells[i][T_FILES], sizeof cells[i][0], "%lld", jint(t, "files"));
		if (json_is_integer(rows))
			snprintf(cells[i][T_ROWS], sizeof cells[i][0], "%lld",
				 (long long)json_integer_value(rows));
		else
			snprintf(cells[i][T_ROWS], sizeof cells[i][0], "?");
		fmt_bytes(jint(t, "bytes"), cells[i][T_BYTES], sizeof cells[i][0]);
		fmt_time(json_object_get(t, "last_crawl"), cells[i][T_CRAWL], sizeof cells[i][0]);
		for (int k = 0; k < T_NCOLS; k++) {
			int w = (int)strlen(cells[i][k]);
			if (w > width[k])
				width[k] = w;
		}
	}
	/* the last column is left-aligned and unpadded: no trailing blanks */
	for (int k = 0; k + 1 < T_NCOLS; k++)
		printf("%*s  ", right[k] ? width[k] : -width[k], heads[k]);
	printf("%s\n", heads[T_NCOLS - 1]);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k + 1 < T_NCOLS; k++)
			printf("%*s  ", right[k] ? width[k] : -width[k], cells[i][k]);
		printf("%s\n", cells[i][T_NCOLS - 1]);
	}
	free(cells);
}

int cmd_tables(int argc, char **argv)
{
	const char *zone = NULL;
	bool json = false;

	int done = cli_parse_arg_json(argc, argv, tables_usage, &zone, &json);
	if (done >= 0)
		return done;

	struct buf path = BUF_INIT(0), raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *doc = NULL, *list;
	int rc;

	buf_puts(&path, "/v1/catalog/tables");
	if (zone && *zone) {
		buf_puts(&path, "?db=");
		client_path_escape(&path, zone);
	}
	rc = call("GET", path.data, NULL, &doc, &raw);
	if (rc)
		goto out;
	list = json_object_get(doc, "tables");
	if (json) {
		print_raw(&raw);
	} else if (!json_is_array(list)) {
		rc = cli_error("the server sent an unexpected answer: no \"tables\" list");
	} else if (json_array_size(list) == 0) {
		fprintf(stderr, "no tables yet: `tarn crawl` catalogs the files of the lake\n");
	} else {
		print_tables(list);
	}
out:
	json_decref(doc);
	buf_release(&path);
	buf_release(&raw);
	return rc;
}

/* ---- tarn describe ------------------------------------------------------------ */

static const char describe_usage[] =
	"usage: tarn describe DB.TABLE [--json]\n"
	"\n"
	"Shows a table of the catalog: location, format, files, rows, bytes, the last\n"
	"crawl, its columns with types and tags (and who set each tag: the crawler,\n"
	"an admin, or a field of a struct), partition keys and schema history.\n"
	"DB is a database name or alias (raw, bronze, drop, ...).\n"
	"\n"
	"options:\n"
	"  --json        print the server's JSON as it came\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

/* "pii (crawler: ssn, column name)", "pii cleared (admin: root)", ... joined by "; ". */
static void fmt_tags(const json_t *tags, char *out, size_t n)
{
	size_t k = 0, i;
	json_t *t;

	out[0] = 0;
	json_array_foreach(tags, i, t) {
		const char *detail = jstr(t, "detail", NULL), *ev = jstr(t, "evidence", NULL);
		char why[256];
		int w;

		snprintf(why, sizeof why, "%s%s%s%s%s", jstr(t, "source", "?"), detail ? ": " : "",
			 detail ? detail : "", ev ? ", " : "", ev ? ev : "");
		w = snprintf(out + k, n - k, "%s%s%s (%s)", i ? "; " : "", jstr(t, "tag", "?"),
			     json_is_true(json_object_get(t, "cleared")) ? " cleared" : "", why);
		if (w < 0 || (size_t)w >= n - k)
			break;
		k += (size_t)w;
	}
	if (!out[0])
		snprintf(out, n, "-");
}

static void print_describe(const json_t *t)
{
	json_t *cols = json_object_get(t, "columns"), *keys = json_object_get(t, "partition_keys");
	json_t *hist = json_object_get(t, "schema_history"), *rows = json_object_get(t, "rows"), *c;
	char bytes[32], crawl[48], updated[48];
	int wname = 4, wtype = 4;
	size_t i;

	fmt_bytes(jint(t, "bytes"), bytes, sizeof bytes);
	fmt_time(json_object_get(t, "last_crawl"), crawl, sizeof crawl);
	fmt_time(json_object_get(t, "updated"), updated, sizeof updated);
	printf("table           %s.%s\n", jstr(t, "database", "?"), jstr(t, "name", "?"));
	printf("location        %s\n", jstr(t, "location", "-"));
	printf("format          %s (compression %s)\n", jstr(t, "format", "-"),
	       jstr(t, "compression", "-"));
	printf("classification  %s\n", jstr(t, "classification", "-"));
	if (jstr(t, "comment", NULL))
		printf("comment         %s\n", jstr(t, "comment", ""));
	printf("files           %lld (%lld bad)\n", jint(t, "files"), jint(t, "bad_files"));
	if (json_is_integer(rows))
		printf("rows            %lld\n", (long long)json_integer_value(rows));
	else
		printf("rows            unknown\n");
	printf("bytes           %s (%lld)\n", bytes, jint(t, "bytes"));
	printf("partitions      %lld\n", jint(t, "partitions"));
	printf("schema version  %lld (changed %s)\n", jint(t, "schema_version"), updated);
	printf("last crawl      %s\n", crawl);

	json_array_foreach(cols, i, c) {
		int w = (int)strlen(jstr(c, "name", "?")) + 2 * (int)jint(c, "depth");
		int tw = (int)strlen(jstr(c, "type", "?"));
		if (w > wname)
			wname = w;
		if (tw > TYPE_SHOWN)
			tw = TYPE_SHOWN;
		if (tw > wtype)
			wtype = tw;
	}
	printf("\ncolumns:\n  %-*s  %-*s  %s\n", wname, "NAME", wtype, "TYPE", "TAGS");
	json_array_foreach(cols, i, c) {
		const char *type = jstr(c, "type", "?");
		char shown[TYPE_SHOWN + 1], name[600], tags[1024];
		int depth = (int)jint(c, "depth");
		const char *leaf = jstr(c, "name", "?"), *dot;

		/* a nested field shows its last name, indented under its struct */
		if (depth > 0 && (dot = strrchr(leaf, '.')) != NULL)
			leaf = dot + 1;
		snprintf(name, sizeof name, "%*s%s", 2 * depth, "", leaf);
		if (strlen(type) > TYPE_SHOWN)
			snprintf(shown, sizeof shown, "%.*s...", TYPE_SHOWN - 3, type);
		else
			snprintf(shown, sizeof shown, "%s", type);
		fmt_tags(json_object_get(c, "tags"), tags, sizeof tags);
		if (json_is_true(json_object_get(c, "partition")))
			printf("  %-*s  %-*s  partition%s%s\n", wname, name, wtype, shown,
			       strcmp(tags, "-") ? "; " : "", strcmp(tags, "-") ? tags : "");
		else
			printf("  %-*s  %-*s  %s\n", wname, name, wtype, shown, tags);
	}
	if (json_array_size(keys)) {
		printf("\npartition keys:");
		json_array_foreach(keys, i, c)
			printf("%s %s %s (%s)", i ? "," : "", jstr(c, "name", "?"), jstr(c, "type", "?"),
			       !strcmp(jstr(c, "style", ""), "date") ? "date folders" : "key=value");
		printf("\n");
	}
	if (json_array_size(hist)) {
		printf("\nschema history:\n");
		json_array_foreach(hist, i, c) {
			char at[48];
			fmt_time(json_object_get(c, "at"), at, sizeof at);
			printf("  v%-3lld %s  %s\n", jint(c, "version"), at, jstr(c, "changes", ""));
		}
	}
}

/* Appends "/v1/catalog/tables/<escaped db.table>" to path. */
static void table_path(struct buf *path, const char *qualified)
{
	buf_puts(path, "/v1/catalog/tables/");
	client_path_escape(path, qualified);
}

int cmd_describe(int argc, char **argv)
{
	const char *name = NULL;
	bool json = false;

	int done = cli_parse_arg_json(argc, argv, describe_usage, &name, &json);
	if (done >= 0)
		return done;
	if (!name || !*name)
		return cli_usage_error(describe_usage, "missing the DB.TABLE to describe");
	if (!strchr(name, '.'))
		return cli_usage_error(describe_usage, "'%s': name the table as DB.TABLE (raw.%s)",
				       name, name);

	struct buf path = BUF_INIT(0), raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *doc = NULL;
	int rc;

	table_path(&path, name);
	rc = call("GET", path.data, NULL, &doc, &raw);
	if (rc == 0) {
		if (json)
			print_raw(&raw);
		else if (json_is_object(doc))
			print_describe(doc);
		else
			rc = cli_error("the server sent an unexpected answer for table '%s'", name);
	}
	json_decref(doc);
	buf_release(&path);
	buf_release(&raw);
	return rc;
}

/* ---- tarn tag ---------------------------------------------------------------- */

static const char tag_usage[] =
	"usage: tarn tag DB.TABLE.COLUMN pii|none|auto [--json]\n"
	"       tarn tag DB.TABLE COLUMN pii|none|auto [--json]\n"
	"\n"
	"Decides whether a column holds PII, whatever the crawler finds:\n"
	"  pii     the column is PII (masked and restricted by the policies)\n"
	"  none    the column is not PII\n"
	"  auto    drop the decision: the crawler's finding applies again\n"
	"COLUMN is a top-level column or \"a.b\" for field b of struct column a.  The\n"
	"first form splits at the first two dots; use the second for a table whose\n"
	"name holds a dot.  Needs an admin.\n"
	"\n"
	"options:\n"
	"  --json        print the server's JSON as it came\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

int cmd_tag(int argc, char **argv)
{
	struct cli_args a;
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;
	bool json = false;

	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(tag_usage, stdout);
			return 0;
		} else if (cli_flag(&a, "--json")) {
			json = true;
		} else if (a.positional && npos < 3) {
			pos[npos++] = a.arg;
		} else {
			return cli_bad_arg(&a, tag_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, tag_usage);
	if (npos < 2)
		return cli_usage_error(tag_usage, "missing %s",
				       npos ? "the tag: pii, none or auto" : "DB.TABLE.COLUMN");

	char table[512], column[512];
	const char *value = pos[npos - 1];
	if (npos == 3) {
		snprintf(table, sizeof table, "%s", pos[0]);
		snprintf(column, sizeof column, "%s", pos[1]);
	} else {
		const char *d1 = strchr(pos[0], '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
		if (!d1 || !d2 || d1 == pos[0] || d2 == d1 + 1 || !d2[1])
			return cli_usage_error(tag_usage, "'%s': name the column as DB.TABLE.COLUMN",
					       pos[0]);
		snprintf(table, sizeof table, "%.*s", (int)(d2 - pos[0]), pos[0]);
		snprintf(column, sizeof column, "%s", d2 + 1);
	}
	if (!strchr(table, '.'))
		return cli_usage_error(tag_usage, "'%s': name the table as DB.TABLE", table);

	json_t *body;
	if (!strcmp(value, "pii"))
		body = json_pack("{s:s}", "tag", "pii");
	else if (!strcmp(value, "none"))
		body = json_pack("{s:n}", "tag");
	else if (!strcmp(value, "auto"))
		body = json_pack("{s:s}", "tag", "auto");
	else
		return cli_usage_error(tag_usage, "'%s': the tag is pii, none or auto", value);

	struct buf path = BUF_INIT(0), raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *doc = NULL;
	int rc;

	table_path(&path, table);
	buf_puts(&path, "/columns/");
	client_path_escape(&path, column);
	buf_puts(&path, "/tags");
	rc = call("PUT", path.data, body, &doc, &raw);
	if (rc == 0) {
		json_t *col = json_object_get(doc, "column");
		char tags[1024];

		if (json) {
			print_raw(&raw);
		} else if (!json_is_object(col)) {
			printf("%s.%s: %s\n", table, column, value);
		} else {
			fmt_tags(json_object_get(col, "tags"), tags, sizeof tags);
			printf("%s.%s: %s; tags: %s\n", jstr(doc, "table", table),
			       jstr(col, "name", column),
			       json_is_true(json_object_get(col, "pii")) ? "pii" : "not pii", tags);
		}
	}
	json_decref(body);
	json_decref(doc);
	buf_release(&path);
	buf_release(&raw);
	return rc;
}
