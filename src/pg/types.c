/*
 * types.c - PostgreSQL types: OIDs, DuckDB mapping, text and binary value
 * conversions (see types.h for the data flow and the two text forms).
 *
 * Design: every conversion goes through a small parsed value, never
 * through a floating-point detour where exactness matters:
 *   - numeric: the decimal digits and the position of the point, grouped
 *     into base-10000 digits aligned on the point (numeric_send's form:
 *     int16 ndigits, weight, sign, dscale, then the digits);
 *   - floats: the shortest digits DuckDB printed are kept, only laid out
 *     as PostgreSQL's float8out would (fixed for exponents -4..14, -4..5
 *     for float4, else d.ddde+XX); binary goes through strtod/strtof,
 *     exact because those digits round-trip (C locale: tarn never calls
 *     setlocale);
 *   - bytea: DuckDB's blob text ("\xAA" escapes, printable ASCII as is)
 *     to bytes, PostgreSQL's hex form, and back;
 *   - dates, times, timestamps and intervals live in types_time.c.
 * The public functions here dispatch on the OID.
 * Fast paths: values whose two text forms agree are copied.
 *
 * Invariants: reads stay inside [s, s+n); a failed conversion leaves out
 * as it was (each public function truncates back on error).
 */
#include "pg/types.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/utf8.h"
#include "pg/types_int.h"
#include "core/banned.h"

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define NUMERIC_MAX_DSCALE 0x3FFF
#define NUMERIC_MAX_DIGITS 4096   /* base-10000 digits: far past DuckDB's 38 decimal digits */

/* ---- the type table ------------------------------------------------------- */

struct tinfo {
	uint32_t oid;
	const char *name;
	int16_t len;
	const char *duck;   /* cast target of parameters, NULL: leave VARCHAR */
	bool binary;
	bool copy;          /* text out is a copy */
};

static const struct tinfo types[] = {
	{ PG_OID_BOOL, "bool", 1, "BOOLEAN", true, false },
	{ PG_OID_BYTEA, "bytea", -1, "BLOB", true, false },
	{ PG_OID_CHAR, "char", 1, NULL, true, true },
	{ PG_OID_NAME, "name", 64, NULL, true, true },
	{ PG_OID_INT8, "int8", 8, "BIGINT", true, true },
	{ PG_OID_INT2, "int2", 2, "SMALLINT", true, true },
	{ PG_OID_INT4, "int4", 4, "INTEGER", true, true },
	{ PG_OID_TEXT, "text", -1, NULL, true, true },
	{ PG_OID_OID, "oid", 4, "UINTEGER", true, true },
	{ PG_OID_JSON, "json", -1, "JSON", true, true },
	{ PG_OID_FLOAT4, "float4", 4, "FLOAT", true, false },
	{ PG_OID_FLOAT8, "float8", 8, "DOUBLE", true, false },
	{ PG_OID_UNKNOWN, "unknown", -2, NULL, true, true },
	{ PG_OID_BPCHAR, "bpchar", -1, NULL, true, true },
	{ PG_OID_VARCHAR, "varchar", -1, NULL, true, true },
	{ PG_OID_DATE, "date", 4, "DATE", true, false },
	{ PG_OID_TIME, "time", 8, "TIME", true, false },
	{ PG_OID_TIMESTAMP, "timestamp", 8, "TIMESTAMP", true, false },
	{ PG_OID_TIMESTAMPTZ, "timestamptz", 8, "TIMESTAMP WITH TIME ZONE", true, false },
	{ PG_OID_INTERVAL, "interval", 16, "INTERVAL", true, false },
	{ PG_OID_TIMETZ, "timetz", 12, "TIME WITH TIME ZONE", true, true },
	{ PG_OID_NUMERIC, "numeric", -1, NULL, true, true },  /* no DuckDB type holds every numeric */
	{ PG_OID_UUID, "uuid", 16, "UUID", true, true },
	{ PG_OID_JSONB, "jsonb", -1, "JSON", true, true },
};

static const struct tinfo *tinfo_of(uint32_t oid)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (types[i].oid == oid)
			return &types[i];
	return NULL;
}

const char *pgtype_name(uint32_t oid)
{
	const struct tinfo *t = tinfo_of(oid);
	return t ? t->name : NULL;
}

int16_t pgtype_len(uint32_t oid)
{
	const struct tinfo *t = tinfo_of(oid);
	return t ? t->len : -1;
}

const char *pgtype_duckdb_name(uint32_t oid)
{
	const struct tinfo *t = tinfo_of(oid);
	return t ? t->duck : NULL;
}

bool pgtype_has_binary(uint32_t oid)
{
	const struct tinfo *t = tinfo_of(oid);
	return t && t->binary;
}

bool pgtype_text_is_copy(uint32_t oid)
{
	const struct tinfo *t = tinfo_of(oid);
	return !t || t->copy;
}

static void set_type(struct pg_typeinfo *out, uint32_t oid, int32_t typmod)
{
	out->oid = oid;
	out->typlen = pgtype_len(oid);
	out->typmod = typmod;
}

