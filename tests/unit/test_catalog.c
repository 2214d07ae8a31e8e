/*
 * test_catalog.c - the catalog's type algebra (parse, render, widen,
 * merge with change notes), SQL quoting, file classification, and the
 * read and admin API: databases, tables, describe, JSON forms, comments,
 * drop, names, the change counter.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "store/store.h"
#include "harness.h"

/* parse -> render (DuckDB form) */
static void round_trip(const char *in, const char *want)
{
	char err[TN_ERRLEN];
	struct ctype *t = ctype_parse(in, err);
	if (!t)
		fprintf(stderr, "parse '%s': %s\n", in, err);
	CHECK(t);
	char *s = ctype_str(t, true);
	CHECK_STR(s, want);
	/* and the rendering parses back to the same tree */
	struct ctype *u = ctype_parse(s, err);
	CHECK(u && ctype_equal(t, u));
	free(s);
	ctype_free(t);
	ctype_free(u);
}

TEST(types_parse_and_render)
{
	char err[TN_ERRLEN];
	round_trip("BIGINT", "BIGINT");
	round_trip("int", "INTEGER");
	round_trip("VARCHAR[]", "VARCHAR[]");
	round_trip("INTEGER[3]", "INTEGER[]");
	round_trip("DECIMAL(18,3)", "DECIMAL(18,3)");
	round_trip("TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE");
	round_trip("STRUCT(street VARCHAR, \"name\" VARCHAR, zip VARCHAR)",
		   "STRUCT(\"street\" VARCHAR, \"name\" VARCHAR, \"zip\" VARCHAR)");
	round_trip("STRUCT(\"a \"\"b\"\"\" BIGINT, c STRUCT(d DOUBLE[])[])[]",
		   "STRUCT(\"a \"\"b\"\"\" BIGINT, \"c\" STRUCT(\"d\" DOUBLE[])[])[]");
	round_trip("MAP(VARCHAR, STRUCT(x BIGINT))", "MAP(VARCHAR, STRUCT(\"x\" BIGINT))");
	round_trip("STRUCT(t TIMESTAMP WITH TIME ZONE, u UUID)",
		   "STRUCT(\"t\" TIMESTAMP WITH TIME ZONE, \"u\" UUID)");
	struct ctype *t = ctype_parse("NULL", err);
	char *s = ctype_str(t, true);
	CHECK_STR(s, "JSON"); /* DuckDB's form of "never seen" */
	free(s);
	s = ctype_str(t, false);
	CHECK_STR(s, "NULL"); /* the crawler's form keeps "never seen" */
	free(s);
	ctype_free(t);
	CHECK(!ctype_parse("STRUCT(a BIGINT", err));
	CHECK(strstr(err, "type:"));
	CHECK(!ctype_parse("BIGINT junk(", err));
	CHECK(!ctype_parse("", err));
}

static void merge_is(const char *a, const char *b, bool json_top, const char *want)
{
	char err[TN_ERRLEN];
	struct ctype *x = ctype_parse(a, err), *y = ctype_parse(b, err);
	CHECK(x && y);
	struct ctype *m = ctype_merge(x, y, json_top), *n = ctype_merge(y, x, json_top);
	char *s = ctype_str(m, true);
	if (strcmp(s, want))
		fprintf(stderr, "merge(%s, %s) = %s, want %s\n", a, b, s, want);
	CHECK_STR(s, want);
	/* widening is symmetric up to struct field order */
	if (x->kind != CT_STRUCT) {
		char *s2 = ctype_str(n, true);
		CHECK_STR(s2, want);
		free(s2);
	}
	free(s);
	ctype_free(x);
	ctype_free(y);
	ctype_free(m);
	ctype_free(n);
}

