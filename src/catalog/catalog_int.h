/*
 * catalog_int.h - shared internals of src/catalog (never included from
 * outside the folder): the type algebra of schemas (schema.c), the
 * crawler's DuckDB (probe.c), the data dictionary (dictionary.c) and the
 * helpers the read side (catalog.c) and the crawler (crawler.c) share.
 */
#ifndef TN_CATALOG_INT_H
#define TN_CATALOG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

struct buf;

/*
 * Crawler caps (they belong with core/limits.h; kept here until that
 * header is opened to this subsystem).
 *
 * CAT_SMALL_FILE: JSON files up to this size are inferred from every
 * record (sample_size=-1) and read in batches; larger ones alone, from a
 * sample of CAT_SAMPLE_ROWS records.  The flusher writes objects of at most
 * 64 MiB, so streamed tables are mostly "small" here.
 */
#define CAT_SMALL_FILE (8u << 20)
#define CAT_SAMPLE_ROWS 100000
/* Files a JSON batch may hold, and the bytes: one DuckDB query per batch. */
#define CAT_BATCH_FILES 512u
#define CAT_BATCH_BYTES (64u << 20)
/*
 * Files up to this size are read whole to validate every record and count
 * rows (a truncated or malformed record anywhere makes the file bad);
 * beyond it only the sample is read and the row count stays unknown.
 */
#define CAT_VALIDATE_MAX (256ull << 20)
/* Values sampled per column per table per crawl for PII detection. */
#define CAT_PII_SAMPLE 400u
/* A sampled value is cut to this many bytes. */
#define CAT_PII_VALUE_MAX 256u
/* Length of a DuckDB error kept as a bad file's reason. */
#define CAT_REASON_MAX 400u
/* DuckDB memory cap of a crawl. */
#define CAT_DUCKDB_MEMORY "1GB"

/* Formats and compressions of files. */
enum cat_format { FMT_NONE, FMT_JSON, FMT_CSV, FMT_TSV, FMT_PARQUET };
enum cat_comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

const char *cat_format_name(enum cat_format f);   /* "json", "csv", "parquet" */
const char *cat_comp_name(enum cat_comp c);       /* "none", "gzip", "zstd" */
/*
 * Classifies a file name by extension; FMT_NONE if unknown.  *stem_len
 * is the length of the name without the format and compression
 * extensions.
 */
enum cat_format cat_classify(const char *name, enum cat_comp *comp, size_t *stem_len);

/* ---- schema.c: types ------------------------------------------------ */

enum ct_kind { CT_NULL, CT_SCALAR, CT_STRUCT, CT_LIST, CT_MAP };

/*
 * A column type as a tree.  CT_NULL is "no value seen yet" (a JSON field
 * that was null in every record read); it merges into anything and is
 * shown to DuckDB as JSON.  Scalars keep DuckDB's canonical spelling
 * ("BIGINT", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE").
 */
struct ctype {
	enum ct_kind kind;
	char *name;           /* CT_SCALAR */
	size_t n;             /* children */
	char **fields;        /* CT_STRUCT field names */
	struct ctype **kids;  /* STRUCT fields; LIST element (1); MAP key, value (2) */
};

/* Parses DuckDB type syntax (and "NULL"); NULL with a message on error. */
struct ctype *ctype_parse(const char *s, char *err);
struct ctype *ctype_dup(const struct ctype *t);
void ctype_free(struct ctype *t);
bool ctype_equal(const struct ctype *a, const struct ctype *b);
/*
 * Appends the type.  duck=true: DuckDB syntax (CT_NULL as JSON), for
 * queries and people; false: the crawler's form (keeps NULL).
 */
int ctype_render(const struct ctype *t, bool duck, struct buf *out);
/* Returns the rendered type as a heap string. */
char *ctype_str(const struct ctype *t, bool duck);
/*
 * The narrowest type both a and b widen to (new tree).  json_top: the
 * table reads JSON, so a nested value meeting a scalar becomes JSON
 * (else VARCHAR).
 */
struct ctype *ctype_merge(const struct ctype *a, const struct ctype *b, bool json_top);
/* True if a scalar type is text-like (VARCHAR, JSON) or NULL: worth sampling for PII. */
bool ctype_is_text(const struct ctype *t);

/* An ordered list of named columns. */
struct schema {
	size_t n;
	char **names;
	struct ctype **types;
};

void schema_release(struct schema *s);
int schema_find(const struct schema *s, const char *name);   /* index or -1 */
/* Appends (takes ownership of t). */
void schema_add(struct schema *s, const char *name, struct ctype *t);
void schema_copy(struct schema *dst, const struct schema *src);
/*
 * Merges src into dst (union by name, widening), appending to changes
 * one "; "-separated description per change; counts added top-level
 * columns and other type changes.
 */
void schema_merge(struct schema *dst, const struct schema *src, bool json_top,
		  struct buf *changes, unsigned *added, unsigned *widened);