static int32_t numeric_typmod(unsigned width, unsigned scale)
{
	if (width < 1 || width > 1000 || scale > width)
		return -1;
	return (int32_t)((width << 16) | scale) + 4;
}

/* DuckDB type names (query.c's type_name, aliases, and common spellings). */
static const struct {
	const char *name;
	uint32_t oid;
} duck_names[] = {
	{ "BOOLEAN", PG_OID_BOOL }, { "BOOL", PG_OID_BOOL },
	{ "TINYINT", PG_OID_INT2 }, { "SMALLINT", PG_OID_INT2 }, { "INT2", PG_OID_INT2 },
	{ "UTINYINT", PG_OID_INT2 },
	{ "INTEGER", PG_OID_INT4 }, { "INT", PG_OID_INT4 }, { "INT4", PG_OID_INT4 },
	{ "USMALLINT", PG_OID_INT4 },
	{ "BIGINT", PG_OID_INT8 }, { "INT8", PG_OID_INT8 }, { "UINTEGER", PG_OID_INT8 },
	{ "UBIGINT", PG_OID_NUMERIC }, { "HUGEINT", PG_OID_NUMERIC },
	{ "UHUGEINT", PG_OID_NUMERIC }, { "BIGNUM", PG_OID_NUMERIC },
	{ "VARINT", PG_OID_NUMERIC }, { "NUMERIC", PG_OID_NUMERIC },
	{ "FLOAT", PG_OID_FLOAT4 }, { "REAL", PG_OID_FLOAT4 }, { "FLOAT4", PG_OID_FLOAT4 },
	{ "DOUBLE", PG_OID_FLOAT8 }, { "FLOAT8", PG_OID_FLOAT8 },
	{ "VARCHAR", PG_OID_VARCHAR }, { "STRING", PG_OID_VARCHAR }, { "TEXT", PG_OID_TEXT },
	{ "CHAR", PG_OID_VARCHAR }, { "BPCHAR", PG_OID_VARCHAR }, { "ENUM", PG_OID_VARCHAR },
	{ "BLOB", PG_OID_BYTEA }, { "BYTEA", PG_OID_BYTEA }, { "VARBINARY", PG_OID_BYTEA },
	{ "DATE", PG_OID_DATE },
	{ "TIME", PG_OID_TIME }, { "TIME_NS", PG_OID_TIME },
	{ "TIME WITH TIME ZONE", PG_OID_TIMETZ }, { "TIMETZ", PG_OID_TIMETZ },
	{ "TIMESTAMP", PG_OID_TIMESTAMP }, { "DATETIME", PG_OID_TIMESTAMP },
	{ "TIMESTAMP_S", PG_OID_TIMESTAMP }, { "TIMESTAMP_MS", PG_OID_TIMESTAMP },
	{ "TIMESTAMP_NS", PG_OID_TIMESTAMP },
	{ "TIMESTAMP WITH TIME ZONE", PG_OID_TIMESTAMPTZ },
	{ "TIMESTAMPTZ", PG_OID_TIMESTAMPTZ },
	{ "INTERVAL", PG_OID_INTERVAL },
	{ "UUID", PG_OID_UUID },
	{ "JSON", PG_OID_JSON },
	{ "LIST", PG_OID_JSON }, { "ARRAY", PG_OID_JSON }, { "STRUCT", PG_OID_JSON },
	{ "MAP", PG_OID_JSON }, { "UNION", PG_OID_JSON },
	{ "BIT", PG_OID_TEXT }, { "BITSTRING", PG_OID_TEXT }, { "NULL", PG_OID_TEXT },
};

void pgtype_from_duckdb_name(const char *name, struct pg_typeinfo *out)
{
	set_type(out, PG_OID_TEXT, -1);
	if (!name)
		return;
	size_t n = strlen(name);
	/* LIST "INTEGER[]" and ARRAY "INTEGER[3]" */
	if (n && name[n - 1] == ']') {
		set_type(out, PG_OID_JSON, -1);
		return;
	}
	size_t base = strcspn(name, "(");
	if (base < n) {
		if ((base == 7 && !strncasecmp(name, "DECIMAL", 7)) ||
		    (base == 7 && !strncasecmp(name, "NUMERIC", 7))) {
			unsigned w = 0, sc = 0;
			char tail;
			int k = sscanf(name + base, "(%u,%u%c", &w, &sc, &tail);
			if (k == 3 && tail == ')')
				set_type(out, PG_OID_NUMERIC, numeric_typmod(w, sc));
			else
				set_type(out, PG_OID_NUMERIC, -1);
			return;
		}
		if ((base == 6 && !strncasecmp(name, "STRUCT", 6)) ||
		    (base == 3 && !strncasecmp(name, "MAP", 3)) ||
		    (base == 5 && !strncasecmp(name, "UNION", 5))) {
			set_type(out, PG_OID_JSON, -1);
			return;
		}
		if (base == 4 && !strncasecmp(name, "ENUM", 4)) {
			set_type(out, PG_OID_VARCHAR, -1);
			return;
		}
		if ((base == 7 && !strncasecmp(name, "VARCHAR", 7)) ||
		    (base == 4 && !strncasecmp(name, "CHAR", 4))) {
			set_type(out, PG_OID_VARCHAR, -1);
			return;
		}
	}
	for (size_t i = 0; i < sizeof duck_names / sizeof duck_names[0]; i++) {
		if (!strcasecmp(name, duck_names[i].name)) {
			set_type(out, duck_names[i].oid, -1);
			return;
		}
	}
}

