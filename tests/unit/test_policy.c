/*
 * test_policy.c - grants through roles, column and row unions, tag
 * targets, clearances, and the masks' SQL (the hash mask is HMAC-SHA256,
 * checked against crypto_hmac_sha256 by running the SQL in DuckDB with
 * tarn_mask_hash registered under policy_mask_key's key).
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/os.h"
#include "policy/policy.h"
#include "query/engine.h"
#include "query/udf.h"
#include "harness.h"

struct fix {
	struct meta *m;
	struct auth *a;
	struct policy *p;
	uint8_t key[32];
};

static void fix_open(struct fix *f)
{
	char err[TN_ERRLEN], path[600];
	memset(f, 0, sizeof *f);
	for (int i = 0; i < 32; i++)
		f->key[i] = (uint8_t)(i * 7 + 1);
	snprintf(path, sizeof path, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(auth_open(f->m, f->key, &f->a, err), 0);
	CHECK_INT(policy_open(f->m, f->key, &f->p, err), 0);
}

static void fix_close(struct fix *f)
{
	policy_close(f->p);
	auth_close(f->a);
	meta_close(f->m);
}

/* A described table with columns id, ssn (pii), state, and partition year. */
static void table(struct cat_table *t, struct cat_column cols[4], struct cat_tag *tag)
{
	memset(t, 0, sizeof *t);
	memset(cols, 0, 4 * sizeof cols[0]);
	t->db = "raw";
	t->name = "imm";
	cols[0] = (struct cat_column){ .name = "id", .type = "BIGINT" };
	*tag = (struct cat_tag){ .name = "pii", .detail = "ssn", .evidence = "", .source = "crawler" };
	cols[1] = (struct cat_column){ .name = "ssn", .type = "VARCHAR", .pii = true, .tags = tag,
				       .ntags = 1 };
	cols[2] = (struct cat_column){ .name = "state", .type = "VARCHAR" };
	cols[3] = (struct cat_column){ .name = "year", .type = "INTEGER", .partition = true };
	t->cols = cols;
	t->ncols = 4;
}

static int64_t grant(struct fix *f, const char *who, enum grant_kind k, const char *target,
		     const char *cols, bool exclude, const char *filter)
{
	char err[TN_ERRLEN];
	struct grant g = { .principal = (char *)who, .kind = k, .target = (char *)target,
			   .columns = (char *)cols, .exclude = exclude, .row_filter = (char *)filter };
	int rc = policy_grant(f->p, &g, err);
	if (rc)
		fprintf(stderr, "grant: %s\n", err);
	CHECK_INT(rc, 0);
	return g.id;
}