TEST(types_widen)
{
	merge_is("INTEGER", "BIGINT", false, "BIGINT");
	merge_is("TINYINT", "SMALLINT", false, "SMALLINT");
	merge_is("UBIGINT", "BIGINT", false, "HUGEINT");
	merge_is("BIGINT", "DOUBLE", false, "DOUBLE");
	merge_is("DECIMAL(18,3)", "BIGINT", false, "DOUBLE");
	merge_is("BIGINT", "VARCHAR", false, "VARCHAR");
	merge_is("BOOLEAN", "BIGINT", false, "VARCHAR");
	merge_is("DATE", "TIMESTAMP", false, "TIMESTAMP");
	merge_is("DATE", "TIMESTAMP WITH TIME ZONE", false, "TIMESTAMP WITH TIME ZONE");
	merge_is("TIMESTAMP_NS", "TIMESTAMP", false, "TIMESTAMP");
	merge_is("DATE", "BIGINT", false, "VARCHAR");
	merge_is("UUID", "VARCHAR", false, "VARCHAR");
	merge_is("NULL", "BIGINT", false, "BIGINT");
	merge_is("NULL", "STRUCT(a BIGINT)", true, "STRUCT(\"a\" BIGINT)");
	merge_is("JSON", "BIGINT", true, "JSON");
	merge_is("STRUCT(a BIGINT)", "BIGINT", true, "JSON");
	merge_is("STRUCT(a BIGINT)", "BIGINT", false, "VARCHAR");
	merge_is("BIGINT[]", "DOUBLE[]", false, "DOUBLE[]");
	merge_is("BIGINT[]", "BIGINT", true, "JSON");
	merge_is("STRUCT(a BIGINT, b VARCHAR)", "STRUCT(c DATE, a DOUBLE)", true,
		 "STRUCT(\"a\" DOUBLE, \"b\" VARCHAR, \"c\" DATE)");
	merge_is("STRUCT(a NULL)", "STRUCT(a VARCHAR)", true, "STRUCT(\"a\" VARCHAR)");
	merge_is("MAP(VARCHAR, INTEGER)", "MAP(VARCHAR, BIGINT)", false, "MAP(VARCHAR, BIGINT)");
	/* names match as SQL identifiers do: case-insensitively, first spelling kept */
	merge_is("STRUCT(Name VARCHAR)", "STRUCT(name VARCHAR, x BIGINT)", true,
		 "STRUCT(\"Name\" VARCHAR, \"x\" BIGINT)");
}

TEST(schemas_merge_with_notes_and_round_trip)
{
	char err[TN_ERRLEN];
	struct schema a = { 0 }, b = { 0 }, c = { 0 };
	schema_add(&a, "id", ctype_parse("BIGINT", err));
	schema_add(&a, "s", ctype_parse("STRUCT(x BIGINT)", err));
	schema_add(&a, "n", ctype_parse("NULL", err));
	schema_add(&b, "new", ctype_parse("DATE", err));
	schema_add(&b, "id", ctype_parse("DOUBLE", err));
	schema_add(&b, "s", ctype_parse("STRUCT(y VARCHAR)", err));
	schema_add(&b, "n", ctype_parse("VARCHAR", err));
	struct buf notes = BUF_INIT(0);
	unsigned added = 0, widened = 0;
	schema_merge(&a, &b, true, &notes, &added, &widened);
	CHECK_INT(added, 1);
	CHECK_INT(widened, 3);
	CHECK_STR(notes.data, "added new DATE; widened id BIGINT -> DOUBLE; added field s.y VARCHAR; "
			      "typed n VARCHAR (was null in every record)");
	/* order: existing columns keep their place, new ones go last */
	CHECK_STR(a.names[0], "id");
	CHECK_STR(a.names[3], "new");
	/* merging again changes nothing */
	buf_reset(&notes);
	schema_merge(&a, &b, true, &notes, &added, &widened);
	CHECK_INT(notes.len, 0);
	struct buf js = BUF_INIT(0);
	CHECK_INT(schema_to_json(&a, &js), 0);
	CHECK_INT(schema_from_json(js.data, &c, err), 0);
	CHECK_INT(c.n, 4);
	for (size_t i = 0; i < c.n; i++) {
		CHECK_STR(c.names[i], a.names[i]);
		CHECK(ctype_equal(c.types[i], a.types[i]));
	}
	CHECK_INT(schema_from_json("{\"not\":\"a list\"}", &c, err), TN_ECORRUPT);
	buf_release(&notes);
	buf_release(&js);
	schema_release(&a);
	schema_release(&b);
	schema_release(&c);
}

