/*
 * test_pgtypes.c - PostgreSQL type mapping and value conversions
 * (src/pg/types.c): binary encoders against hand-computed bytes, text
 * forms against what PostgreSQL prints, and parameter round trips
 * (binary form -> DuckDB text -> binary form).
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "pg/types.h"
#include "core/banned.h"

/* Binary output of a DuckDB text value, as lowercase hex. */
static char *bin(uint32_t oid, const char *text)
{
	static char hex[4096];
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	int rc = pgtype_binary_out(oid, text, strlen(text), &b, err);
	if (rc) {
		fprintf(stderr, "binary_out(%u, '%s'): %s\n", oid, text, err);
		buf_release(&b);
		return NULL;
	}
	CHECK(b.len * 2 < sizeof hex);
	hex_encode(b.data, b.len, hex);
	buf_release(&b);
	return hex;
}

static char *txt(uint32_t oid, const char *text)
{
	static char out[4096];
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	int rc = pgtype_text_out(oid, text, strlen(text), &b, err);
	if (rc) {
		fprintf(stderr, "text_out(%u, '%s'): %s\n", oid, text, err);
		buf_release(&b);
		return NULL;
	}
	snprintf(out, sizeof out, "%s", b.data);
	buf_release(&b);
	return out;
}

/* Binary parameter (given as hex) -> DuckDB text. */
static char *bin_in(uint32_t oid, const char *hexs)
{
	static char out[4096];
	uint8_t raw[1024];
	size_t n = 0;
	CHECK_INT(hex_decode(hexs, strlen(hexs), raw, sizeof raw, &n), 0);
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	int rc = pgtype_binary_in(oid, raw, n, &b, err);
	if (rc) {
		fprintf(stderr, "binary_in(%u, %s): %s\n", oid, hexs, err);
		buf_release(&b);
		return NULL;
	}
	snprintf(out, sizeof out, "%s", b.data);
	buf_release(&b);
	return out;
}

static char *txt_in(uint32_t oid, const char *text)
{
	static char out[4096];
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	int rc = pgtype_text_in(oid, text, strlen(text), &b, err);
	if (rc) {
		fprintf(stderr, "text_in(%u, '%s'): %s\n", oid, text, err);
		buf_release(&b);
		return NULL;
	}
	snprintf(out, sizeof out, "%s", b.data);
	buf_release(&b);
	return out;
}

/* The conversion fails with TN_EINVAL and leaves out untouched. */
static void refused(uint32_t oid, const char *text)
{
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "keep");
	char err[TN_ERRLEN] = "";
	CHECK_INT(pgtype_binary_out(oid, text, strlen(text), &b, err), TN_EINVAL);
	CHECK(err[0] != '\0');
	CHECK_STR(b.data, "keep");
	buf_release(&b);
}

TEST(pgtypes_map_duckdb_names)
{
	struct pg_typeinfo t;
	pgtype_from_duckdb_name("INTEGER", &t);
	CHECK_INT(t.oid, 23);
	CHECK_INT(t.typlen, 4);
	CHECK_INT(t.typmod, -1);
	pgtype_from_duckdb_name("BIGINT", &t);
	CHECK_INT(t.oid, 20);
	pgtype_from_duckdb_name("SMALLINT", &t);
	CHECK_INT(t.oid, 21);
	pgtype_from_duckdb_name("TINYINT", &t);
	CHECK_INT(t.oid, 21);
	pgtype_from_duckdb_name("UBIGINT", &t);
	CHECK_INT(t.oid, 1700);
	pgtype_from_duckdb_name("HUGEINT", &t);
	CHECK_INT(t.oid, 1700);
	pgtype_from_duckdb_name("DOUBLE", &t);
	CHECK_INT(t.oid, 701);
	CHECK_INT(t.typlen, 8);
	pgtype_from_duckdb_name("FLOAT", &t);
	CHECK_INT(t.oid, 700);
	pgtype_from_duckdb_name("DECIMAL(18,3)", &t);
	CHECK_INT(t.oid, 1700);
	CHECK_INT(t.typlen, -1);
	CHECK_INT(t.typmod, (18 << 16 | 3) + 4);
	pgtype_from_duckdb_name("BOOLEAN", &t);
	CHECK_INT(t.oid, 16);
	CHECK_INT(t.typlen, 1);
	pgtype_from_duckdb_name("VARCHAR", &t);
	CHECK_INT(t.oid, 1043);
	pgtype_from_duckdb_name("BLOB", &t);
	CHECK_INT(t.oid, 17);
	pgtype_from_duckdb_name("DATE", &t);
	CHECK_INT(t.oid, 1082);
	pgtype_from_duckdb_name("TIME", &t);
	CHECK_INT(t.oid, 1083);
	pgtype_from_duckdb_name("TIMESTAMP", &t);
	CHECK_INT(t.oid, 1114);
	pgtype_from_duckdb_name("TIMESTAMP_NS", &t);
	CHECK_INT(t.oid, 1114);
	pgtype_from_duckdb_name("TIMESTAMP WITH TIME ZONE", &t);
	CHECK_INT(t.oid, 1184);
	pgtype_from_duckdb_name("TIME WITH TIME ZONE", &t);
	CHECK_INT(t.oid, 1266);
	CHECK_INT(t.typlen, 12);
	pgtype_from_duckdb_name("INTERVAL", &t);
	CHECK_INT(t.oid, 1186);
	CHECK_INT(t.typlen, 16);
	pgtype_from_duckdb_name("UUID", &t);
	CHECK_INT(t.oid, 2950);
	pgtype_from_duckdb_name("JSON", &t);
	CHECK_INT(t.oid, 114);
	pgtype_from_duckdb_name("STRUCT(a INTEGER)", &t);
	CHECK_INT(t.oid, 114);
	pgtype_from_duckdb_name("INTEGER[]", &t);
	CHECK_INT(t.oid, 114);
	pgtype_from_duckdb_name("LIST", &t);
	CHECK_INT(t.oid, 114);
	pgtype_from_duckdb_name("something new", &t);
	CHECK_INT(t.oid, 25);
	pgtype_from_duckdb_name(NULL, &t);
	CHECK_INT(t.oid, 25);

	/* by DUCKDB_TYPE_* id: INTEGER 4, DECIMAL 19, TIMESTAMP_TZ 31, UUID 27 */
	pgtype_from_duckdb_id(4, 0, 0, &t);
	CHECK_INT(t.oid, 23);
	pgtype_from_duckdb_id(19, 10, 4, &t);
	CHECK_INT(t.oid, 1700);
	CHECK_INT(t.typmod, (10 << 16 | 4) + 4);
	pgtype_from_duckdb_id(31, 0, 0, &t);
	CHECK_INT(t.oid, 1184);
	pgtype_from_duckdb_id(27, 0, 0, &t);
	CHECK_INT(t.oid, 2950);
	pgtype_from_duckdb_id(999, 0, 0, &t);
	CHECK_INT(t.oid, 25);

	CHECK_STR(pgtype_name(1184), "timestamptz");
	CHECK(pgtype_name(12345) == NULL);
	CHECK_STR(pgtype_duckdb_name(1114), "TIMESTAMP");
	CHECK(pgtype_duckdb_name(25) == NULL);
	CHECK(pgtype_has_binary(1700));
	CHECK(!pgtype_has_binary(12345));
	CHECK(pgtype_text_is_copy(23));
	CHECK(!pgtype_text_is_copy(16));
}