void pgtype_from_duckdb_id(int t, unsigned width, unsigned scale, struct pg_typeinfo *out)
{
	/* The DUCKDB_TYPE_* values of duckdb.h (stable across releases). */
	switch (t) {
	case 1: set_type(out, PG_OID_BOOL, -1); return;                  /* BOOLEAN */
	case 2: case 3: case 6: set_type(out, PG_OID_INT2, -1); return;  /* TINYINT SMALLINT UTINYINT */
	case 4: case 7: set_type(out, PG_OID_INT4, -1); return;          /* INTEGER USMALLINT */
	case 5: case 8: set_type(out, PG_OID_INT8, -1); return;          /* BIGINT UINTEGER */
	case 9: case 16: case 32: case 35:                               /* UBIGINT HUGEINT UHUGEINT BIGNUM */
		set_type(out, PG_OID_NUMERIC, -1);
		return;
	case 10: set_type(out, PG_OID_FLOAT4, -1); return;               /* FLOAT */
	case 11: set_type(out, PG_OID_FLOAT8, -1); return;               /* DOUBLE */
	case 12: case 20: case 21: case 22:                              /* TIMESTAMP _S _MS _NS */
		set_type(out, PG_OID_TIMESTAMP, -1);
		return;
	case 13: set_type(out, PG_OID_DATE, -1); return;                 /* DATE */
	case 14: case 39: set_type(out, PG_OID_TIME, -1); return;        /* TIME TIME_NS */
	case 15: set_type(out, PG_OID_INTERVAL, -1); return;             /* INTERVAL */
	case 17: case 23: set_type(out, PG_OID_VARCHAR, -1); return;     /* VARCHAR ENUM */
	case 18: set_type(out, PG_OID_BYTEA, -1); return;                /* BLOB */
	case 19: set_type(out, PG_OID_NUMERIC, numeric_typmod(width, scale)); return; /* DECIMAL */
	case 24: case 25: case 26: case 28: case 33:                     /* LIST STRUCT MAP UNION ARRAY */
		set_type(out, PG_OID_JSON, -1);
		return;
	case 27: set_type(out, PG_OID_UUID, -1); return;                 /* UUID */
	case 30: set_type(out, PG_OID_TIMETZ, -1); return;               /* TIME_TZ */
	case 31: set_type(out, PG_OID_TIMESTAMPTZ, -1); return;          /* TIMESTAMP_TZ */
	default: set_type(out, PG_OID_TEXT, -1); return;                 /* BIT, SQLNULL, ... */
	}
}

/* ---- small helpers ------------------------------------------------------------ */

int pgtype_bad(char *err, uint32_t oid, const char *s, size_t n)
{
	const char *name = pgtype_name(oid);
	if (n > 64)
		n = 64;
	return tn_fail(err, TN_EINVAL, "invalid input syntax for type %s: '%.*s'",
		       name ? name : "unknown", (int)n, s);
}

int pgtype_range(char *err, uint32_t oid)
{
	const char *name = pgtype_name(oid);
	return tn_fail(err, TN_EINVAL, "value out of range for type %s", name ? name : "unknown");
}

/* A whole integer s[0..n) in [lo, hi]. */
static bool parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *v)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (lim - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	int64_t r = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc)
			: (int64_t)acc;
	if (r < lo || r > hi)
		return false;
	*v = r;
	return true;
}

/* ---- numeric --------------------------------------------------------------------- */

/*
 * A decimal number as digits and a point: value = 0.D * 10^point, where D
 * are the significant digits (no leading zeros).  special: 0, or one of
 * NUMERIC_NAN / PINF / NINF.
 */
struct dec {
	int special;
	bool neg;
	const char *dig;   /* into the text, may include one '.' to skip */
	size_t nd;         /* chars of dig (digits and the '.') */
	int64_t point;     /* decimal exponent of the point (digits before it) */
	int64_t dscale;    /* digits after the point, as written */
};