TEST(sql_quoting_and_file_names)
{
	struct buf b = BUF_INIT(0);
	sql_str(&b, "it's");
	CHECK_STR(b.data, "'it''s'");
	buf_reset(&b);
	sql_ident(&b, "a \"b\"");
	CHECK_STR(b.data, "\"a \"\"b\"\"\"");
	buf_reset(&b);
	sql_path(&b, "/l/x*y?[1]'.json");
	CHECK_STR(b.data, "'/l/x[*]y[?][[]1]''.json'");
	buf_release(&b);
	enum cat_comp comp;
	size_t stem;
	CHECK_INT(cat_classify("a.json", &comp, &stem), FMT_JSON);
	CHECK_INT(comp, COMP_NONE);
	CHECK_INT(stem, 1);
	CHECK_INT(cat_classify("patients.CSV.gz", &comp, &stem), FMT_CSV);
	CHECK_INT(comp, COMP_GZIP);
	CHECK_INT(stem, 8);
	CHECK_INT(cat_classify("x.ndjson.zst", &comp, NULL), FMT_JSON);
	CHECK_INT(comp, COMP_ZSTD);
	CHECK_INT(cat_classify("t.tsv", &comp, NULL), FMT_TSV);
	CHECK_INT(cat_classify("p.parquet", &comp, NULL), FMT_PARQUET);
	CHECK_INT(cat_classify("notes.txt", &comp, NULL), FMT_NONE);
	CHECK_INT(cat_classify(".json", &comp, NULL), FMT_NONE);
	CHECK_INT(cat_classify("x.gz", &comp, NULL), FMT_NONE);
}

/* ---- API over a crawled lake ------------------------------------------------ */

struct fx {
	struct store *s;
	struct meta *m;
	struct catalog *c;
};

static void fx_open(struct fx *f)
{
	char err[TN_ERRLEN], path[600];
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(path, sizeof path, "%s/.tarn", store_root(f->s));
	CHECK_INT(os_mkdir_p(path, 0700, err), 0);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", store_root(f->s));
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(catalog_open(f->s, f->m, &f->c, err), 0);
}

static void fx_close(struct fx *f)
{
	catalog_close(f->c);
	meta_close(f->m);
	store_close(f->s);
}

static void put(struct fx *f, const char *key, const char *s)
{
	char err[TN_ERRLEN];
	struct iovec v = { (void *)s, strlen(s) };
	CHECK_INT(store_put(f->s, key, &v, 1, 0, err), 0);
}

static void crawl_all(struct fx *f)
{
	char err[TN_ERRLEN];
	struct crawl_report r;
	CHECK_INT(catalog_crawl(f->c, NULL, &r, err), 0);
	crawl_report_release(&r);
}