TEST(pgtypes_ints_and_bool)
{
	CHECK_STR(bin(PG_OID_INT2, "-2"), "fffe");
	CHECK_STR(bin(PG_OID_INT4, "1"), "00000001");
	CHECK_STR(bin(PG_OID_INT4, "-2147483648"), "80000000");
	CHECK_STR(bin(PG_OID_INT8, "9223372036854775807"), "7fffffffffffffff");
	CHECK_STR(bin(PG_OID_INT8, "-9223372036854775808"), "8000000000000000");
	CHECK_STR(bin(PG_OID_OID, "4294967295"), "ffffffff");
	refused(PG_OID_INT2, "32768");
	refused(PG_OID_INT4, "2147483648");
	refused(PG_OID_INT8, "9223372036854775808");
	refused(PG_OID_INT4, "12a");
	refused(PG_OID_INT4, "");
	refused(PG_OID_INT4, "-");
	CHECK_STR(bin(PG_OID_BOOL, "true"), "01");
	CHECK_STR(bin(PG_OID_BOOL, "false"), "00");
	refused(PG_OID_BOOL, "maybe");
	CHECK_STR(txt(PG_OID_BOOL, "true"), "t");
	CHECK_STR(txt(PG_OID_BOOL, "false"), "f");
	CHECK_STR(txt(PG_OID_INT4, "42"), "42");

	CHECK_STR(bin_in(PG_OID_INT2, "fffe"), "-2");
	CHECK_STR(bin_in(PG_OID_INT4, "80000000"), "-2147483648");
	CHECK_STR(bin_in(PG_OID_INT8, "7fffffffffffffff"), "9223372036854775807");
	CHECK_STR(bin_in(PG_OID_BOOL, "01"), "true");
	CHECK_STR(bin_in(PG_OID_BOOL, "00"), "false");
	CHECK_STR(bin_in(PG_OID_OID, "ffffffff"), "4294967295");
	CHECK(bin_in(PG_OID_INT4, "000001") == NULL);  /* 3 bytes for an int4 */
	CHECK(bin_in(PG_OID_BOOL, "") == NULL);
	CHECK_STR(txt_in(PG_OID_BOOL, "t"), "true");
	CHECK_STR(txt_in(PG_OID_BOOL, " Yes "), "true");
	CHECK_STR(txt_in(PG_OID_BOOL, "off"), "false");
	CHECK_STR(txt_in(PG_OID_BOOL, "0"), "false");
	CHECK(txt_in(PG_OID_BOOL, "o") == NULL);  /* on or off: ambiguous */
}