/* JSON [["name","type"],...] in the crawler's form, and back. */
int schema_to_json(const struct schema *s, struct buf *out);
int schema_from_json(const char *json, struct schema *s, char *err);

/* Appends s as a SQL string literal ('...' with quotes doubled). */
int sql_str(struct buf *b, const char *s);
/* Appends s as a SQL identifier ("..." with quotes doubled). */
int sql_ident(struct buf *b, const char *s);
/* Appends a file path as a SQL literal with DuckDB glob characters escaped. */
int sql_path(struct buf *b, const char *path);

/* ---- probe.c: the crawler's DuckDB ------------------------------------- */

/* CSV reader options shared by every file of a table. */
struct csv_dialect {
	bool set;
	char delim[8], quote[8], escape[8], comment[8];
	bool header;
	int skip;
	char dateformat[64], tsformat[64];
};

int csv_dialect_to_json(const struct csv_dialect *d, struct buf *out);
int csv_dialect_from_json(const char *json, struct csv_dialect *d);
/* Appends ", delim='x', quote=..." options of read_csv (auto_detect=false). */
int csv_dialect_sql(const struct csv_dialect *d, struct buf *out);

/* One file handed to a probe. */
struct probe_file {
	const char *path;     /* absolute */
	uint64_t size;
	enum cat_comp comp;
	/* results */
	bool bad;
	char *reason;         /* heap, when bad */
	int64_t rows;         /* -1 unknown */
	char *columns;        /* csv, parquet: the file's reader options as JSON
			       * ({"dialect": {...}, "columns": [...]}) */
	char *codec;          /* parquet: compression codec, lower case ("zstd") */
};

/* Sampled values per column path, for PII detection. */
struct sample_col {
	char *path;
	char **vals;
	size_t n;
};

struct sample {
	struct sample_col *v;
	size_t n;
};

void sample_release(struct sample *s);
void sample_add(struct sample *s, const char *path, const char *val);

struct probe;

/*
 * Opens an in-memory DuckDB for one crawl: external access only to the
 * given directories (absolute, the zone folders being crawled),
 * configuration locked, no extension loading, threads 2, memory capped.
 */
int probe_open(const char *const *dirs, size_t ndirs, struct probe **out, char *err);
void probe_close(struct probe *p);
/* Files opened so far (every file handed to DuckDB or pre-checked counts once). */
unsigned probe_reads(const struct probe *p);

/*
 * Reads JSON files (batches them, bisects failures down to single files):
 * marks bad files, sets rows, merges the schema of the good files into
 * *schema (json_top widening), samples values of text columns into smp.
 * Returns 0 or a TN code for a failure that is not the files' (DuckDB out
 * of memory, interrupted): the crawl stops then.
 */
int probe_json(struct probe *p, struct probe_file *f, size_t n, struct schema *schema,
	       struct sample *smp, char *err);
/*
 * Reads CSV files one by one (tsv: tab-separated), each with the dialect
 * DuckDB's sniffer finds in it; the dialect and the header's column list
 * go into the file's options (f->columns), so a scan reads every file as
 * it was validated.
 */
int probe_csv(struct probe *p, struct probe_file *f, size_t n, bool tsv, struct schema *schema,
	      struct sample *smp, char *err);
/* Reads Parquet files one by one (footer, schema, row count, codec). */
int probe_parquet(struct probe *p, struct probe_file *f, size_t n, struct schema *schema,
		  struct sample *smp, char *err);

/* ---- dictionary.c ------------------------------------------------------- */

/* Renders the Markdown page of a described table. */
int dictionary_table_md(const struct cat_table *t, struct buf *out);

/* ---- catalog.c: the struct and helpers ----------------------------------- */

struct catalog {
	struct store *store;
	struct meta *meta;
	pthread_mutex_t crawl_mu;   /* held for the whole of a crawl */
	atomic_uint_fast64_t generation;
};

/* Resolves a db name or alias to its canonical name; NULL if unknown. */
const char *cat_db_canonical(const char *db);
/*
 * Finds a table's id (exact name, else unique case-insensitive match)
 * and its canonical name (copied into name_out, may be NULL).  Caller
 * holds meta_lock.  TN_ENOTFOUND with a message.
 */
int cat_table_id(struct catalog *c, const char *db, const char *name, int64_t *id,
		 char *name_out, size_t name_n, char *err);
/*
 * Recomputes and stores a table's classification from its effective tags
 * (caller holds meta_lock, inside the caller's transaction).
 */
int cat_refresh_classification(struct catalog *c, int64_t table_id, char *err);
void cat_bump(struct catalog *c);

/* Lowercase tag names [a-z0-9_-]{1,32}. */
bool cat_tag_name_ok(const char *tag);

/* Runs the crawl (crawler.c); catalog_crawl holds crawl_mu around it. */
int crawler_run(struct catalog *c, const struct crawl_opts *o, struct crawl_report *rep,
		char *err);

#endif