TEST(list_describe_and_json)
{
	struct fx f;
	char err[TN_ERRLEN];
	fx_open(&f);
	put(&f, "01-raw-data-zone/ev/2026/04/16/a.json",
	    "{\"id\":1,\"email\":\"a@b.org\",\"addr\":{\"street\":\"1 Oak St\"}}\n");
	put(&f, "01-raw-data-zone/ev/2026/04/16/b.json", "{\"id\":2,\"email\":\"c@d.org\"}\n");
	put(&f, "01-raw-data-zone/ev/2026/04/16/bad.json", "{\"id\":");
	put(&f, "warehouse/mart/m/x.csv", "k,v\na,1\nb,2\n");
	uint64_t g0 = catalog_generation(f.c);
	crawl_all(&f);
	CHECK(catalog_generation(f.c) > g0);

	struct cat_database_list dl;
	CHECK_INT(catalog_databases(f.c, &dl, err), 0);
	CHECK_INT(dl.n, ZONE_COUNT);
	CHECK_STR(dl.v[ZONE_RAW].name, "raw");
	CHECK_STR(dl.v[ZONE_RAW].location, "01-raw-data-zone");
	CHECK_INT(dl.v[ZONE_RAW].tables, 1);
	CHECK(dl.v[ZONE_RAW].last_crawl_ms > 0);
	CHECK_INT(dl.v[ZONE_TRANSIENT].last_crawl_ms, 0); /* not crawled by default */
	cat_database_list_release(&dl);

	struct cat_table_list l;
	CHECK_INT(catalog_tables(f.c, NULL, &l, err), 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.v[0].db, "mart");
	CHECK_STR(l.v[1].db, "raw");
	CHECK_INT(l.v[1].bad_files, 1);
	CHECK_STR(l.v[1].classification, "pii");
	CHECK_INT(l.v[1].ncols, 0); /* summaries */
	struct buf js = BUF_INIT(0);
	CHECK_INT(catalog_tables_json(&l, &js), 0);
	json_t *doc = json_loads(js.data, 0, NULL);
	CHECK(doc);
	CHECK_INT(json_array_size(json_object_get(doc, "tables")), 2);
	json_decref(doc);
	cat_table_list_release(&l);
	CHECK_INT(catalog_tables(f.c, "gold", &l, err), 0);
	CHECK_INT(l.n, 1);
	CHECK_STR(l.v[0].name, "m");
	cat_table_list_release(&l);
	CHECK_INT(catalog_tables(f.c, "nowhere", &l, err), TN_ENOTFOUND);
	CHECK(strstr(err, "database 'nowhere'"));

	struct cat_table t;
	CHECK_INT(catalog_table_get(f.c, "raw", "ev", &t, err), 0);
	/* columns in describe order: data (with struct fields), then partitions */
	CHECK_STR(t.cols[0].name, "id");
	CHECK_STR(t.cols[2].name, "addr");
	CHECK_STR(t.cols[3].name, "addr.street");
	CHECK_INT(t.cols[3].depth, 1);
	CHECK_STR(t.cols[4].name, "year");
	CHECK(t.cols[4].partition);
	buf_reset(&js);
	CHECK_INT(catalog_table_json(&t, &js), 0);
	doc = json_loads(js.data, 0, NULL);
	CHECK(doc);
	CHECK_STR(json_string_value(json_object_get(doc, "database")), "raw");
	CHECK_INT(json_integer_value(json_object_get(doc, "rows")), 2);
	CHECK_INT(json_integer_value(json_object_get(doc, "bad_files")), 1);
	json_t *cols = json_object_get(doc, "columns");
	CHECK_INT(json_array_size(cols), 7);
	json_t *email = json_array_get(cols, 1);
	CHECK(json_is_true(json_object_get(email, "pii")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(email, "tags"), 0),
						    "detail")), "email");
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(doc,
		"partition_keys"), 0), "style")), "date");
	CHECK_INT(json_array_size(json_object_get(doc, "schema_history")), 1);
	json_decref(doc);
	cat_table_release(&t);
	CHECK_INT(catalog_table_get(f.c, "raw", "nope", &t, err), TN_ENOTFOUND);
	CHECK(strstr(err, "'raw.nope'"));

	struct cat_bad_list bl;
	CHECK_INT(catalog_bad_files(f.c, "bronze", &bl, err), 0);
	CHECK_INT(bl.n, 1);
	CHECK_STR(bl.v[0].table, "ev");
	buf_reset(&js);
	CHECK_INT(catalog_bad_files_json(&bl, &js), 0);
	CHECK(strstr(js.data, "\"path\":\"01-raw-data-zone/ev/2026/04/16/bad.json\""));
	cat_bad_list_release(&bl);
	CHECK_INT(catalog_bad_files(f.c, "mart", &bl, err), 0);
	CHECK_INT(bl.n, 0);
	cat_bad_list_release(&bl);
	buf_release(&js);
	fx_close(&f);
}