static bool parse_dec(const char *s, size_t n, struct dec *d)
{
	memset(d, 0, sizeof *d);
	pgtype_trim(&s, &n);
	if (pgtype_ieq(s, n, "nan")) {
		d->special = NUMERIC_NAN;
		return true;
	}
	if (pgtype_ieq(s, n, "infinity") || pgtype_ieq(s, n, "+infinity") || pgtype_ieq(s, n, "inf")) {
		d->special = NUMERIC_PINF;
		return true;
	}
	if (pgtype_ieq(s, n, "-infinity") || pgtype_ieq(s, n, "-inf")) {
		d->special = NUMERIC_NINF;
		return true;
	}
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		d->neg = s[i++] == '-';
	size_t start = i, intd = 0, fracd = 0;
	bool dot = false;
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (dot)
				fracd++;
			else
				intd++;
		} else if (s[i] == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (intd + fracd == 0)
		return false;
	int64_t exp10 = 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (!parse_int(s + i + 1, n - i - 1, -100000, 100000, &exp10))
			return false;
		i = n;
	}
	if (i != n)
		return false;
	d->dig = s + start;
	d->nd = intd + fracd + (dot ? 1 : 0);
	d->point = (int64_t)intd + exp10;
	d->dscale = (int64_t)fracd - exp10;
	if (d->dscale < 0)
		d->dscale = 0;
	return true;
}

/* The k-th decimal digit of d counting from the first (0-based), skipping '.'. */
static int dec_digit(const struct dec *d, size_t k, size_t *cursor, size_t *pos)
{
	/* sequential access: *cursor is the char index of digit *pos */
	while (*pos < k || d->dig[*cursor] == '.') {
		if (d->dig[*cursor] != '.')
			(*pos)++;
		(*cursor)++;
	}
	return d->dig[*cursor] - '0';
}

static int numeric_binary_out(const char *s, size_t n, struct buf *out, char *err)
{
	struct dec d;
	if (!parse_dec(s, n, &d))
		return pgtype_bad(err, PG_OID_NUMERIC, s, n);
	if (d.special) {
		/*
		 * numeric_send's dscale of a special value is what its header
		 * bits read as a short-format scale: 32 for the infinities, 0 for
		 * NaN (checked against PostgreSQL 15); receivers ignore it.
		 */
		int rc = pgtype_put_be(out, 0, 2);
		if (!rc)
			rc = pgtype_put_be(out, 0, 2);
		if (!rc)
			rc = pgtype_put_be(out, (uint64_t)d.special, 2);
		if (!rc)
			rc = pgtype_put_be(out, d.special == NUMERIC_NAN ? 0 : 32, 2);
		return rc;
	}
	size_t ndig = d.nd - (memchr(d.dig, '.', d.nd) ? 1 : 0);
	/* Align the point on a group boundary: pad lead digits in front. */
	int64_t lead = ((d.point % 4) + 4) % 4;   /* digits of the first group before the point */
	int64_t pad = lead ? 4 - lead : 0;        /* zeros in front to fill that group */
	int64_t first_weight = pgtype_floordiv(d.point + pad - 1, 4); /* weight of the first group */
	int64_t total = pad + (int64_t)ndig;
	int64_t ngroups = (total + 3) / 4;
	if (ngroups > NUMERIC_MAX_DIGITS || d.dscale > NUMERIC_MAX_DSCALE ||
	    first_weight > INT16_MAX || first_weight - ngroups < INT16_MIN)
		return pgtype_range(err, PG_OID_NUMERIC);
	uint16_t g[NUMERIC_MAX_DIGITS];
	size_t cursor = 0, pos = 0;
	for (int64_t k = 0; k < ngroups; k++) {
		unsigned v = 0;
		for (int j = 0; j < 4; j++) {
			int64_t idx = k * 4 + j - pad;  /* index into the digits */
			int dv = idx >= 0 && idx < (int64_t)ndig
					 ? dec_digit(&d, (size_t)idx, &cursor, &pos)
					 : 0;
			v = v * 10 + (unsigned)dv;
		}
		g[k] = (uint16_t)v;
	}
	/* strip leading and trailing zero groups */
	int64_t lo = 0, hi = ngroups;
	while (lo < hi && g[lo] == 0)
		lo++;
	while (hi > lo && g[hi - 1] == 0)
		hi--;
	int64_t weight = lo < hi ? first_weight - lo : 0;
	int rc = pgtype_put_be(out, (uint64_t)(hi - lo), 2);
	if (!rc)
		rc = pgtype_put_be(out, (uint64_t)(uint16_t)(int16_t)weight, 2);
	if (!rc)
		rc = pgtype_put_be(out, lo < hi && d.neg ? NUMERIC_NEG : NUMERIC_POS, 2);
	if (!rc)
		rc = pgtype_put_be(out, (uint64_t)d.dscale, 2);
	for (int64_t k = lo; k < hi && !rc; k++)
		rc = pgtype_put_be(out, g[k], 2);
	return rc;
}