TEST(pgtypes_floats)
{
	CHECK_STR(bin(PG_OID_FLOAT8, "1.5"), "3ff8000000000000");
	CHECK_STR(bin(PG_OID_FLOAT8, "0.1"), "3fb999999999999a");
	CHECK_STR(bin(PG_OID_FLOAT4, "1.5"), "3fc00000");
	CHECK_STR(bin(PG_OID_FLOAT8, "-0.0"), "8000000000000000");
	CHECK_STR(bin(PG_OID_FLOAT8, "inf"), "7ff0000000000000");
	CHECK_STR(bin(PG_OID_FLOAT8, "-inf"), "fff0000000000000");
	CHECK(strncmp(bin(PG_OID_FLOAT8, "nan"), "7ff8", 4) == 0);
	refused(PG_OID_FLOAT8, "1.5x");
	/* PostgreSQL's layout of DuckDB's shortest digits */
	CHECK_STR(txt(PG_OID_FLOAT8, "1.5"), "1.5");
	CHECK_STR(txt(PG_OID_FLOAT8, "100.0"), "100");
	CHECK_STR(txt(PG_OID_FLOAT8, "123456789012.0"), "123456789012");
	CHECK_STR(txt(PG_OID_FLOAT8, "1000000000000000.0"), "1e+15");
	CHECK_STR(txt(PG_OID_FLOAT8, "1e+16"), "1e+16");
	CHECK_STR(txt(PG_OID_FLOAT8, "1e+300"), "1e+300");
	CHECK_STR(txt(PG_OID_FLOAT8, "0.0001"), "0.0001");
	CHECK_STR(txt(PG_OID_FLOAT8, "1e-05"), "1e-05");
	CHECK_STR(txt(PG_OID_FLOAT8, "-1.25e+21"), "-1.25e+21");
	CHECK_STR(txt(PG_OID_FLOAT8, "1.7976931348623157e+308"), "1.7976931348623157e+308");
	CHECK_STR(txt(PG_OID_FLOAT8, "-0.0"), "-0");
	CHECK_STR(txt(PG_OID_FLOAT8, "0.0"), "0");
	CHECK_STR(txt(PG_OID_FLOAT8, "nan"), "NaN");
	CHECK_STR(txt(PG_OID_FLOAT8, "inf"), "Infinity");
	CHECK_STR(txt(PG_OID_FLOAT8, "-inf"), "-Infinity");
	CHECK_STR(txt(PG_OID_FLOAT4, "1000000.0"), "1e+06");
	CHECK_STR(txt(PG_OID_FLOAT4, "100000.0"), "100000");
	CHECK_STR(txt(PG_OID_FLOAT4, "1.25e-07"), "1.25e-07");
	CHECK_STR(txt(PG_OID_FLOAT4, "3.4e+38"), "3.4e+38");
	/* parameters: exact round trips */
	CHECK_STR(bin_in(PG_OID_FLOAT8, "3fb999999999999a"), "0.10000000000000001");
	CHECK_STR(bin(PG_OID_FLOAT8, bin_in(PG_OID_FLOAT8, "3fb999999999999a")), "3fb999999999999a");
	CHECK_STR(bin(PG_OID_FLOAT4, bin_in(PG_OID_FLOAT4, "3dcccccd")), "3dcccccd");
	CHECK_STR(bin_in(PG_OID_FLOAT8, "7ff8000000000000"), "NaN");
	CHECK_STR(bin_in(PG_OID_FLOAT8, "fff0000000000000"), "-Infinity");
	CHECK_STR(bin_in(PG_OID_FLOAT4, "7f800000"), "Infinity");
}

TEST(pgtypes_numeric_binary)
{
	/* ndigits, weight, sign, dscale, base-10000 digits */
	CHECK_STR(bin(PG_OID_NUMERIC, "0"), "0000000000000000");
	CHECK_STR(bin(PG_OID_NUMERIC, "0.00"), "0000000000000002");
	CHECK_STR(bin(PG_OID_NUMERIC, "-0.00"), "0000000000000002");
	CHECK_STR(bin(PG_OID_NUMERIC, "-1.5"), "000200004000000100011388");
	CHECK_STR(bin(PG_OID_NUMERIC, "12345.6789"), "0003000100000004000109291a85");
	CHECK_STR(bin(PG_OID_NUMERIC, "0.0000000001"), "0001fffd0000000a0064");
	CHECK_STR(bin(PG_OID_NUMERIC, "1.5e-10"), "0001fffd0000000b0096");
	CHECK_STR(bin(PG_OID_NUMERIC, "-0.05"), "0001ffff4000000201f4");
	CHECK_STR(bin(PG_OID_NUMERIC, "10000"), "0001000100000000" "0001");
	CHECK_STR(bin(PG_OID_NUMERIC, "170141183460469231731687303715884105727"),
		  "000a000900000000" "00aa0583209a01d5090d0c601c871bf620da165f");
	CHECK_STR(bin(PG_OID_NUMERIC, "NaN"), "00000000c0000000");
	CHECK_STR(bin(PG_OID_NUMERIC, "Infinity"), "00000000d0000020");   /* as PostgreSQL 15 sends */
	CHECK_STR(bin(PG_OID_NUMERIC, "-Infinity"), "00000000f0000020");
	refused(PG_OID_NUMERIC, "1.2.3");
	refused(PG_OID_NUMERIC, "");
	refused(PG_OID_NUMERIC, "-");
	refused(PG_OID_NUMERIC, "1e");
	CHECK_STR(txt(PG_OID_NUMERIC, "12345.6789"), "12345.6789");

	/* binary parameters -> text, and back */
	CHECK_STR(bin_in(PG_OID_NUMERIC, "0003000100000004000109291a85"), "12345.6789");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "000200004000000100011388"), "-1.5");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "0001fffd0000000a0064"), "0.0000000001");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "0000000000000002"), "0.00");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "0001000100000000" "0001"), "10000");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "00000000c0000000"), "NaN");
	CHECK_STR(bin_in(PG_OID_NUMERIC, "0001ffff4000000201f4"), "-0.05");
	/* a dscale shorter than the digits given truncates, as numeric_out shows */
	CHECK_STR(bin_in(PG_OID_NUMERIC, "000200000000000000011388"), "1");
	CHECK(bin_in(PG_OID_NUMERIC, "00010000000000002710") == NULL);  /* digit 10000 */
	CHECK(bin_in(PG_OID_NUMERIC, "0003000000000000") == NULL);     /* 3 digits, none sent */
	CHECK(bin_in(PG_OID_NUMERIC, "00000000") == NULL);             /* short header */
	CHECK(bin_in(PG_OID_NUMERIC, "0000000080000000") == NULL);     /* bad sign */
	const char *rt[] = { "0", "1", "-1", "9999", "10000", "0.5", "123456789.000000001",
			     "-98765.4321", "1000000000000000000000000000000", "0.00012" };
	for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
		char h[256];
		snprintf(h, sizeof h, "%s", bin(PG_OID_NUMERIC, rt[i]));
		CHECK_STR(bin_in(PG_OID_NUMERIC, h), rt[i]);
	}
}