TEST(comments_drop_and_names)
{
	struct fx f;
	char err[TN_ERRLEN], db[32], tab[64];
	fx_open(&f);
	put(&f, "03-master-data-zone/ref/a.json", "{\"code\":\"x\"}\n");
	crawl_all(&f);
	CHECK_INT(catalog_comment(f.c, "master", "ref", NULL, "reference codes", err), 0);
	CHECK_INT(catalog_comment(f.c, "master", "ref", "code", "the code", err), 0);
	CHECK_INT(catalog_comment(f.c, "master", "ref", "nope", "x", err), TN_ENOTFOUND);
	struct cat_table t;
	CHECK_INT(catalog_table_get(f.c, "master", "ref", &t, err), 0);
	CHECK_STR(t.comment, "reference codes");
	CHECK_STR(t.cols[0].comment, "the code");
	cat_table_release(&t);
	/* a comment survives a re-crawl that changes the schema */
	put(&f, "03-master-data-zone/ref/b.json", "{\"code\":\"y\",\"more\":1}\n");
	crawl_all(&f);
	CHECK_INT(catalog_table_get(f.c, "master", "ref", &t, err), 0);
	CHECK_STR(t.cols[0].comment, "the code");
	CHECK_INT(t.schema_version, 2);
	cat_table_release(&t);

	uint64_t g = catalog_generation(f.c);
	CHECK_INT(catalog_table_drop(f.c, "master", "ref", err), 0);
	CHECK(catalog_generation(f.c) > g);
	CHECK_INT(catalog_table_get(f.c, "master", "ref", &t, err), TN_ENOTFOUND);
	CHECK_INT(catalog_table_drop(f.c, "master", "ref", err), TN_ENOTFOUND);
	/* the files are still there: the next crawl finds the table again, as new */
	struct crawl_report r;
	CHECK_INT(catalog_crawl(f.c, NULL, &r, err), 0);
	CHECK_INT(r.tables_new, 1);
	CHECK_INT(r.files_read, 2);
	crawl_report_release(&r);

	CHECK_INT(catalog_split_name("raw.immunizations", db, sizeof db, tab, sizeof tab, err), 0);
	CHECK_STR(db, "raw");
	CHECK_STR(tab, "immunizations");
	CHECK_INT(catalog_split_name("gold.v1.2", db, sizeof db, tab, sizeof tab, err), 0);
	CHECK_STR(tab, "v1.2");
	CHECK_INT(catalog_split_name("nodot", db, sizeof db, tab, sizeof tab, err), TN_EINVAL);
	CHECK_INT(catalog_split_name(".x", db, sizeof db, tab, sizeof tab, err), TN_EINVAL);
	CHECK_INT(catalog_split_name("x.", db, sizeof db, tab, sizeof tab, err), TN_EINVAL);

	struct buf sql = BUF_INIT(0);
	CHECK_INT(catalog_table_get(f.c, "master", "ref", &t, err), 0);
	CHECK_INT(catalog_scan_sql(&t, "/x", NULL, 0, NULL, &sql, err), TN_EINVAL);
	cat_table_release(&t);
	buf_release(&sql);
	fx_close(&f);
}

static bool only_day_16(void *arg, const struct cat_table *t, const char *const *vals)
{
	int *calls = arg;
	(*calls)++;
	CHECK_INT(t->npkeys, 3);
	return !strcmp(vals[2], "16");
}