static int numeric_binary_in(const uint8_t *p, size_t n, struct buf *out, char *err)
{
	if (n < 8)
		return tn_fail(err, TN_EINVAL, "invalid binary numeric: %zu bytes", n);
	unsigned nd = (unsigned)pgtype_get_be(p, 2);
	int16_t weight = (int16_t)pgtype_get_be(p + 2, 2);
	unsigned sign = (unsigned)pgtype_get_be(p + 4, 2);
	unsigned dscale = (unsigned)pgtype_get_be(p + 6, 2);
	if (n != 8 + 2 * (size_t)nd)
		return tn_fail(err, TN_EINVAL, "invalid binary numeric: %u digits in %zu bytes", nd, n);
	if (sign == NUMERIC_NAN)
		return buf_puts(out, "NaN");
	if (sign == NUMERIC_PINF)
		return buf_puts(out, "Infinity");
	if (sign == NUMERIC_NINF)
		return buf_puts(out, "-Infinity");
	if ((sign != NUMERIC_POS && sign != NUMERIC_NEG) || dscale > NUMERIC_MAX_DSCALE)
		return tn_fail(err, TN_EINVAL, "invalid binary numeric: sign %#x, scale %u", sign,
			       dscale);
	for (unsigned i = 0; i < nd; i++)
		if (pgtype_get_be(p + 8 + 2 * i, 2) > 9999)
			return tn_fail(err, TN_EINVAL, "invalid digit in external numeric value");
	int rc = 0;
	bool nonzero = false;
	for (unsigned i = 0; i < nd; i++)
		nonzero |= pgtype_get_be(p + 8 + 2 * i, 2) != 0;
	if (sign == NUMERIC_NEG && nonzero)
		rc = buf_putc(out, '-');
	/* integer part: groups of weight w >= 0 */
	if (weight < 0) {
		if (!rc)
			rc = buf_putc(out, '0');
	} else {
		for (int w = 0; w <= weight && !rc; w++) {
			unsigned v = w < (int)nd ? (unsigned)pgtype_get_be(p + 8 + 2 * w, 2) : 0;
			rc = w == 0 ? buf_printf(out, "%u", v) : buf_printf(out, "%04u", v);
		}
	}
	if (!rc && dscale) {
		rc = buf_putc(out, '.');
		/* fraction: group index i has weight weight - i; first fraction group weight -1 */
		unsigned done = 0;
		for (int64_t w = -1; done < dscale && !rc; w--) {
			int64_t i = (int64_t)weight - w;
			unsigned v = i >= 0 && i < (int64_t)nd ? (unsigned)pgtype_get_be(p + 8 + 2 * i, 2) : 0;
			char q[5];
			snprintf(q, sizeof q, "%04u", v);
			unsigned take = dscale - done < 4 ? dscale - done : 4;
			rc = buf_append(out, q, take);
			done += take;
		}
	}
	return rc;
}

/* ---- floats ----------------------------------------------------------------------- */

/*
 * DuckDB's shortest digits of a float in PostgreSQL's layout: "NaN",
 * "Infinity", "-0", fixed notation for decimal exponents -4 <= x < maxfix,
 * else d[.ddd]e[+-]XX.
 */
static int float_text_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	int maxfix = oid == PG_OID_FLOAT4 ? 6 : 15;
	if (pgtype_ieq(s, n, "nan") || pgtype_ieq(s, n, "-nan"))
		return buf_puts(out, "NaN");
	if (pgtype_ieq(s, n, "inf") || pgtype_ieq(s, n, "infinity"))
		return buf_puts(out, "Infinity");
	if (pgtype_ieq(s, n, "-inf") || pgtype_ieq(s, n, "-infinity"))
		return buf_puts(out, "-Infinity");
	struct dec d;
	if (!parse_dec(s, n, &d) || d.special)
		return pgtype_bad(err, oid, s, n);
	/* significant digits: skip leading zeros (moving the point), drop trailing zeros */
	char sig[64];
	size_t ns = 0;
	int64_t point = d.point;
	bool seen = false;
	for (size_t i = 0; i < d.nd; i++) {
		char c = d.dig[i];
		if (c == '.')
			continue;
		if (!seen && c == '0') {
			point--;
			continue;
		}
		seen = true;
		if (ns == sizeof sig)
			return pgtype_bad(err, oid, s, n);
		sig[ns++] = c;
	}
	while (ns && sig[ns - 1] == '0')
		ns--;
	int rc = d.neg ? buf_putc(out, '-') : 0;
	if (rc)
		return rc;
	if (ns == 0)
		return buf_putc(out, '0');
	int64_t x = point - 1;  /* exponent of the first digit */
	if (x >= -4 && x < maxfix) {
		if (x < 0) {
			rc = buf_puts(out, "0.");
			for (int64_t k = 0; k < -x - 1 && !rc; k++)
				rc = buf_putc(out, '0');
			if (!rc)
				rc = buf_append(out, sig, ns);
		} else if ((int64_t)ns <= x + 1) {
			rc = buf_append(out, sig, ns);
			for (int64_t k = (int64_t)ns; k < x + 1 && !rc; k++)
				rc = buf_putc(out, '0');
		} else {
			rc = buf_append(out, sig, (size_t)(x + 1));
			if (!rc)
				rc = buf_putc(out, '.');
			if (!rc)
				rc = buf_append(out, sig + x + 1, ns - (size_t)(x + 1));
		}
		return rc;
	}
	rc = buf_putc(out, sig[0]);
	if (!rc && ns > 1) {
		rc = buf_putc(out, '.');
		if (!rc)
			rc = buf_append(out, sig + 1, ns - 1);
	}
	if (!rc)
		rc = buf_printf(out, "e%c%02lld", x < 0 ? '-' : '+', (long long)(x < 0 ? -x : x));
	return rc;
}

