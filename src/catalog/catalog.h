/*
 * catalog.h - the data catalog (the Glue Data Catalog's role) and the
 * crawler that fills it (the Glue crawler's role).
 *
 * Model (kept in the metastore, migration 2 of meta.c):
 *   database   one per zone, named by zone_db_name() ("raw", "mart", ...);
 *              every function taking a db also takes the aliases bronze,
 *              silver, gold (raw, cleanse, mart).
 *   table      the top-level folder under a zone folder (in the sandbox
 *              zone: under a user's folder, named "<user>/<folder>", so
 *              data/user/alice/scratch/ is sandbox."alice/scratch"): every file below
 *              it (at any depth) belongs to it.  A file lying directly in a
 *              zone folder is a table of its own, named by the file name
 *              without its extensions ("04-user-drop-zone/patients.csv.gz"
 *              is drop.patients); if a folder of that name exists too, the
 *              folder keeps the name and the file is a bad file.  A table
 *              whose location is gone is taken over by the unit that now
 *              has its name (a loose file replaced by a folder).
 *   partition  folders below the table: `key=value` folders (hive style,
 *              %XX-decoded) and `YYYY[/MM[/DD[/HH]]]` folders, which become
 *              the INTEGER columns year, month, day, hour.  Other folders
 *              are transparent (they group files, they are no column).
 *              Every file of a table must have the same key sequence; a
 *              file that does not is a bad file.  key=value columns are
 *              BIGINT while every value is an integer, else VARCHAR.  A
 *              data column with a partition key's name is hidden by the
 *              partition column.
 *   file       the crawler's memory: key, size, mtime, etag, format,
 *              compression, rows, status (ok | bad + reason).  An
 *              incremental crawl compares size and mtime (ns) with the
 *              memory and reads only new or changed files: an unchanged
 *              tree re-crawls from stat() alone.  etag is a weak tag
 *              "<mtime-hex>-<size-hex>" on local disk (the S3 backend will
 *              store the object's ETag).
 *   schema     data columns in DuckDB type syntax (nested STRUCT, LIST,
 *              MAP), inferred by DuckDB from samples, merged across files
 *              by name with widening (BOOLEAN|integers -> BIGINT -> DOUBLE
 *              -> VARCHAR; DATE -> TIMESTAMP -> TIMESTAMP WITH TIME ZONE;
 *              structs take the union of their fields; any other conflict
 *              -> VARCHAR, or JSON where a nested value meets a scalar;
 *              DuckDB's own JSON type absorbs anything).  A JSON field
 *              null in every record read is "not seen yet" (shown as
 *              JSON) and takes the type of a later file.
 *              Columns are added, never dropped, never narrowed; every
 *              change is a new schema version recording what changed.
 *   tags       per column (top-level name, or "a.b.c" for a field of a
 *              struct).  The crawler tags PII (tag "pii", detail = the
 *              detector: ssn, email, phone, date_of_birth, person_name,
 *              street_address, mrn, zip) from column names and sampled
 *              values.  An admin can set or clear any tag; the crawler
 *              never changes an admin's decision.  A struct is PII when a
 *              field of it is (source "nested").  A table's classification
 *              is "pii" when one of its columns is, else "none".
 *
 * Formats: JSON (NDJSON, a JSON array or one object per file: .json,
 * .jsonl, .ndjson), CSV (.csv; .tsv and .tab are tab-separated; header and
 * dialect detected by DuckDB's sniffer), Parquet (.parquet, .pq); JSON and
 * CSV also compressed (.gz, .zst).  Files with another extension are
 * skipped (counted, not recorded); hidden files and folders (a leading
 * '.', which includes the OS_TMP_PREFIX temp files of atomic writes) and
 * symlinks are ignored.  Each CSV file keeps its own sniffed dialect and
 * header.  Bad files (empty, no records, binary, truncated, malformed, a
 * value that fits no inferred type, another format or partition layout
 * than the table's, a table name taken) are recorded with the reason,
 * left out of their table, and the crawl goes on; they are read again
 * only once they change.
 *
 * Threads: every function may be called from any thread.  Readers take
 * the metastore lock briefly and see whole crawls (each table is written
 * in one transaction).  One crawl runs at a time per catalog (per lake):
 * catalog_crawl waits for a running crawl to finish, or with
 * CRAWL_NOWAIT returns TN_EAGAIN.  A crawl blocks for as long as it reads
 * (seconds to minutes): run it on a worker thread, never on an event loop.
 *
 * Ownership: result structs are filled by the catalog and freed by the
 * caller with the matching *_release(); every string in them is owned by
 * the struct.
 */