TEST(files_of_a_table_pruned_by_partition)
{
	struct fx f;
	char err[TN_ERRLEN], key[128];
	fx_open(&f);
	for (int d = 10; d < 20; d++)
		for (int k = 0; k < 3; k++) {
			snprintf(key, sizeof key, "01-raw-data-zone/p/2026/04/%02d/%d.json", d, k);
			put(&f, key, "{\"v\":1}\n");
		}
	crawl_all(&f);
	struct cat_table t;
	CHECK_INT(catalog_table_get(f.c, "raw", "p", &t, err), 0);
	CHECK_INT(t.partitions, 10);
	struct cat_file_list fl;
	int calls = 0;
	CHECK_INT(catalog_table_files(f.c, &t, only_day_16, &calls, &fl, err), 0);
	CHECK_INT(calls, 10); /* once per partition, not per file */
	CHECK_INT(fl.n, 3);
	for (size_t i = 0; i < fl.n; i++) {
		CHECK(strstr(fl.v[i].path, "/2026/04/16/"));
		CHECK_STR(fl.v[i].pvals[0], "2026");
		CHECK_STR(fl.v[i].pvals[1], "4");
		CHECK_INT(fl.v[i].rows, 1);
	}
	cat_file_list_release(&fl);
	CHECK_INT(catalog_table_files(f.c, &t, NULL, NULL, &fl, err), 0);
	CHECK_INT(fl.n, 30);
	CHECK(strcmp(fl.v[0].path, fl.v[1].path) < 0);
	/* the scan SQL of a subset names exactly those files, quoted */
	struct buf sql = BUF_INIT(0);
	CHECK_INT(catalog_scan_sql(&t, "/lake", fl.v, 2, "__file", &sql, err), 0);
	CHECK(strstr(sql.data, "SELECT \"v\", CAST(file_index AS BIGINT) AS \"__file\" FROM read_json(['/lake/01-raw-data-zone/p/2026/04/10/0.json','/lake/01-raw-data-zone/p/2026/04/10/1.json']"));
	CHECK(strstr(sql.data, "columns={'v':'BIGINT'})"));
	buf_release(&sql);
	cat_file_list_release(&fl);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(crawler_duckdb_reads_only_the_zones_in_scope)
{
	char err[TN_ERRLEN], zone[600], other[600], in[700], out[700];
	snprintf(zone, sizeof zone, "%s/zone", test_tmpdir());
	snprintf(other, sizeof other, "%s/elsewhere", test_tmpdir());
	CHECK_INT(os_mkdir_p(zone, 0700, err), 0);
	CHECK_INT(os_mkdir_p(other, 0700, err), 0);
	snprintf(in, sizeof in, "%s/a.json", zone);
	snprintf(out, sizeof out, "%s/b.json", other);
	CHECK_INT(os_write_file_atomic(in, "{\"x\":1}\n", 8, 0600, err), 0);
	CHECK_INT(os_write_file_atomic(out, "{\"x\":2}\n", 8, 0600, err), 0);
	struct probe *p;
	const char *dirs[] = { zone };
	CHECK_INT(probe_open(dirs, 1, &p, err), 0);
	struct probe_file f[2] = { { .path = in, .size = 8, .rows = -1 },
				   { .path = out, .size = 8, .rows = -1 } };
	struct schema s = { 0 };
	struct sample smp = { 0 };
	CHECK_INT(probe_json(p, f, 2, &s, &smp, err), 0);
	CHECK(!f[0].bad);
	CHECK_INT(f[0].rows, 1);
	CHECK(f[1].bad);
	CHECK(strstr(f[1].reason, "disabled by configuration"));
	CHECK_INT(probe_reads(p), 2);
	CHECK_INT(s.n, 1);
	free(f[0].reason);
	free(f[1].reason);
	schema_release(&s);
	sample_release(&smp);
	probe_close(p);
}