TEST(pgtypes_dates)
{
	CHECK_STR(bin(PG_OID_DATE, "2000-01-01"), "00000000");
	CHECK_STR(bin(PG_OID_DATE, "1999-12-31"), "ffffffff");
	CHECK_STR(bin(PG_OID_DATE, "1999-01-01"), "fffffe93");       /* -365 */
	CHECK_STR(bin(PG_OID_DATE, "2000-03-01"), "0000003c");       /* 2000 is a leap year: 60 */
	CHECK_STR(bin(PG_OID_DATE, "0001-01-01"), "fff4dbf9");       /* -730119 */
	CHECK_STR(bin(PG_OID_DATE, "0001-12-31 (BC)"), "fff4dbf8"); /* the day before */
	CHECK_STR(bin(PG_OID_DATE, "0001-01-01 (BC)"), "fff4da8b"); /* 1 BC is a leap year: -730485 */
	CHECK_STR(bin(PG_OID_DATE, "infinity"), "7fffffff");
	CHECK_STR(bin(PG_OID_DATE, "-infinity"), "80000000");
	refused(PG_OID_DATE, "2001-02-29");
	refused(PG_OID_DATE, "2000-13-01");
	refused(PG_OID_DATE, "2000-01-01 00:00:00");
	refused(PG_OID_DATE, "0000-01-01");
	CHECK_STR(txt(PG_OID_DATE, "2026-11-22"), "2026-11-22");
	CHECK_STR(txt(PG_OID_DATE, "0045-03-15 (BC)"), "0045-03-15 BC");
	CHECK_STR(txt(PG_OID_DATE, "infinity"), "infinity");

	CHECK_STR(bin_in(PG_OID_DATE, "fffffe93"), "1999-01-01");
	CHECK_STR(bin_in(PG_OID_DATE, "fff4da8b"), "0001-01-01 (BC)");
	CHECK_STR(bin_in(PG_OID_DATE, "7fffffff"), "infinity");
	CHECK_STR(bin_in(PG_OID_DATE, "00000000"), "2000-01-01");
	CHECK_STR(bin_in(PG_OID_DATE, "ffda97a7"), "4714-11-24 (BC)");  /* the first valid day */
	CHECK(bin_in(PG_OID_DATE, "ffda97a6") == NULL);
	CHECK(bin_in(PG_OID_DATE, "7fda970d") == NULL);                 /* past 5874897-12-31 */
	CHECK_STR(txt_in(PG_OID_DATE, "0045-03-15 BC"), "0045-03-15 (BC)");
	CHECK_STR(txt_in(PG_OID_DATE, "2026-11-22"), "2026-11-22");
	/* every day of 400 years round-trips through binary */
	for (int32_t d = -80000; d < 80000; d += 7) {
		char h[9];
		snprintf(h, sizeof h, "%08x", (uint32_t)d);
		CHECK_STR(bin(PG_OID_DATE, bin_in(PG_OID_DATE, h)), h);
	}
}