#ifndef TN_CATALOG_H
#define TN_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct meta;
struct store;
struct catalog;

/*
 * Opens the catalog over a lake's store and metastore (both borrowed:
 * they must outlive the catalog).  Creates no files and opens no DuckDB
 * (a crawl opens its own, only when it has files to read).  Caller frees
 * with catalog_close().
 */
int catalog_open(struct store *s, struct meta *m, struct catalog **out, char *err);
/* Waits for a running crawl, then frees the catalog. Accepts NULL. */
void catalog_close(struct catalog *c);

/*
 * A counter bumped by every committed change of the catalog (crawl,
 * tag, comment, drop): a cache of views can compare it instead of asking
 * the metastore.  In-process only.
 */
uint64_t catalog_generation(struct catalog *c);

/* ---- crawling ---------------------------------------------------------- */

#define CRAWL_FULL 1          /* re-read every file, ignoring the file memory */
#define CRAWL_NOWAIT 2        /* TN_EAGAIN instead of waiting for a running crawl */
#define CRAWL_NO_DICTIONARY 4 /* do not rewrite the data dictionary afterwards */

struct crawl_opts {
	/*
	 * What to crawl: NULL or "" = every catalogued zone (all but
	 * transient and references, which hold results, scratch and
	 * generated documents); a database name or alias
	 * ("raw", "bronze") = that zone, whichever it is; else an object key
	 * prefix naming a folder or file inside a zone
	 * ("01-raw-data-zone/immunizations/2026/04"), which crawls only that
	 * subtree (files outside it are neither read nor forgotten).
	 */
	const char *target;
	int flags;            /* CRAWL_* */
};

/* A table the crawl created or changed. */
struct crawl_table_note {
	char *db, *name;
	bool is_new;
	int schema_version;       /* after the crawl */
	unsigned columns_added;   /* top-level data and partition columns */
	unsigned columns_widened; /* type changes (incl. fields added to a struct) */
	unsigned files_new, files_changed, files_removed, files_bad;
};

/* A file this crawl found bad. */
struct crawl_bad_note {
	char *path;   /* object key */
	char *reason;
};

struct crawl_report {
	int64_t id;               /* row of the crawl history */
	int64_t started_ms;       /* wall clock */
	int64_t duration_ms;
	unsigned zones;           /* zones walked */
	unsigned tables_seen;     /* tables with at least one file in scope */
	unsigned tables_new;
	unsigned tables_changed;  /* existing tables whose schema or files changed */
	unsigned files_seen;      /* candidate files in scope (known formats) */
	unsigned files_new, files_changed, files_unchanged, files_removed;
	unsigned files_read;      /* files whose content was opened (0 for an unchanged tree) */
	unsigned files_bad;       /* bad files found by this crawl (new or changed) */
	unsigned files_skipped;   /* unknown extensions */
	unsigned columns_added, columns_widened;
	unsigned dictionary_files; /* Markdown files (re)written */
	struct crawl_table_note *tables; /* new or changed tables, at most CRAWL_MAX_NOTES */
	size_t ntables;
	struct crawl_bad_note *bad;      /* at most CRAWL_MAX_NOTES */
	size_t nbad;
};

/* Caps of the lists of a crawl report (the counters are exact). */
#define CRAWL_MAX_NOTES 200

/*
 * Crawls (see struct crawl_opts) and fills rep (caller releases it with
 * crawl_report_release, also on failure).  Returns 0 when the crawl ran,
 * even if it found bad files; TN_EINVAL / TN_ENOTFOUND for a target that
 * is no zone and no existing key inside one; TN_EAGAIN with CRAWL_NOWAIT
 * while another crawl runs; TN_EIO / TN_ENOSPC when the metastore or the
 * disk fails (tables written before the failure stay written).  Writes
 * the data dictionary afterwards unless CRAWL_NO_DICTIONARY.  Any thread;
 * blocks.
 */
int catalog_crawl(struct catalog *c, const struct crawl_opts *o, struct crawl_report *rep,
		  char *err);
void crawl_report_release(struct crawl_report *r);
/* Appends the report as one JSON object (REST answer of POST /v1/crawl). */
int crawl_report_json(const struct crawl_report *r, struct buf *out);

/* ---- reading the catalog ----------------------------------------------- */

struct cat_database {
	char *name;          /* "raw" */
	char *location;      /* zone folder relative to the lake root */
	int zone;            /* enum zone */
	int64_t tables;
	int64_t last_crawl_ms; /* 0 if never crawled */
};