static int float_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	char tmp[128];
	if (n == 0 || n >= sizeof tmp)
		return pgtype_bad(err, oid, s, n);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end = NULL;
	if (oid == PG_OID_FLOAT4) {
		float f = strtof(tmp, &end);
		if (end != tmp + n)
			return pgtype_bad(err, oid, s, n);
		uint32_t u;
		memcpy(&u, &f, 4);
		return pgtype_put_be(out, u, 4);
	}
	double f = strtod(tmp, &end);
	if (end != tmp + n)
		return pgtype_bad(err, oid, s, n);
	uint64_t u;
	memcpy(&u, &f, 8);
	return pgtype_put_be(out, u, 8);
}

static int float_binary_in(uint32_t oid, const uint8_t *p, size_t n, struct buf *out, char *err)
{
	double v;
	if (oid == PG_OID_FLOAT4) {
		if (n != 4)
			return tn_fail(err, TN_EINVAL, "invalid binary float4: %zu bytes", n);
		uint32_t u = (uint32_t)pgtype_get_be(p, 4);
		float f;
		memcpy(&f, &u, 4);
		v = f;
	} else {
		if (n != 8)
			return tn_fail(err, TN_EINVAL, "invalid binary float8: %zu bytes", n);
		uint64_t u = pgtype_get_be(p, 8);
		memcpy(&v, &u, 8);
	}
	if (isnan(v))
		return buf_puts(out, "NaN");
	if (isinf(v))
		return buf_puts(out, v < 0 ? "-Infinity" : "Infinity");
	return buf_printf(out, oid == PG_OID_FLOAT4 ? "%.9g" : "%.17g", v);
}

/* ---- bytea ---------------------------------------------------------------------- */

/* DuckDB's blob text ("ab\x00\xFF") -> bytes, or as hex (PostgreSQL's text form). */
static int blob_decode(const char *s, size_t n, struct buf *out, bool as_hex, char *err)
{
	static const char hx[] = "0123456789abcdef";
	int rc = as_hex ? buf_puts(out, "\\x") : 0;
	for (size_t i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 3 >= n || (s[i + 1] != 'x' && s[i + 1] != 'X'))
				return pgtype_bad(err, PG_OID_BYTEA, s, n);
			int h1 = hex_digit(s[i + 2]), h2 = hex_digit(s[i + 3]);
			if (h1 < 0 || h2 < 0)
				return pgtype_bad(err, PG_OID_BYTEA, s, n);
			c = (unsigned char)(h1 << 4 | h2);
			i += 3;
		}
		if (as_hex) {
			char two[2] = { hx[c >> 4], hx[c & 15] };
			rc = buf_append(out, two, 2);
		} else {
			rc = buf_putc(out, (char)c);
		}
	}
	return rc;
}

/* Bytes -> DuckDB's blob text: printable ASCII stays, the rest (and \ ' ") as \xHH. */
static int blob_encode(const uint8_t *p, size_t n, struct buf *out)
{
	int rc = buf_grow(out, n);
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' && c != '"')
			rc = buf_putc(out, (char)c);
		else
			rc = buf_printf(out, "\\x%02X", c);
	}
	return rc;
}

/* PostgreSQL's bytea text: "\x" hex (whitespace between pairs allowed) or escape form. */
static int bytea_text_in(const char *s, size_t n, struct buf *out, char *err)
{
	struct buf raw = BUF_INIT(0);
	int rc = 0;
	if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
		for (size_t i = 2; i < n && !rc;) {
			if (isspace((unsigned char)s[i])) {
				i++;
				continue;
			}
			int h1 = hex_digit(s[i]), h2 = i + 1 < n ? hex_digit(s[i + 1]) : -1;
			if (h1 < 0 || h2 < 0) {
				rc = pgtype_bad(err, PG_OID_BYTEA, s, n);
				break;
			}
			rc = buf_putc(&raw, (char)(h1 << 4 | h2));
			i += 2;
		}
	} else {
		for (size_t i = 0; i < n && !rc;) {
			if (s[i] != '\\') {
				rc = buf_putc(&raw, s[i++]);
			} else if (i + 1 < n && s[i + 1] == '\\') {
				rc = buf_putc(&raw, '\\');
				i += 2;
			} else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
				   s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
				/* \ooo: three octal digits */
				rc = buf_putc(&raw, (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
							   (s[i + 3] - '0')));
				i += 4;
			} else {
				rc = pgtype_bad(err, PG_OID_BYTEA, s, n);
			}
		}
	}
	if (!rc)
		rc = blob_encode((const uint8_t *)raw.data, raw.len, out);
	buf_release(&raw);
	return rc;
}

/* ---- uuid ------------------------------------------------------------------------- */

