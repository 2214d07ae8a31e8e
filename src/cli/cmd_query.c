/*
 * cmd_query.c - `tarn sql`: SQL over the lake from the command line.
 *
 *   tarn sql [--format table|csv|json] [--timeout SECONDS] "SQL" | -
 *                                          POST /v1/query
 *
 * table (the default on a terminal) aligns the rows in columns; csv (the
 * default otherwise) prints the server's CSV as it came, the same bytes as
 * the result file; json prints the server's JSON answer (rows, columns,
 * statistics, result location).  "-" reads the SQL from standard input.
 * An error prints the server's message, and for a syntax or binding error
 * the line of the SQL with a caret under the position.
 */
#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "query/result.h"
#include "core/banned.h"

static const char sql_usage[] =
	"usage: tarn sql [--format table|csv|json] [--timeout SECONDS] \"SQL\" | -\n"
	"\n"
	"Runs one read statement over the lake's tables (SELECT, WITH, VALUES,\n"
	"EXPLAIN) and prints the result.  Tables are DATABASE.TABLE, the databases\n"
	"being the zones (raw, master, drop, mart, ...; aliases bronze, silver,\n"
	"gold): see `tarn tables`.  Partition columns (year, month, day, key=value\n"
	"folders) are ordinary columns, and a WHERE on them reads only the matching\n"
	"files.  The result is also kept as CSV in the transient zone\n"
	"(02-transient-zone/01-athena/<user>/<query-id>.csv).  \"-\" reads the SQL\n"
	"from standard input.\n"
	"\n"
	"options:\n"
	"  --format F      table (default on a terminal), csv (default otherwise) or json\n"
	"  --timeout S     cancel the query after S seconds (the server's\n"
	"                  query.timeout applies too)\n"
	"  -h, --help      this help\n"
	"\n"
	"example:\n"
	"  tarn sql \"SELECT vaccine_name, count(*) FROM raw.immunizations\n"
	"            WHERE year = 2026 GROUP BY 1 ORDER BY 2 DESC\"\n";

/* Widest column shown by the table format, in characters. */
#define TABLE_MAX_WIDTH 60

/* Characters (not bytes) of a UTF-8 value, for alignment. */
static size_t text_width(const char *p, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len((const unsigned char *)p + i, n - i);
		i += l ? l : 1;
		w++;
	}
	return w;
}

/* Prints v padded to width w (cut with "…" when longer). */
static void print_cell(const char *p, size_t n, size_t w, bool right)
{
	size_t tw = text_width(p, n);
	if (tw > w) {
		size_t chars = 0, i = 0;
		while (i < n && chars + 1 < w) {
			size_t l = utf8_seq_len((const unsigned char *)p + i, n - i);
			i += l ? l : 1;
			chars++;
		}
		fwrite(p, 1, i, stdout);
		fputs("…", stdout);
		for (size_t k = chars + 1; k < w; k++)
			putchar(' ');
		return;
	}
	if (right)
		for (size_t k = tw; k < w; k++)
			putchar(' ');
	fwrite(p, 1, n, stdout);
	if (!right)
		for (size_t k = tw; k < w; k++)
			putchar(' ');
}

/* Renders the CSV answer as an aligned table. */
static int print_table(const struct buf *csv)
{
	char err[TN_ERRLEN];
	struct buf scratch = BUF_INIT(0);
	size_t off = 0, ncols = 1;
	/* the header tells the column count: count fields of the first record */
	for (size_t i = 0; i < csv->len && csv->data[i] != '\n'; i++) {
		if (csv->data[i] == '"') {
			for (i++; i < csv->len && !(csv->data[i] == '"' &&
						    (i + 1 >= csv->len || csv->data[i + 1] != '"')); i++)
				if (csv->data[i] == '"')
					i++;
		} else if (csv->data[i] == ',') {
			ncols++;
		}
	}
	if (csv->len == 0)
		return 0;
	/* two passes: widths, then printing */
	size_t *width = xcalloc(ncols, sizeof *width);
	bool *numeric = xcalloc(ncols, sizeof *numeric);
	struct query_value *v = xcalloc(ncols, sizeof *v);
	size_t rows = 0;
	int rc = 0;
	for (int pass = 0; pass < 2 && rc >= 0; pass++) {
		off = 0;
		rows = 0;
		for (;;) {
			buf_reset(&scratch);
			rc = result_csv_read(csv->data, csv->len, &off, &scratch, v, ncols, err);
			if (rc <= 0)
				break;
			for (size_t c = 0; c < ncols; c++) {
				const char *p = v[c].p ? v[c].p : "NULL";
				size_t n = v[c].p ? v[c].n : 4;
				if (pass == 0) {
					size_t w = text_width(p, n);
					if (w > TABLE_MAX_WIDTH)
						w = TABLE_MAX_WIDTH;
					if (w > width[c])
						width[c] = w;
					if (rows == 1)
						numeric[c] = v[c].p && n > 0 && strspn(p, "-0123456789.e+") >= n;
					else if (rows > 1 && v[c].p && strspn(p, "-0123456789.e+") < n)
						numeric[c] = false;
				} else {
					fputs(c ? " | " : " ", stdout);
					print_cell(p, n, width[c], rows > 0 && numeric[c]);
				}
			}
			if (pass == 1) {
				putchar('\n');
				if (rows == 0) {
					for (size_t c = 0; c < ncols; c++) {
						fputs(c ? "-+-" : "-", stdout);
						for (size_t k = 0; k < width[c]; k++)
							putchar('-');
					}
					fputs("-\n", stdout);
				}
			}
			rows++;
		}
	}
	if (rc < 0)
		cli_error("the server sent an unreadable result: %s", err);
	else
		fprintf(stderr, "(%zu row%s)\n", rows ? rows - 1 : 0, rows == 2 ? "" : "s");
	free(width);
	free(numeric);
	free(v);
	buf_release(&scratch);
	return rc < 0 ? 1 : 0;
}