struct cat_database_list {
	struct cat_database *v;
	size_t n;
};

/* Every zone as a database, in enum zone order. */
int catalog_databases(struct catalog *c, struct cat_database_list *out, char *err);
void cat_database_list_release(struct cat_database_list *l);

/* One tag of a column as describe shows it. */
struct cat_tag {
	char *name;     /* "pii", or any admin tag */
	char *detail;   /* pii: the detector ("ssn", ...); admin: who, or a note;
			 * nested: the field's path */
	char *evidence; /* crawler: "column name" / "97% of 400 sampled values"; else "" */
	char *source;   /* "crawler" | "admin" | "nested" (inherited from a field) */
	bool cleared;   /* an admin cleared it: shown for the record, not in effect */
};

struct cat_column {
	char *name;     /* top-level name, or "a.b" for field b of struct a */
	char *type;     /* DuckDB syntax, usable in CAST and read_json(columns=) */
	char *comment;
	int depth;      /* 0 = top-level column, 1 = field of a struct column, ... */
	bool partition; /* a partition column (from folder names), always top-level */
	int added_version;    /* schema version that added it */
	bool pii;             /* effective: a "pii" tag in effect */
	struct cat_tag *tags; /* in effect or cleared by an admin */
	size_t ntags;
};

struct cat_partition_key {
	char *name;     /* "year", "region" */
	char *type;     /* INTEGER (date folders), BIGINT or VARCHAR (key=value) */
	bool date;      /* from a YYYY/MM/DD/HH folder (else key=value) */
};

struct cat_version {
	int version;
	int64_t created_ms;
	char *changes;  /* one line: "created with 31 columns" / "added x BIGINT; widened y BIGINT -> DOUBLE" */
};

struct cat_table {
	char *db, *name;
	char *location;       /* key prefix of the folder ("01-raw-data-zone/immunizations/"),
			       * or the key of a one-file table */
	char *format;         /* "json" | "csv" | "parquet" */
	char *compression;    /* "none" | "gzip" | "zstd" | "snappy" | ... | "mixed" */
	char *options;        /* reader options as JSON; csv: {"delim","quote","escape",
			       * "header","skip","comment","dateformat","timestampformat"}; else {} */
	char *classification; /* "pii" | "none" */
	char *comment;
	int schema_version;
	int64_t files, bytes;
	int64_t rows;         /* -1 if some file's row count is unknown (too large to scan) */
	int64_t partitions;
	int64_t bad_files;    /* bad files recorded under this table's location */
	int64_t created_ms, updated_ms /* last schema change */, last_crawl_ms;
	/*
	 * catalog_table_get fills the lists below; catalog_tables leaves
	 * them empty.  cols: top-level data columns in position order, each
	 * followed by its nested fields (depth-first), then the partition
	 * columns in key order.
	 */
	struct cat_column *cols;
	size_t ncols;
	struct cat_partition_key *pkeys;
	size_t npkeys;
	struct cat_version *versions; /* oldest first */
	size_t nversions;
};

struct cat_table_list {
	struct cat_table *v;
	size_t n;
};

/*
 * Lists tables (summaries: no columns, versions or keys), ordered by db
 * then name; db NULL = every database, else a name or alias (TN_ENOTFOUND
 * for an unknown one).
 */
int catalog_tables(struct catalog *c, const char *db, struct cat_table_list *out, char *err);
void cat_table_list_release(struct cat_table_list *l);

/*
 * Describes one table.  name matches exactly, else case-insensitively
 * when that is unambiguous (SQL identifiers fold case).  TN_ENOTFOUND
 * with a message naming it.  Caller releases with cat_table_release.
 */
int catalog_table_get(struct catalog *c, const char *db, const char *name, struct cat_table *out,
		      char *err);
void cat_table_release(struct cat_table *t);

/*
 * Splits "db.table" (the first dot separates: table names may contain
 * dots) into its parts.  TN_EINVAL if there is no dot or a part is empty
 * or too long.
 */
int catalog_split_name(const char *qualified, char *db, size_t dbn, char *table, size_t tablen,
		       char *err);

/* One file of a table, for the query engine. */
struct cat_file {
	char *path;          /* object key; the file is store_root() + "/" + path */
	uint64_t size;
	int64_t rows;        /* -1 unknown */
	char **pvals;        /* npkeys values as text (NULL = SQL NULL), in key order */
	char *options;       /* JSON reader options of this file (csv: dialect, header
			      * columns; parquet: columns), used by catalog_scan_sql */
};

