/*
 * types.h - PostgreSQL type OIDs, the mapping from DuckDB's types, and
 * value conversions between DuckDB's text and PostgreSQL's wire forms.
 *
 * The engine hands every value as the text DuckDB's CAST(x AS VARCHAR)
 * makes (query/query.c).  Results go to clients in PostgreSQL's text form
 * (format 0) or binary form (format 1, the types drivers ask for);
 * parameters arrive in either form and are turned into text DuckDB casts
 * back to the type (the server binds every parameter as VARCHAR and lets
 * DuckDB cast it, e.g. CAST($1 AS TIMESTAMP)).
 *
 *   DuckDB text --pgtype_text_out-->   PostgreSQL text      (result, format 0)
 *   DuckDB text --pgtype_binary_out--> PostgreSQL binary    (result, format 1)
 *   PostgreSQL binary --pgtype_binary_in--> DuckDB text     (Bind, format 1)
 *   PostgreSQL text   --pgtype_text_in-->   DuckDB text     (Bind, format 0)
 *
 * Where the two text forms differ (facts of DuckDB 1.4.4 and PostgreSQL):
 * bool "true"/"t"; bytea "\xAA" escapes / "\xaa..." hex; BC dates
 * "0045-03-15 (BC)" / "0045-03-15 BC"; intervals "1 year 2 months" /
 * "1 year 2 mons" (and mixed signs); floats "nan", "inf", "100.0" / "NaN",
 * "Infinity", "100"; nanosecond timestamps (PostgreSQL keeps 6 digits).
 * timestamptz text carries the offset of DuckDB's TimeZone setting; the
 * binary form is UTC, so it is right whatever the zone.
 *
 * All functions append to out and return 0, or TN_EINVAL (err names the
 * type and the value) for a value that is not of the type, or TN_ETOOBIG
 * from out's cap; on error out is left as it was.  Pure; any thread.
 */
#ifndef TN_PG_TYPES_H
#define TN_PG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* PostgreSQL type OIDs (pg_type.dat). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_CHAR 18
#define PG_OID_NAME 19
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_OID 26
#define PG_OID_JSON 114
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_UNKNOWN 705
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043
#define PG_OID_DATE 1082
#define PG_OID_TIME 1083
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_INTERVAL 1186
#define PG_OID_TIMETZ 1266
#define PG_OID_NUMERIC 1700
#define PG_OID_UUID 2950
#define PG_OID_JSONB 3802

/* What RowDescription says of a column. */
struct pg_typeinfo {
	uint32_t oid;
	int16_t typlen;   /* bytes, or -1 for variable length */
	int32_t typmod;   /* -1, or numeric's ((precision << 16) | scale) + 4 */
};

/*
 * The PostgreSQL type for a DuckDB type name as query.c reports it
 * ("INTEGER", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE", "JSON",
 * "STRUCT(...)", "INTEGER[]", ...; case-insensitive).  Nested types
 * (LIST, ARRAY, STRUCT, MAP, UNION) map to json: the engine renders them
 * with to_json.  Unknown names map to text.  Always succeeds.
 */
void pgtype_from_duckdb_name(const char *name, struct pg_typeinfo *out);
/*
 * The same from a DUCKDB_TYPE_* id (duckdb.h) and, for DECIMAL, its width
 * and scale.  Unknown ids map to text.
 */
void pgtype_from_duckdb_id(int duckdb_type, unsigned width, unsigned scale,
			   struct pg_typeinfo *out);

/* PostgreSQL's name of a type ("int4", "timestamptz", ...), or NULL if not one of the above. */
const char *pgtype_name(uint32_t oid);
/* pg_type.typlen of oid (-1 for variable length and unknown OIDs). */
int16_t pgtype_len(uint32_t oid);
/*
 * The DuckDB type a parameter of this OID is cast to ("INTEGER",
 * "TIMESTAMP WITH TIME ZONE", ...), or NULL for 0, unknown and text-like
 * OIDs (leave the parameter VARCHAR and let DuckDB infer).
 */
const char *pgtype_duckdb_name(uint32_t oid);
/* True if pgtype_binary_out / pgtype_binary_in know oid. */
bool pgtype_has_binary(uint32_t oid);
/*
 * True if pgtype_text_out copies values of oid unchanged, so the caller
 * may skip the call (int2/4/8, numeric, text-like, json, uuid, oid, timetz).
 */
bool pgtype_text_is_copy(uint32_t oid);

/* DuckDB's text of a value of type oid -> PostgreSQL's text form. */
int pgtype_text_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);
/* DuckDB's text of a value of type oid -> PostgreSQL's binary form (the bytes, no length). */
int pgtype_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);
/*
 * A binary parameter (p[0..n)) of type oid -> text DuckDB casts to the
 * type: "true", "12345.6789", "2026-11-22 05:40:39.123", "0045-03-15 (BC)",
 * "14 months 3 days -1500000 microseconds", "\xDE\xAD" for bytea, a
 * timestamptz in UTC with "+00".  Text-like OIDs must be valid UTF-8
 * without NUL.  TN_EUNSUPPORTED for an OID without a binary form.
 */
int pgtype_binary_in(uint32_t oid, const void *p, size_t n, struct buf *out, char *err);
/*
 * A text parameter of type oid (PostgreSQL's text form, as drivers send
 * it) -> text DuckDB casts to the type.  Converts what DuckDB reads
 * differently (bytea hex and escape forms, bool spellings, " BC" dates,
 * PostgreSQL interval styles); copies the rest.
 */
int pgtype_text_in(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);

#endif
