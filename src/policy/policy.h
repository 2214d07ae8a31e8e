/*
 * policy.h - "may they?": grants, PII clearance and masking policies.
 *
 * auth answers who is calling; policy answers what that principal may
 * see.  Deny by default: a principal reads a table only through a SELECT
 * grant to itself or to a role it holds (directly or through nested
 * roles).  Admins are not asked: they read everything, unmasked.
 *
 * Grants (table policy_grants, migration 5 of meta.c):
 *   select     target "db" (every table of a zone), "db.table", or
 *              "tag:NAME" (tables with a column tagged NAME); optional
 *              column list (include, or exclude with exclude=true) and
 *              optional row filter (a SQL boolean expression over the
 *              table's columns, checked by the caller by parsing before
 *              it is stored).
 *   clearance  target a tag ("pii"): columns with that tag are read
 *              unmasked.
 *   stream     target a stream name or "*": put records into it (native,
 *              Kinesis and Firehose APIs alike).
 *   write      target a zone or "zone/prefix": put objects there; on a
 *              whole warehouse zone (stage, cleanse, core, mart) also
 *              CREATE TABLE AS, INSERT INTO and DROP TABLE.
 *   read, list, delete
 *              target a zone or "zone/prefix": get, list, delete objects
 *              under it (the S3 API and REST objects obey these).
 * Several grants on one table add up: the union of their columns, and
 * rows matching any of their filters (a grant without a filter: all rows).
 *
 * Masks (table policy_masks): per tag (pii always; another tag once an
 * admin sets a mask for it), one of null, redact ('***'),
 * partial ('***' and the last 4 characters), hash (hex HMAC-SHA256 with a
 * lake secret derived from the master key: stable, so joins and GROUP BY
 * on masked keys still work).  Default for pii: redact.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef TN_POLICY_H
#define TN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct meta;
struct cat_table;
struct policy;

int policy_open(struct meta *m, const uint8_t master_key[32], struct policy **out, char *err);
void policy_close(struct policy *p);

enum grant_kind {
	GRANT_SELECT,     /* read tables: "db", "db.table", "tag:x" */
	GRANT_CLEARANCE,  /* read a tag's columns unmasked: the tag */
	GRANT_STREAM,     /* put records into a stream: its name, or "*" for every stream */
	GRANT_WRITE,      /* objects under "zone" or "zone/prefix"; on a warehouse zone
			   * ("stage" ... "mart") also CREATE/INSERT/DROP of its tables */
	GRANT_READ,       /* read objects under "zone" or "zone/prefix" */
	GRANT_LIST,       /* list keys under "zone" or "zone/prefix" */
	GRANT_DELETE,     /* delete objects under "zone" or "zone/prefix" */
};
/* "select", "clearance", "stream", "write", "read", "list", "delete"; -1 for another word. */
int grant_kind_parse(const char *s);
const char *grant_kind_name(enum grant_kind k);

/*
 * Does principal (through its roles) hold a grant of kind k on target
 * (a stream name, a canonical zone name)?  Errors read as false.
 */
bool policy_allows(struct policy *p, const char *principal, enum grant_kind k, const char *target);

/*
 * The targets ("zone" or "zone/prefix", canonical zone names) of every
 * object grant of kind k (read, write, list, delete) principal holds,
 * directly or through its roles.  The caller frees each and the array.
 * Write grants on a zone ("mart") serve both tables and objects.
 */
int policy_object_targets(struct policy *p, const char *principal, enum grant_kind k,
			  char ***out, size_t *n, char *err);

struct grant {
	int64_t id;
	char *principal;          /* a user or a role */
	enum grant_kind kind;
	char *target;             /* select: "db", "db.table", "tag:x"; clearance: the tag */
	char *columns;            /* JSON array of column names, or NULL: all */
	bool exclude;             /* columns lists the ones left out */
	char *row_filter;         /* SQL boolean expression, or NULL */
	int64_t created_ms;
	char *created_by;
};

struct grant_list {
	struct grant *v;
	size_t n;
};

/*
 * Stores a grant (g->id and created_ms are set here).  The principal must
 * exist (TN_ENOTFOUND); the target must be well-formed (TN_EINVAL); the
 * caller has checked the row filter by parsing it.
 */
int policy_grant(struct policy *p, struct grant *g, char *err);
/* Removes a grant by id.  TN_ENOTFOUND if there is none. */
int policy_revoke(struct policy *p, int64_t id, char *err);
/* Every grant, by principal then id (principal NULL: all). */
int policy_grants(struct policy *p, const char *principal, struct grant_list *out, char *err);
void grant_list_release(struct grant_list *l);

enum mask_kind { MASK_NULL, MASK_REDACT, MASK_PARTIAL, MASK_HASH };
/* Parses "null" | "redact" | "partial" | "hash"; -1 if none. */
int mask_parse(const char *s);
const char *mask_name(enum mask_kind k);
/* Sets the mask of a tag (an admin's decision). */
int policy_set_mask(struct policy *p, const char *tag, enum mask_kind k, char *err);
/*
 * Copies the hash mask's key (32 bytes, derived from the master key: the
 * HMAC-SHA256 key of tarn_mask_hash) into key.  The caller wipes its copy.
 */
void policy_mask_key(struct policy *p, uint8_t key[32]);
/* The mask of a tag (pii: redact unless set). */
enum mask_kind policy_mask(struct policy *p, const char *tag);
/* True (with *k) when an admin set a mask for tag: tags other than pii mask only then. */
bool policy_mask_set(struct policy *p, const char *tag, enum mask_kind *k);

/* What one principal may read of one table. */
struct table_access {
	bool allowed;             /* some grant covers the table */
	bool all_columns;
	char **columns;           /* top-level names allowed when !all_columns */
	size_t ncolumns;
	char *row_filter;         /* "(f1) OR (f2)", or NULL: every row */
	char **cleared;           /* tags this principal reads unmasked */
	size_t ncleared;
};
void table_access_release(struct table_access *a);

/* Computes the access of principal (its roles included) to table t (from catalog_table_get). */
int policy_table_access(struct policy *p, const char *principal, const struct cat_table *t,
			struct table_access *out, char *err);

/*
 * What principal may read of t, all cases in one: an admin, and the owner
 * of a sandbox table ("<user>/..." in sandbox), read all of it unmasked
 * (out->all_columns, a "pii" clearance); anyone else per
 * policy_table_access.  p may be NULL (then only those two read).
 */
int policy_read_access(struct policy *p, const char *principal, bool admin,
		       const struct cat_table *t, struct table_access *out, char *err);
/* Is t a table of principal's own sandbox ("<principal>/..." in sandbox)? */
bool policy_owns(const char *principal, const struct cat_table *t);
/* Is top-level column name readable under a? */
bool table_access_column(const struct table_access *a, const char *name);

/*
 * Appends the SQL of column expression expr masked with k (type: the
 * column's type, used by null).  hash calls tarn_mask_hash, which the
 * query engine registers with policy_mask_key's key (query/udf.h): the
 * SQL holds no key material.
 */
void policy_mask_sql(struct policy *p, enum mask_kind k, const char *expr, const char *type,
		     struct buf *out);

#endif