TEST(pgtypes_timestamps)
{
	CHECK_STR(bin(PG_OID_TIMESTAMP, "2000-01-01 00:00:00"), "0000000000000000");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "2026-11-22 05:40:39.123"), "000303d5af998438");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "1970-01-01 00:00:00"), "fffca2fec4c82000");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "1999-12-31 23:59:59.999999"), "ffffffffffffffff");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "2026-11-22 05:40:39.123456789"), "000303d5af998600");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "infinity"), "7fffffffffffffff");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "-infinity"), "8000000000000000");
	CHECK_STR(bin(PG_OID_TIMESTAMPTZ, "2026-11-22 05:40:39.123+00"), "000303d5af998438");
	CHECK_STR(bin(PG_OID_TIMESTAMPTZ, "2026-11-22 11:10:39.123+05:30"), "000303d5af998438");
	CHECK_STR(bin(PG_OID_TIMESTAMPTZ, "2026-11-22 02:10:39.123-03:30"), "000303d5af998438");
	CHECK_STR(bin(PG_OID_TIMESTAMP, "0045-03-15 (BC) 01:02:03"),
		  bin(PG_OID_TIMESTAMP, "0045-03-15 01:02:03 BC"));
	refused(PG_OID_TIMESTAMP, "2026-11-22 25:00:00");
	refused(PG_OID_TIMESTAMP, "2026-11-22 05:60:00");
	refused(PG_OID_TIMESTAMP, "2026-11-22 05:40:39.");
	refused(PG_OID_TIMESTAMP, "2026-11-22x05:40:39");
	CHECK_STR(txt(PG_OID_TIMESTAMP, "2026-11-22 05:40:39.123"), "2026-11-22 05:40:39.123");
	CHECK_STR(txt(PG_OID_TIMESTAMP, "2026-11-22 05:40:39.123456789"), "2026-11-22 05:40:39.123456");
	CHECK_STR(txt(PG_OID_TIMESTAMP, "0045-03-15 (BC) 01:02:03"), "0045-03-15 01:02:03 BC");
	CHECK_STR(txt(PG_OID_TIMESTAMPTZ, "0045-03-15 (BC) 00:00:00+00"), "0045-03-15 00:00:00+00 BC");
	CHECK_STR(txt(PG_OID_TIMESTAMPTZ, "2026-11-22 11:10:39.123+05:30"),
		  "2026-11-22 11:10:39.123+05:30");

	CHECK_STR(bin_in(PG_OID_TIMESTAMP, "000303d5af998438"), "2026-11-22 05:40:39.123");
	CHECK_STR(bin_in(PG_OID_TIMESTAMP, "ffffffffffffffff"), "1999-12-31 23:59:59.999999");
	CHECK_STR(bin_in(PG_OID_TIMESTAMP, "0000000000000000"), "2000-01-01 00:00:00");
	CHECK_STR(bin_in(PG_OID_TIMESTAMPTZ, "000303d5af998438"), "2026-11-22 05:40:39.123+00");
	CHECK_STR(bin_in(PG_OID_TIMESTAMP, "7fffffffffffffff"), "infinity");
	/* PostgreSQL's range: 4714-11-24 BC to 294276-12-31, as timestamp_recv checks */
	CHECK_STR(bin_in(PG_OID_TIMESTAMP, "fd0f7cc1411fa000"), "4714-11-24 (BC) 00:00:00");
	CHECK(bin_in(PG_OID_TIMESTAMP, "fd0f7cc1411f9fff") == NULL);
	CHECK(bin_in(PG_OID_TIMESTAMP, "8000000000000001") == NULL);
	CHECK(bin_in(PG_OID_TIMESTAMPTZ, "7fffff5bb3b2a000") == NULL);
	CHECK_STR(bin_in(PG_OID_TIMESTAMPTZ, "7fffff5bb3b29fff"), "294276-12-31 23:59:59.999999+00");
	CHECK_STR(bin_in(PG_OID_TIMESTAMP, bin(PG_OID_TIMESTAMP, "0045-03-15 (BC) 01:02:03")),
		  "0045-03-15 (BC) 01:02:03");
	CHECK_STR(txt_in(PG_OID_TIMESTAMP, "0045-03-15 01:02:03 BC"), "0045-03-15 (BC) 01:02:03");
	CHECK_STR(txt_in(PG_OID_TIMESTAMPTZ, "0045-03-15 01:02:03+02 BC"),
		  "0045-03-15 (BC) 01:02:03+02");
	CHECK_STR(txt_in(PG_OID_TIMESTAMPTZ, "2026-11-22 05:40:39+02"), "2026-11-22 05:40:39+02");
}

TEST(pgtypes_times)
{
	CHECK_STR(bin(PG_OID_TIME, "00:00:00"), "0000000000000000");
	CHECK_STR(bin(PG_OID_TIME, "05:40:39.5"), "00000004c24a04e0");
	CHECK_STR(bin(PG_OID_TIME, "24:00:00"), "000000141dd76000");
	refused(PG_OID_TIME, "24:00:01");
	refused(PG_OID_TIME, "05:40:39+02");
	/* timetz: µs of the day, then the zone in seconds west of UTC */
	CHECK_STR(bin(PG_OID_TIMETZ, "05:40:39.5+02"), "00000004c24a04e0ffffe3e0");
	CHECK_STR(bin(PG_OID_TIMETZ, "05:40:39.5-05:30"), "00000004c24a04e000004d58");
	CHECK_STR(txt(PG_OID_TIME, "05:40:39.5"), "05:40:39.5");
	CHECK_STR(txt(PG_OID_TIME, "01:02:03.123456789"), "01:02:03.123456");
	CHECK_STR(bin_in(PG_OID_TIME, "00000004c24a04e0"), "05:40:39.5");
	CHECK_STR(bin_in(PG_OID_TIMETZ, "00000004c24a04e0ffffe3e0"), "05:40:39.5+02");
	CHECK_STR(bin_in(PG_OID_TIMETZ, "00000004c24a04e000004d58"), "05:40:39.5-05:30");
	CHECK(bin_in(PG_OID_TIME, "000000141dd76001") == NULL);  /* past 24:00 */
}