TEST(grants_through_roles_add_up)
{
	struct fix f;
	struct cat_table t;
	struct cat_column cols[4];
	struct cat_tag tag;
	struct table_access a;
	char err[TN_ERRLEN];
	fix_open(&f);
	table(&t, cols, &tag);
	CHECK_INT(auth_user_add(f.a, "epi", "epi-password", err), 0);
	CHECK_INT(auth_role_add(f.a, "team", err), 0);
	CHECK_INT(auth_role_grant(f.a, "team", "epi", true, err), 0);
	/* nothing by default */
	CHECK_INT(policy_table_access(f.p, "epi", &t, &a, err), 0);
	CHECK(!a.allowed);
	table_access_release(&a);
	/* a role's grant with columns and a filter, then the user's own */
	int64_t g1 = grant(&f, "team", GRANT_SELECT, "bronze", "[\"id\",\"state\"]", false,
			   "state = 'DE'");
	CHECK_INT(policy_table_access(f.p, "epi", &t, &a, err), 0);
	CHECK(a.allowed && !a.all_columns);
	CHECK_INT((int)a.ncolumns, 2);
	CHECK_STR(a.row_filter, "(state = 'DE')");
	table_access_release(&a);
	grant(&f, "epi", GRANT_SELECT, "tag:pii", "[\"ssn\"]", true, "year = 2026");
	CHECK_INT(policy_table_access(f.p, "epi", &t, &a, err), 0);
	CHECK_INT((int)a.ncolumns, 3);  /* id, state, then year (everything but ssn) */
	CHECK_STR(a.row_filter, "(state = 'DE') OR (year = 2026)");
	table_access_release(&a);
	grant(&f, "epi", GRANT_SELECT, "raw.IMM", NULL, false, NULL);
	CHECK_INT(policy_table_access(f.p, "epi", &t, &a, err), 0);
	CHECK(a.all_columns);
	CHECK(a.row_filter == NULL);  /* an unfiltered grant: every row */
	CHECK_INT((int)a.ncleared, 0);
	table_access_release(&a);
	grant(&f, "team", GRANT_CLEARANCE, "pii", NULL, false, NULL);
	CHECK_INT(policy_table_access(f.p, "epi", &t, &a, err), 0);
	CHECK_INT((int)a.ncleared, 1);
	CHECK_STR(a.cleared[0], "pii");
	table_access_release(&a);
	/* listing, revoke, bad input */
	struct grant_list l;
	CHECK_INT(policy_grants(f.p, "team", &l, err), 0);
	CHECK_INT((int)l.n, 2);
	CHECK_STR(l.v[0].target, "raw");  /* the alias is stored canonical */
	grant_list_release(&l);
	CHECK_INT(policy_revoke(f.p, g1, err), 0);
	CHECK_INT(policy_revoke(f.p, g1, err), TN_ENOTFOUND);
	struct grant bad = { .principal = "nobody", .kind = GRANT_SELECT, .target = "raw" };
	CHECK_INT(policy_grant(f.p, &bad, err), TN_ENOTFOUND);
	bad.principal = "epi";
	bad.target = "nosuch.t";
	CHECK_INT(policy_grant(f.p, &bad, err), TN_EINVAL);
	bad.target = "tag:Bad Tag";
	CHECK_INT(policy_grant(f.p, &bad, err), TN_EINVAL);
	/* the built-in raw_reader reads raw */
	CHECK_INT(auth_role_grant(f.a, "raw_reader", "team", true, err), 0);
	CHECK_INT(auth_user_add(f.a, "other", "other-password", err), 0);
	CHECK_INT(auth_role_grant(f.a, "raw_reader", "other", true, err), 0);
	CHECK_INT(policy_table_access(f.p, "other", &t, &a, err), 0);
	CHECK(a.allowed && a.all_columns);
	table_access_release(&a);
	fix_close(&f);
}

/* Runs sql in a fresh DuckDB with p's hash mask function; the first value as text. */
static int eval_masked(struct policy *p, const char *sql, char *out, size_t n, char *err)
{
	duckdb_database db;
	duckdb_connection con;
	duckdb_result r;
	int rc;
	CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
	CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
	CHECK_INT(udf_register_policy(con, p, err), 0);
	if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINVAL, "duckdb: %s", duckdb_result_error(&r));
	} else {
		char *v = duckdb_value_varchar(&r, 0, 0);
		snprintf(out, n, "%s", v ? v : "NULL");
		duckdb_free(v);
		rc = 0;
	}
	duckdb_destroy_result(&r);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}

