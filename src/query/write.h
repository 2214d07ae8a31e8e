/*
 * write.h - the statements that write tables (query/service.c runs them):
 *
 *   CREATE TABLE [IF NOT EXISTS] db.name [PARTITION BY (col, ...)] AS <query>
 *   INSERT INTO db.name <query>
 *   DROP TABLE [IF EXISTS] db.name
 *
 * DuckDB's own grammar has no PARTITION BY on CREATE TABLE and its tables
 * live in DuckDB, not in the lake, so tarn reads the head of these three
 * forms itself (keywords, names, the partition list) and hands <query> to
 * the engine as an ordinary read statement, guard included.
 */
#ifndef TN_WRITE_H
#define TN_WRITE_H

#include <stdbool.h>
#include <stddef.h>

enum write_kind { WRITE_CREATE, WRITE_INSERT, WRITE_DROP };

/* Partition columns of one CREATE at most. */
#define WRITE_MAX_PARTITION 16u

struct write_stmt {
	enum write_kind kind;
	bool if_not_exists;           /* CREATE ... IF NOT EXISTS */
	bool if_exists;               /* DROP ... IF EXISTS */
	char db[64];
	char name[129];
	char *partition_by[WRITE_MAX_PARTITION];
	size_t npart;
	size_t query_off;             /* CREATE / INSERT: byte offset of <query> in the SQL */
};

/*
 * Reads the head of sql.  Returns 0 when sql is not one of the three forms
 * (an ordinary query: run it as one), 1 with *w filled, or TN_EINVAL /
 * TN_EUNSUPPORTED with a message for a malformed or unsupported write
 * (CREATE OR REPLACE, an unqualified name, ...).  Release with
 * write_stmt_release (also after an error).
 */
int write_parse(const char *sql, struct write_stmt *w, char *err);
void write_stmt_release(struct write_stmt *w);

#endif