TEST(pgtypes_intervals)
{
	/* µs int64, days int32, months int32 */
	CHECK_STR(bin(PG_OID_INTERVAL, "1 year 2 months 3 days 04:05:06.5"),
		  "000000036c9361a0000000030000000e");
	CHECK_STR(bin(PG_OID_INTERVAL, "-1 year -2 months 3 days -00:00:01.5"),
		  "ffffffffffe91ca000000003fffffff2");
	CHECK_STR(bin(PG_OID_INTERVAL, "00:00:00"), "00000000000000000000000000000000");
	CHECK_STR(bin(PG_OID_INTERVAL, "-2562047788:00:54.775807"),
		  "8000000000000001" "00000000" "00000000");
	refused(PG_OID_INTERVAL, "1 fortnight");
	refused(PG_OID_INTERVAL, "");
	/* DuckDB's text -> PostgreSQL's 'postgres' style */
	CHECK_STR(txt(PG_OID_INTERVAL, "1 day 02:03:04"), "1 day 02:03:04");
	CHECK_STR(txt(PG_OID_INTERVAL, "1 year 2 months 3 days"), "1 year 2 mons 3 days");
	CHECK_STR(txt(PG_OID_INTERVAL, "-1 year -2 months 3 days"), "-1 years -2 mons +3 days");
	CHECK_STR(txt(PG_OID_INTERVAL, "-1 day 00:00:01.5"), "-1 days +00:00:01.5");
	CHECK_STR(txt(PG_OID_INTERVAL, "1 day -00:00:01"), "1 day -00:00:01");
	CHECK_STR(txt(PG_OID_INTERVAL, "-00:00:01"), "-00:00:01");
	CHECK_STR(txt(PG_OID_INTERVAL, "00:00:00"), "00:00:00");
	CHECK_STR(txt(PG_OID_INTERVAL, "25:00:00"), "25:00:00");
	CHECK_STR(txt(PG_OID_INTERVAL, "1 month"), "1 mon");
	CHECK_STR(txt(PG_OID_INTERVAL, "00:00:00.000001"), "00:00:00.000001");
	/* parameters */
	CHECK_STR(bin_in(PG_OID_INTERVAL, "ffffffffffe91ca000000003fffffff2"),
		  "-14 months 3 days -1500000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "1 year 2 mons -3 days +04:05:06.5"),
		  "14 months -3 days 14706500000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "0 years 0 mons 1 days 0 hours 0 mins 1.5 secs"),
		  "0 months 1 days 1500000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "@ 2 days 3 hours ago"),
		  "0 months -2 days -10800000000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "1.5 days"), "0 months 1 days 43200000000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "90"), "0 months 0 days 90000000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "0.5 weeks"), "0 months 3 days 43200000000 microseconds");
	CHECK_STR(txt_in(PG_OID_INTERVAL, "-0.5 months"), "0 months -15 days 0 microseconds");
	CHECK(txt_in(PG_OID_INTERVAL, "1 day 25:61:00") == NULL);
	/* binary -> DuckDB text -> binary */
	const char *rt[] = { "000000036c9361a0000000030000000e", "ffffffffffe91ca000000003fffffff2",
			     "00000000000000010000000000000000", "7fffffffffffffff7fffffff80000000" };
	for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
		char t[256];
		snprintf(t, sizeof t, "%s", bin_in(PG_OID_INTERVAL, rt[i]));
		CHECK_STR(bin(PG_OID_INTERVAL, t), rt[i]);
	}
}

