/*
 * crawler_int.h - what the two halves of the crawler share: crawler.c
 * (scope, walk, the crawl as a whole) and crawl_table.c (one unit: diff
 * with the file memory, read, write).  Included by those two files only.
 *
 * A unit is one top-level entry of a zone folder (a folder, or a file
 * lying in the zone folder) and becomes one table.  All of it is owned by
 * the crawling thread.
 */
#ifndef TN_CRAWLER_INT_H
#define TN_CRAWLER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog_int.h"
#include "store/store.h"

struct sqlite3_stmt;

/* Partition keys per table, and folder depth below a table (loops, abuse). */
#define MAX_PKEYS 16
#define MAX_DEPTH 32

enum fstate { F_NEW, F_CHANGED, F_SAME };

/* A file found by the walk, and what reading it found. */
struct cfile {
	char *key;
	uint64_t size;
	int64_t mtime_ns;
	enum cat_format fmt;
	enum cat_comp comp;
	enum fstate state;
	/* partition values from folders */
	size_t np;
	char *pkeys[MAX_PKEYS];
	char *pvals[MAX_PKEYS];   /* NULL = SQL NULL */
	bool pdate[MAX_PKEYS];
	char *perr;               /* why the folders are no valid partition path */
	/* results */
	bool bad;
	char *reason;
	int64_t rows;
	char *options;            /* per-file reader options (csv, parquet) */
	char *codec;              /* parquet compression */
};

struct unit {
	enum zone zone;
	char *name;       /* folder or file name under the zone folder */
	char *table;      /* table name */
	bool loose;       /* a file directly in the zone folder */
	char *scope;      /* key prefix limiting the crawl ("" = the whole unit) */
	bool scope_exact; /* scope is one file's key, not a prefix */
	char *conflict;   /* the table name is taken: every file is bad for this reason */
	struct cfile *f;
	size_t n, cap;
};

struct crawl {
	struct catalog *c;
	const char *root;
	bool full;
	struct crawl_report *rep;
	struct probe *probe;  /* opened on the first read */
	char **dirs;          /* absolute zone folders in scope (DuckDB's allowed dirs) */
	size_t ndirs;
	int64_t now_ms;
	int64_t id;           /* cat_crawls row */
	int64_t *touched;     /* tables seen unchanged: last_crawl_ms set in one go */
	size_t ntouched;
	char *err;
};

/* crawl_table.c: crawls one unit (diff, read, write in one transaction). */
int crawl_unit(struct crawl *cr, struct unit *u);
/* crawl_table.c: stamps last_crawl_ms of the tables seen unchanged. */
int crawl_touch_flush(struct crawl *cr);

/* crawler.c: metastore helpers that fill cr->err. */
int crawl_sql_err(struct crawl *cr, const char *what);
struct sqlite3_stmt *crawl_prep(struct crawl *cr, const char *sql);

#endif