static int uuid_binary_out(const char *s, size_t n, struct buf *out, char *err)
{
	uint8_t u[16];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || (i == 0 && s[i] == '{') || (i == n - 1 && s[i] == '}'))
			continue;
		int h1 = hex_digit(s[i]), h2 = i + 1 < n ? hex_digit(s[i + 1]) : -1;
		if (h1 < 0 || h2 < 0 || k == 16)
			return pgtype_bad(err, PG_OID_UUID, s, n);
		u[k++] = (uint8_t)(h1 << 4 | h2);
		i++;
	}
	if (k != 16)
		return pgtype_bad(err, PG_OID_UUID, s, n);
	return buf_append(out, u, 16);
}

static int uuid_binary_in(const uint8_t *p, size_t n, struct buf *out, char *err)
{
	if (n != 16)
		return tn_fail(err, TN_EINVAL, "invalid binary uuid: %zu bytes", n);
	static const char hx[] = "0123456789abcdef";
	char t[37];
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			t[k++] = '-';
		t[k++] = hx[p[i] >> 4];
		t[k++] = hx[p[i] & 15];
	}
	return buf_append(out, t, k);
}

/* ---- bool ------------------------------------------------------------------------- */

/* PostgreSQL's boolin spellings (unique prefixes of true/false/yes/no, on/off, 1/0). */
static int parse_bool(const char *s, size_t n, bool *v)
{
	pgtype_trim(&s, &n);
	if (n == 0)
		return -1;
	static const char *const yes[] = { "true", "yes" }, *const no[] = { "false", "no" };
	for (int i = 0; i < 2; i++) {
		if (n <= strlen(yes[i]) && !strncasecmp(s, yes[i], n)) {
			*v = true;
			return 0;
		}
		if (n <= strlen(no[i]) && !strncasecmp(s, no[i], n)) {
			*v = false;
			return 0;
		}
	}
	if (pgtype_ieq(s, n, "on") || pgtype_ieq(s, n, "1")) {
		*v = true;
		return 0;
	}
	if (pgtype_ieq(s, n, "off") || pgtype_ieq(s, n, "of") || pgtype_ieq(s, n, "0")) {
		*v = false;
		return 0;
	}
	return -1;
}

/* ---- text out ---------------------------------------------------------------------- */


int pgtype_text_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	size_t start = out->len;
	int rc;
	switch (oid) {
	case PG_OID_BOOL:
		if (pgtype_ieq(s, n, "true"))
			rc = buf_putc(out, 't');
		else if (pgtype_ieq(s, n, "false"))
			rc = buf_putc(out, 'f');
		else
			rc = pgtype_bad(err, oid, s, n);
		break;
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		rc = float_text_out(oid, s, n, out, err);
		break;
	case PG_OID_BYTEA:
		rc = blob_decode(s, n, out, true, err);
		break;
	case PG_OID_DATE:
	case PG_OID_TIME:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
	case PG_OID_INTERVAL:
		rc = pgtime_text_out(oid, s, n, out, err);
		break;
	default:
		rc = buf_append(out, s, n);
		break;
	}
	if (rc) {
		buf_truncate(out, start);
		if (rc == TN_ETOOBIG)
			tn_fail(err, rc, "value of type %s: past the buffer's cap",
				pgtype_name(oid) ? pgtype_name(oid) : "unknown");
	}
	return rc;
}

/* ---- binary out -------------------------------------------------------------------- */

static int int_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	int bytes = oid == PG_OID_INT2 ? 2 : oid == PG_OID_INT4 ? 4 : 8;
	int64_t lo = bytes == 2 ? INT16_MIN : bytes == 4 ? INT32_MIN : INT64_MIN;
	int64_t hi = bytes == 2 ? INT16_MAX : bytes == 4 ? INT32_MAX : INT64_MAX;
	int64_t v;
	if (!parse_int(s, n, lo, hi, &v))
		return pgtype_bad(err, oid, s, n);
	return pgtype_put_be(out, (uint64_t)v, bytes);
}


int pgtype_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	size_t start = out->len;
	int rc;
	switch (oid) {
	case PG_OID_BOOL:
		if (pgtype_ieq(s, n, "true") || pgtype_ieq(s, n, "t"))
			rc = buf_putc(out, 1);
		else if (pgtype_ieq(s, n, "false") || pgtype_ieq(s, n, "f"))
			rc = buf_putc(out, 0);
		else
			rc = pgtype_bad(err, oid, s, n);
		break;
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
		rc = int_binary_out(oid, s, n, out, err);
		break;
	case PG_OID_OID: {
		int64_t v;
		rc = parse_int(s, n, 0, UINT32_MAX, &v) ? pgtype_put_be(out, (uint64_t)v, 4)
							: pgtype_bad(err, oid, s, n);
		break;
	}
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		rc = float_binary_out(oid, s, n, out, err);
		break;
	case PG_OID_NUMERIC:
		rc = numeric_binary_out(s, n, out, err);
		break;
	case PG_OID_BYTEA:
		rc = blob_decode(s, n, out, false, err);
		break;
	case PG_OID_DATE:
	case PG_OID_TIME:
	case PG_OID_TIMETZ:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
	case PG_OID_INTERVAL:
		rc = pgtime_binary_out(oid, s, n, out, err);
		break;
	case PG_OID_UUID:
		rc = uuid_binary_out(s, n, out, err);
		break;
	case PG_OID_JSONB:
		rc = buf_putc(out, 1);  /* jsonb's binary version byte */
		if (!rc)
			rc = buf_append(out, s, n);
		break;
	case PG_OID_CHAR:
		rc = buf_append(out, s, n ? 1 : 0);
		break;
	default:  /* text, varchar, bpchar, name, json, unknown: the bytes */
		rc = buf_append(out, s, n);
		break;
	}
	if (rc) {
		buf_truncate(out, start);
		if (rc == TN_ETOOBIG)
			tn_fail(err, rc, "value of type %s: past the buffer's cap",
				pgtype_name(oid) ? pgtype_name(oid) : "unknown");
	}
	return rc;
}