TEST(pgtypes_bytea_uuid_text)
{
	/* DuckDB's blob text: printable bytes as is, the rest \xHH */
	CHECK_STR(bin(PG_OID_BYTEA, "\\xAA\\x00ab"), "aa006162");
	CHECK_STR(bin(PG_OID_BYTEA, ""), "");
	CHECK_STR(txt(PG_OID_BYTEA, "\\xAA\\x00ab"), "\\xaa006162");
	CHECK_STR(txt(PG_OID_BYTEA, "a\\x5Cb"), "\\x615c62");
	refused(PG_OID_BYTEA, "\\x4");
	refused(PG_OID_BYTEA, "\\q00");
	CHECK_STR(bin_in(PG_OID_BYTEA, "aa00615c27224e"), "\\xAA\\x00a\\x5C\\x27\\x22N");
	CHECK_STR(txt_in(PG_OID_BYTEA, "\\xdeadbeef"), "\\xDE\\xAD\\xBE\\xEF");
	CHECK_STR(txt_in(PG_OID_BYTEA, "\\x41 42"), "AB");
	CHECK_STR(txt_in(PG_OID_BYTEA, "a\\\\b\\001"), "a\\x5Cb\\x01");
	CHECK(txt_in(PG_OID_BYTEA, "\\xabc") == NULL);
	CHECK(txt_in(PG_OID_BYTEA, "a\\9") == NULL);

	CHECK_STR(bin(PG_OID_UUID, "4992d429-36a1-49a9-8d43-4be80d0945f9"),
		  "4992d42936a149a98d434be80d0945f9");
	refused(PG_OID_UUID, "4992d429-36a1-49a9-8d43-4be80d0945f");
	refused(PG_OID_UUID, "4992d429-36a1-49a9-8d43-4be80d0945f9aa");
	CHECK_STR(bin_in(PG_OID_UUID, "4992d42936a149a98d434be80d0945f9"),
		  "4992d429-36a1-49a9-8d43-4be80d0945f9");

	CHECK_STR(bin(PG_OID_TEXT, "héllo"), "68c3a96c6c6f");
	CHECK_STR(bin(PG_OID_JSON, "{\"a\":1}"), "7b2261223a317d");
	CHECK_STR(bin(PG_OID_JSONB, "{}"), "017b7d");
	CHECK_STR(bin_in(PG_OID_JSONB, "017b7d"), "{}");
	CHECK(bin_in(PG_OID_JSONB, "027b7d") == NULL);
	CHECK_STR(bin_in(PG_OID_VARCHAR, "68c3a96c6c6f"), "héllo");
	CHECK(bin_in(PG_OID_TEXT, "61ff62") == NULL);   /* not UTF-8 */
	CHECK(bin_in(PG_OID_TEXT, "610062") == NULL);   /* a NUL */
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(pgtype_binary_in(12345, "x", 1, &b, err), TN_EUNSUPPORTED);
	buf_release(&b);
}

TEST(pgtypes_cap)
{
	/* a value past out's cap: TN_ETOOBIG and out unchanged */
	struct buf b = BUF_INIT(8);
	char err[TN_ERRLEN] = "";
	buf_puts(&b, "abc");
	CHECK_INT(pgtype_text_out(PG_OID_TEXT, "0123456789", 10, &b, err), TN_ETOOBIG);
	CHECK_STR(b.data, "abc");
	CHECK_INT(pgtype_binary_out(PG_OID_INTERVAL, "1 day", 5, &b, err), TN_ETOOBIG);
	CHECK_STR(b.data, "abc");
	buf_release(&b);
}

/* ---- against DuckDB itself ------------------------------------------------- */

#include <duckdb.h>

/* DuckDB's CAST(CAST(text AS type) AS VARCHAR) of text, into out. */
static bool duck_cast(duckdb_connection con, const char *type, const char *text, char *out,
		      size_t outlen)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT CAST(CAST(?::VARCHAR AS %s) AS VARCHAR)", type);
	duckdb_prepared_statement st;
	if (duckdb_prepare(con, sql, &st) != DuckDBSuccess) {
		fprintf(stderr, "prepare %s: %s\n", sql, duckdb_prepare_error(st));
		duckdb_destroy_prepare(&st);
		return false;
	}
	duckdb_bind_varchar(st, 1, text);
	duckdb_result r;
	bool ok = duckdb_execute_prepared(st, &r) == DuckDBSuccess;
	if (ok) {
		char *v = duckdb_value_varchar(&r, 0, 0);
		snprintf(out, outlen, "%s", v ? v : "(null)");
		duckdb_free(v);
	} else {
		fprintf(stderr, "cast '%s' as %s: %s\n", text, type, duckdb_result_error(&r));
	}
	duckdb_destroy_result(&r);
	duckdb_destroy_prepare(&st);
	return ok;
}

/*
 * A binary parameter goes binary_in -> DuckDB CAST -> DuckDB's VARCHAR ->
 * binary_out and comes back byte for byte; and DuckDB's rendering of a
 * value becomes PostgreSQL's text (the expected texts are PostgreSQL
 * 15's output for the same values).
 */