struct cat_file_list {
	struct cat_file *v;
	size_t n;
	size_t npkeys;
};

/*
 * Partition filter: called once per partition with its values (npkeys
 * strings in key order, NULL for SQL NULL) and the described table
 * (keys, types); return false to leave that partition's files out.
 */
typedef bool (*cat_partition_fn)(void *arg, const struct cat_table *t, const char *const *vals);

/*
 * The good files of a table with their partition values, ordered by key,
 * keeping only the partitions keep accepts (keep NULL = all).  t must come
 * from catalog_table_get (the keys are taken from it).  An empty list is
 * not an error (a table may have lost its files).
 */
int catalog_table_files(struct catalog *c, const struct cat_table *t, cat_partition_fn keep,
			void *arg, struct cat_file_list *out, char *err);
void cat_file_list_release(struct cat_file_list *l);

/*
 * Appends a DuckDB SELECT reading the given files of table t (a subset
 * of catalog_table_files, absolute paths root + "/" + path) with the
 * catalog's schema: exactly the top-level data columns of t, in order,
 * with their catalogued types (no inference at query time); file names
 * are quoted and glob-escaped.  file_col, if not NULL, adds a BIGINT
 * column of that name holding the index in files[] of each row's file
 * (from DuckDB's file_index: to look partition values up per file at the
 * cost of a list access).  The SQL needs the files readable
 * (allowed_directories).
 * TN_EINVAL if n == 0.
 */
int catalog_scan_sql(const struct cat_table *t, const char *root, const struct cat_file *files,
		     size_t n, const char *file_col, struct buf *out, char *err);

/* A file recorded as bad. */
struct cat_bad_file {
	char *path;     /* object key */
	char *db;
	char *table;    /* the table it would belong to */
	char *reason;
	uint64_t size;
	int64_t seen_ms; /* when the crawler last read it */
};

struct cat_bad_list {
	struct cat_bad_file *v;
	size_t n;
};

/* Bad files, newest first; db NULL = all, else a name or alias. */
int catalog_bad_files(struct catalog *c, const char *db, struct cat_bad_list *out, char *err);
void cat_bad_list_release(struct cat_bad_list *l);

/* ---- admin changes ---------------------------------------------------- */

enum cat_tag_op {
	CAT_TAG_SET,    /* the tag is in effect, whatever the crawler finds */
	CAT_TAG_CLEAR,  /* the tag is not in effect, whatever the crawler finds */
	CAT_TAG_AUTO,   /* drop the admin's decision: the crawler's finding applies again */
};

/*
 * Sets or clears a tag of a column (`tarn tag TABLE.COLUMN pii|none`):
 * column is a top-level name or "a.b" for a struct field; tag is 1..32 of
 * [a-z0-9_-]; detail is free text (NULL: none), e.g. the principal.  The
 * crawler never overrides it.  TN_ENOTFOUND for an unknown table or
 * column, TN_EINVAL for a bad tag name.
 */
int catalog_tag(struct catalog *c, const char *db, const char *table, const char *column,
		const char *tag, enum cat_tag_op op, const char *detail, char *err);

/* Sets the comment of a column, or of the table when column is NULL. */
int catalog_comment(struct catalog *c, const char *db, const char *table, const char *column,
		    const char *text, char *err);

/*
 * Forgets a table: its columns, tags, versions, partitions and file
 * memory.  Files are not touched: call it after deleting them (DROP
 * TABLE), or the next crawl finds them again as a new table.
 */
int catalog_table_drop(struct catalog *c, const char *db, const char *table, char *err);

/* ---- rendering ---------------------------------------------------------- */

/* JSON of a table (describe: with columns, keys, versions if filled). */
int catalog_table_json(const struct cat_table *t, struct buf *out);
/* {"tables": [...summaries...]} */
int catalog_tables_json(const struct cat_table_list *l, struct buf *out);
/* {"errors": [{"path","db","table","reason","size","seen"}...]} */
int catalog_bad_files_json(const struct cat_bad_list *l, struct buf *out);

/*
 * (Re)writes the data dictionary into the references zone through
 * store_put: "data-dictionary/index.md" and one
 * "data-dictionary/<db>/<table>.md" per table; files whose content is
 * unchanged are not rewritten.  *written (may be NULL) counts the files
 * written.  Called by every crawl unless CRAWL_NO_DICTIONARY.
 */
int catalog_write_dictionary(struct catalog *c, unsigned *written, char *err);

#endif