TEST(mask_sql_and_hmac)
{
	struct fix f;
	struct buf sql = BUF_INIT(0);
	char out[200], err[TN_ERRLEN];
	fix_open(&f);
	CHECK_INT((int)policy_mask(f.p, "pii"), MASK_REDACT);
	const struct { enum mask_kind k; const char *want; } cases[] = {
		{ MASK_REDACT, "***" }, { MASK_PARTIAL, "***6789" }, { MASK_NULL, "NULL" },
	};
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&sql);
		buf_puts(&sql, "SELECT coalesce(CAST(");
		policy_mask_sql(f.p, cases[i].k, "'123-45-6789'", "VARCHAR", &sql);
		buf_puts(&sql, " AS VARCHAR), 'NULL')");
		CHECK_INT(engine_eval(sql.data, out, sizeof out, err), 0);
		CHECK_STR(out, cases[i].want);
	}
	/* hash: HMAC-SHA256 under the key derived from the master key */
	buf_reset(&sql);
	buf_puts(&sql, "SELECT ");
	policy_mask_sql(f.p, MASK_HASH, "'123-45-6789'", "VARCHAR", &sql);
	CHECK_INT(eval_masked(f.p, sql.data, out, sizeof out, err), 0);
	uint8_t k[SHA256_LEN], mac[SHA256_LEN], pk[32];
	char hex[2 * SHA256_LEN + 1];
	crypto_hmac_sha256(f.key, 32, "tarn mask key v1", 16, k);
	policy_mask_key(f.p, pk);
	CHECK(memcmp(pk, k, sizeof k) == 0);
	crypto_hmac_sha256(k, sizeof k, "123-45-6789", 11, mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(out, hex);
	/* no key material in the SQL: not the key, nor its pads, in hex */
	{
		uint8_t pad[64];
		char kh[2 * sizeof pad + 1];
		hex_encode(k, sizeof k, kh);
		CHECK(strstr(sql.data, kh) == NULL);
		for (int c = 0; c < 2; c++) {
			memset(pad, c ? 0x5c : 0x36, sizeof pad);
			for (size_t i = 0; i < sizeof k; i++)
				pad[i] ^= k[i];
			hex_encode(pad, sizeof pad, kh);
			kh[16] = 0;  /* even a part of one */
			CHECK(strcasestr(sql.data, kh) == NULL);
		}
		CHECK(strstr(sql.data, "tarn_mask_hash(") != NULL);
	}
	/* without the function (an engine that did not register it) the SQL fails */
	CHECK(engine_eval(sql.data, out, sizeof out, err) != 0);
	/* any UTF-8 value: the bytes of its text */
	buf_reset(&sql);
	buf_puts(&sql, "SELECT ");
	policy_mask_sql(f.p, MASK_HASH, "'Pe\xc3\xb1" "a'", "VARCHAR", &sql);
	CHECK_INT(eval_masked(f.p, sql.data, out, sizeof out, err), 0);
	crypto_hmac_sha256(k, sizeof k, "Pe\xc3\xb1" "a", 5, mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(out, hex);
	/* NULL stays NULL under every mask */
	buf_reset(&sql);
	buf_puts(&sql, "SELECT coalesce(");
	policy_mask_sql(f.p, MASK_HASH, "CAST(NULL AS VARCHAR)", "VARCHAR", &sql);
	buf_puts(&sql, ", 'NULL')");
	CHECK_INT(eval_masked(f.p, sql.data, out, sizeof out, err), 0);
	CHECK_STR(out, "NULL");
	/* a non-text column hashes its text: 42 as '42' */
	buf_reset(&sql);
	buf_puts(&sql, "SELECT ");
	policy_mask_sql(f.p, MASK_HASH, "CAST(42 AS BIGINT)", "BIGINT", &sql);
	CHECK_INT(eval_masked(f.p, sql.data, out, sizeof out, err), 0);
	crypto_hmac_sha256(k, sizeof k, "42", 2, mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(out, hex);
	buf_reset(&sql);
	buf_puts(&sql, "SELECT coalesce(");
	policy_mask_sql(f.p, MASK_HASH, "CAST(NULL AS BIGINT)", "BIGINT", &sql);
	buf_puts(&sql, ", 'NULL')");
	CHECK_INT(eval_masked(f.p, sql.data, out, sizeof out, err), 0);
	CHECK_STR(out, "NULL");
	CHECK_INT(policy_set_mask(f.p, "pii", MASK_HASH, err), 0);
	CHECK_INT((int)policy_mask(f.p, "pii"), MASK_HASH);
	CHECK_INT(policy_set_mask(f.p, "Bad Tag", MASK_HASH, err), TN_EINVAL);
	CHECK_INT(mask_parse("partial"), MASK_PARTIAL);
	CHECK_INT(mask_parse("nope"), -1);
	buf_release(&sql);
	fix_close(&f);
}