TEST(pgtypes_duckdb_round_trip)
{
	duckdb_database db;
	duckdb_connection con;
	CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
	CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
	duckdb_result r;
	CHECK(duckdb_query(con, "SET TimeZone = 'UTC'", &r) == DuckDBSuccess);
	duckdb_destroy_result(&r);
	static const struct {
		uint32_t oid;
		const char *type;
		const char *hex;
	} rt[] = {
		{ PG_OID_BOOL, "BOOLEAN", "01" },
		{ PG_OID_INT2, "SMALLINT", "fffe" },
		{ PG_OID_INT4, "INTEGER", "80000000" },
		{ PG_OID_INT8, "BIGINT", "7fffffffffffffff" },
		{ PG_OID_FLOAT4, "FLOAT", "3dcccccd" },
		{ PG_OID_FLOAT8, "DOUBLE", "3fb999999999999a" },
		{ PG_OID_FLOAT8, "DOUBLE", "7ff0000000000000" },
		{ PG_OID_NUMERIC, "DECIMAL(10,4)", "0003000100000004000109291a85" },
		{ PG_OID_NUMERIC, "DECIMAL(4,1)", "000200004000000100011388" },
		{ PG_OID_NUMERIC, "DECIMAL(18,10)", "0001fffd0000000a0064" },
		{ PG_OID_DATE, "DATE", "fffffe93" },
		{ PG_OID_DATE, "DATE", "fff4da8b" },              /* 0001-01-01 BC */
		{ PG_OID_DATE, "DATE", "7fffffff" },              /* infinity */
		{ PG_OID_TIME, "TIME", "00000004c24a04e0" },
		{ PG_OID_TIMETZ, "TIMETZ", "00000004c24a04e0ffffe3e0" },
		{ PG_OID_TIMESTAMP, "TIMESTAMP", "000303d5af998438" },
		{ PG_OID_TIMESTAMP, "TIMESTAMP", "ffffffffffffffff" },
		{ PG_OID_TIMESTAMP, "TIMESTAMP", "ff1add313e2fb8c0" }, /* 0045-03-15 01:02:03 BC */
		{ PG_OID_TIMESTAMPTZ, "TIMESTAMPTZ", "000303d5af998438" },
		{ PG_OID_INTERVAL, "INTERVAL", "000000036c9361a0000000030000000e" },
		{ PG_OID_INTERVAL, "INTERVAL", "ffffffffffe91ca000000003fffffff2" },
		{ PG_OID_UUID, "UUID", "4992d42936a149a98d434be80d0945f9" },
		{ PG_OID_BYTEA, "BLOB", "aa00615c27224e7f80" },
		{ PG_OID_TEXT, "VARCHAR", "68c3a96c6c6f" },
	};
	for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
		char duck[512], in[512];
		snprintf(in, sizeof in, "%s", bin_in(rt[i].oid, rt[i].hex));
		CHECK(duck_cast(con, rt[i].type, in, duck, sizeof duck));
		const char *back = bin(rt[i].oid, duck);
		if (!back || strcmp(back, rt[i].hex) != 0)
			fprintf(stderr, "%s: %s -> '%s' -> DuckDB '%s' -> %s\n", rt[i].type, rt[i].hex,
				in, duck, back ? back : "(error)");
		CHECK(back && strcmp(back, rt[i].hex) == 0);
	}
	static const struct {
		uint32_t oid;
		const char *type;
		const char *value;   /* a literal DuckDB reads */
		const char *pg;      /* what PostgreSQL prints for it */
	} tx[] = {
		{ PG_OID_BOOL, "BOOLEAN", "true", "t" },
		{ PG_OID_FLOAT8, "DOUBLE", "100", "100" },
		{ PG_OID_FLOAT8, "DOUBLE", "1e15", "1e+15" },
		{ PG_OID_FLOAT8, "DOUBLE", "0.0001", "0.0001" },
		{ PG_OID_FLOAT8, "DOUBLE", "1e-5", "1e-05" },
		{ PG_OID_FLOAT8, "DOUBLE", "-0.0", "-0" },
		{ PG_OID_FLOAT8, "DOUBLE", "nan", "NaN" },
		{ PG_OID_FLOAT8, "DOUBLE", "-inf", "-Infinity" },
		{ PG_OID_FLOAT4, "FLOAT", "1e6", "1e+06" },
		{ PG_OID_FLOAT4, "FLOAT", "0.1", "0.1" },
		{ PG_OID_NUMERIC, "DECIMAL(18,10)", "0.0000000001", "0.0000000001" },
		{ PG_OID_BYTEA, "BLOB", "\\xAA\\x00ab", "\\xaa006162" },
		{ PG_OID_DATE, "DATE", "0045-03-15 (BC)", "0045-03-15 BC" },
		{ PG_OID_TIMESTAMP, "TIMESTAMP", "2026-11-22 05:40:39.123", "2026-11-22 05:40:39.123" },
		{ PG_OID_TIMESTAMP, "TIMESTAMP_NS", "2026-11-22 05:40:39.123456789",
		  "2026-11-22 05:40:39.123456" },
		{ PG_OID_TIMESTAMPTZ, "TIMESTAMPTZ", "2026-11-22 05:40:39.123+00",
		  "2026-11-22 05:40:39.123+00" },
		{ PG_OID_INTERVAL, "INTERVAL", "14 months 3 days", "1 year 2 mons 3 days" },
		{ PG_OID_INTERVAL, "INTERVAL", "-1 day 1.5 seconds", "-1 days +00:00:01.5" },
		{ PG_OID_INTERVAL, "INTERVAL", "25 hours", "25:00:00" },
		{ PG_OID_UUID, "UUID", "4992D429-36A1-49A9-8D43-4BE80D0945F9",
		  "4992d429-36a1-49a9-8d43-4be80d0945f9" },
	};
	for (size_t i = 0; i < sizeof tx / sizeof tx[0]; i++) {
		char duck[512];
		CHECK(duck_cast(con, tx[i].type, tx[i].value, duck, sizeof duck));
		const char *pg = txt(tx[i].oid, duck);
		if (!pg || strcmp(pg, tx[i].pg) != 0)
			fprintf(stderr, "%s '%s': DuckDB '%s' -> '%s', PostgreSQL '%s'\n", tx[i].type,
				tx[i].value, duck, pg ? pg : "(error)", tx[i].pg);
		CHECK(pg && strcmp(pg, tx[i].pg) == 0);
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
}