/* ---- binary in ---------------------------------------------------------------------- */

static int want_len(uint32_t oid, size_t n, size_t want, char *err)
{
	if (n != want)
		return tn_fail(err, TN_EINVAL, "invalid binary %s: %zu bytes, expected %zu",
			       pgtype_name(oid), n, want);
	return 0;
}

static int binary_in(uint32_t oid, const uint8_t *p, size_t n, struct buf *out, char *err)
{
	int rc;
	switch (oid) {
	case PG_OID_BOOL:
		if ((rc = want_len(oid, n, 1, err)))
			return rc;
		return buf_puts(out, p[0] ? "true" : "false");
	case PG_OID_INT2:
		if ((rc = want_len(oid, n, 2, err)))
			return rc;
		return buf_printf(out, "%d", (int16_t)pgtype_get_be(p, 2));
	case PG_OID_INT4:
		if ((rc = want_len(oid, n, 4, err)))
			return rc;
		return buf_printf(out, "%d", (int32_t)pgtype_get_be(p, 4));
	case PG_OID_INT8:
		if ((rc = want_len(oid, n, 8, err)))
			return rc;
		return buf_printf(out, "%lld", (long long)(int64_t)pgtype_get_be(p, 8));
	case PG_OID_OID:
		if ((rc = want_len(oid, n, 4, err)))
			return rc;
		return buf_printf(out, "%u", (uint32_t)pgtype_get_be(p, 4));
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		return float_binary_in(oid, p, n, out, err);
	case PG_OID_NUMERIC:
		return numeric_binary_in(p, n, out, err);
	case PG_OID_BYTEA:
		return blob_encode(p, n, out);
	case PG_OID_DATE:
	case PG_OID_TIME:
	case PG_OID_TIMETZ:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
	case PG_OID_INTERVAL:
		return pgtime_binary_in(oid, p, n, out, err);
	case PG_OID_UUID:
		return uuid_binary_in(p, n, out, err);
	case PG_OID_JSONB:
		if (n < 1 || p[0] != 1)
			return tn_fail(err, TN_EINVAL, "unsupported jsonb version number %d",
				       n ? p[0] : -1);
		p++;
		n--;
		/* fall through: the rest is JSON text */
		/* FALLTHRU */
	case PG_OID_TEXT:
	case PG_OID_VARCHAR:
	case PG_OID_BPCHAR:
	case PG_OID_NAME:
	case PG_OID_JSON:
	case PG_OID_UNKNOWN:
	case PG_OID_CHAR:
	case 0:
		if (memchr(p, 0, n) || !utf8_valid((const char *)p, n))
			return tn_fail(err, TN_EINVAL,
				       "invalid byte sequence for encoding \"UTF8\" in a %s parameter",
				       oid ? pgtype_name(oid) : "text");
		return buf_append(out, p, n);
	default:
		return tn_fail(err, TN_EUNSUPPORTED, "no binary input function for type %u", oid);
	}
}

int pgtype_binary_in(uint32_t oid, const void *p, size_t n, struct buf *out, char *err)
{
	size_t start = out->len;
	int rc = binary_in(oid, p, n, out, err);
	if (rc) {
		buf_truncate(out, start);
		if (rc == TN_ETOOBIG)
			tn_fail(err, rc, "parameter of type %u: past the buffer's cap", oid);
	}
	return rc;
}

/* ---- text in ------------------------------------------------------------------------ */

static int text_in(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	switch (oid) {
	case PG_OID_BOOL: {
		bool v;
		if (parse_bool(s, n, &v))
			return pgtype_bad(err, oid, s, n);
		return buf_puts(out, v ? "true" : "false");
	}
	case PG_OID_BYTEA:
		return bytea_text_in(s, n, out, err);
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
	case PG_OID_INTERVAL:
		return pgtime_text_in(oid, s, n, out, err);
	default:
		return buf_append(out, s, n);
	}
}

int pgtype_text_in(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	size_t start = out->len;
	int rc = text_in(oid, s, n, out, err);
	if (rc) {
		buf_truncate(out, start);
		if (rc == TN_ETOOBIG)
			tn_fail(err, rc, "parameter of type %u: past the buffer's cap", oid);
	}
	return rc;
}