/* Prints the line of sql holding byte pos, and a caret under it. */
static void show_position(const char *sql, long pos)
{
	if (pos < 0 || (size_t)pos > strlen(sql))
		return;
	const char *start = sql + pos;
	while (start > sql && start[-1] != '\n')
		start--;
	const char *end = strchr(sql + pos, '\n');
	size_t len = end ? (size_t)(end - start) : strlen(start);
	fprintf(stderr, "  %.*s\n  ", (int)len, start);
	for (size_t k = text_width(start, (size_t)(sql + pos - start)); k > 0; k--)
		fputc(' ', stderr);
	fputs("^\n", stderr);
}

int cmd_sql(int argc, char **argv)
{
	struct cli_args a;
	const char *format = NULL, *timeout = NULL, *sqlarg = NULL;
	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(sql_usage, stdout);
			return 0;
		} else if (cli_value(&a, "--format", &format) || cli_value(&a, "--timeout", &timeout)) {
			continue;
		} else if (a.positional && !sqlarg) {
			sqlarg = a.arg;
		} else {
			return cli_bad_arg(&a, sql_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, sql_usage);
	if (!sqlarg)
		return cli_usage_error(sql_usage, "the SQL is missing");
	if (!format)
		format = isatty(STDOUT_FILENO) ? "table" : "csv";
	if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
		return cli_usage_error(sql_usage, "--format must be table, csv or json, not '%s'",
				       format);
	uint64_t tmo = 0;
	if (timeout && (cli_parse_u64(timeout, false, &tmo) || tmo == 0 || tmo > 7 * 86400))
		return cli_usage_error(sql_usage, "--timeout must be 1..604800 seconds");

	struct buf sql = BUF_INIT(4u << 20);
	if (!strcmp(sqlarg, "-")) {
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			if (buf_append(&sql, chunk, n)) {
				buf_release(&sql);
				return cli_error("the SQL on standard input is larger than 4 MiB");
			}
	} else {
		buf_puts(&sql, sqlarg);
	}
	json_t *body = json_pack("{s:s%}", "sql", sql.data, sql.len);
	if (!body) {
		buf_release(&sql);
		return cli_error("the SQL is not valid UTF-8");
	}
	if (tmo)
		json_object_set_new(body, "timeout", json_integer((json_int_t)tmo));
	char *payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);

	char err[TN_ERRLEN];
	struct client c;
	struct client_resp resp;
	int rc = 0;
	client_resp_init(&resp);
	if (client_init(&c, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	c.accept = !strcmp(format, "json") ? "application/json" : "text/csv";
	if (client_request(&c, "POST", "/v1/query", "application/json", payload, strlen(payload),
			   &resp, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	if (resp.status / 100 != 2) {
		client_resp_error(&c, &resp, NULL, err);
		rc = cli_error("%s", err);
		json_t *doc = json_loadb(resp.body.data, resp.body.len, 0, NULL);
		json_t *pos = json_object_get(json_object_get(doc, "error"), "position");
		if (json_is_integer(pos))
			show_position(sql.data, (long)json_integer_value(pos));
		json_decref(doc);
		goto out;
	}
	if (!strcmp(format, "table"))
		rc = print_table(&resp.body);
	else
		fwrite(resp.body.data, 1, resp.body.len, stdout);
out:
	client_release(&c);
	client_resp_release(&resp);
	free(payload);
	buf_release(&sql);
	return rc;
}
