/*
 * test_pgauth.c - what the PostgreSQL endpoint asks of the credential
 * store: auth_scram_verifier (the stored verifier and the principal, or
 * TN_ENOTFOUND for unknown, disabled and password-less principals) and
 * auth_scram_dummy_secret (stable, not the master key), and that a
 * verifier it hands out completes a SCRAM exchange with pg/scram.h.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "pg/scram.h"
#include "core/banned.h"

static void open_store(struct meta **m, struct auth **a, const uint8_t key[32])
{
	char err[TN_ERRLEN] = "", path[512];
	snprintf(path, sizeof path, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(path, m, err), 0);
	CHECK_INT(auth_open(*m, key, a, err), 0);
}

TEST(pgauth_verifier_of_users)
{
	uint8_t key[32] = { 7 };
	struct meta *m;
	struct auth *a;
	char err[TN_ERRLEN] = "", v[AUTH_VERIFIER_MAX];
	struct principal p;
	open_store(&m, &a, key);
	CHECK_INT(auth_user_add(a, "dana", "dana-password-1", err), 0);
	CHECK_INT(auth_scram_verifier(a, "dana", v, &p, err), 0);
	CHECK(strncmp(v, "SCRAM-SHA-256$4096:", 19) == 0);
	CHECK_STR(p.name, "dana");
	CHECK(!p.is_admin);
	CHECK_STR(p.via, "scram");
	/* an admin through the built-in role */
	CHECK_INT(auth_role_grant(a, AUTH_ROLE_ADMIN, "dana", true, err), 0);
	CHECK_INT(auth_scram_verifier(a, "dana", v, &p, err), 0);
	CHECK(p.is_admin);
	/* unknown, disabled, a role, a malformed name: not found */
	CHECK_INT(auth_scram_verifier(a, "nobody", v, &p, err), TN_ENOTFOUND);
	CHECK_INT(v[0], 0);
	CHECK_INT(auth_user_enable(a, "dana", false, err), 0);
	CHECK_INT(auth_scram_verifier(a, "dana", v, &p, err), TN_ENOTFOUND);
	CHECK_INT(auth_role_add(a, "readers", err), 0);
	CHECK_INT(auth_scram_verifier(a, "readers", v, &p, err), TN_ENOTFOUND);
	CHECK_INT(auth_scram_verifier(a, "bad name!", v, &p, err), TN_ENOTFOUND);
	auth_close(a);
	meta_close(m);
}

TEST(pgauth_dummy_secret_stable_and_not_the_key)
{
	uint8_t key[32] = { 7 }, s1[32], s2[32];
	struct meta *m;
	struct auth *a;
	open_store(&m, &a, key);
	auth_scram_dummy_secret(a, s1);
	auth_scram_dummy_secret(a, s2);
	CHECK(memcmp(s1, s2, 32) == 0);
	CHECK(memcmp(s1, key, 32) != 0);
	auth_close(a);
	/* the same master key gives the same secret after a reopen; another key another */
	CHECK_INT(auth_open(m, key, &a, NULL), 0);
	auth_scram_dummy_secret(a, s2);
	CHECK(memcmp(s1, s2, 32) == 0);
	auth_close(a);
	uint8_t other[32] = { 8 };
	CHECK_INT(auth_open(m, other, &a, NULL), 0);
	auth_scram_dummy_secret(a, s2);
	CHECK(memcmp(s1, s2, 32) != 0);
	auth_close(a);
	meta_close(m);
}

TEST(pgauth_verifier_runs_scram)
{
	uint8_t key[32] = { 7 };
	struct meta *m;
	struct auth *a;
	char err[TN_ERRLEN] = "", v[AUTH_VERIFIER_MAX];
	struct principal p;
	open_store(&m, &a, key);
	CHECK_INT(auth_user_add(a, "erin", "erin-password-1", err), 0);
	CHECK_INT(auth_scram_verifier(a, "erin", v, &p, err), 0);
	/* the server side accepts the client-first-message against the stored verifier */
	struct pg_scram *s = pg_scram_new();
	struct buf out = BUF_INIT(0);
	const char *first = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
	CHECK_INT(pg_scram_first(s, PG_SCRAM_MECH, first, strlen(first), "erin", v,
				 (const uint8_t *)"secret", 6, &out, err), 0);
	CHECK(strstr(out.data, "r=rOprNGfwEbeRWgbNEkqO") == out.data);
	CHECK(strstr(out.data, ",i=4096") != NULL);
	buf_release(&out);
	pg_scram_free(s);
	auth_close(a);
	meta_close(m);
}
