/*
 * test_pgscram.c - the server side of SCRAM-SHA-256 (src/pg/scram.c):
 * RFC 7677's example exchange end to end, wrong proofs, changed nonces,
 * channel binding refused, malformed messages, the made-up verifier of
 * unknown users, and an exchange against a verifier made by tarn's own
 * credential store (auth_user_add) with a client computed here.
 */
#include "harness.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "pg/scram.h"
#include "core/banned.h"

static const uint8_t secret[32] = "test secret for made-up salts..";

/* A verifier in tarn's format for password, salt (base64) and iterations. */
static void make_verifier(const char *password, const char *salt_b64, unsigned iters,
			  struct buf *out)
{
	struct buf salt = BUF_INIT(0);
	CHECK_INT(base64_decode(salt_b64, strlen(salt_b64), &salt), 0);
	uint8_t salted[32], ck[32], sk[32], stored[32];
	crypto_pbkdf2_sha256(password, strlen(password), (const uint8_t *)salt.data, salt.len, iters,
			     salted, 32);
	crypto_hmac_sha256(salted, 32, "Client Key", 10, ck);
	crypto_sha256(ck, 32, stored);
	crypto_hmac_sha256(salted, 32, "Server Key", 10, sk);
	buf_printf(out, "SCRAM-SHA-256$%u:%s$", iters, salt_b64);
	base64_encode(stored, 32, out);
	buf_putc(out, ':');
	base64_encode(sk, 32, out);
	buf_release(&salt);
}

/*
 * The client's side: from client-first-bare, server-first and the
 * client-final-without-proof, the proof for password (appended as
 * ",p=..." to final) and the ServerSignature it must expect.
 */
static void client_proof(const char *password, const char *bare, const char *server_first,
			 struct buf *final, char *expect_v, size_t vlen)
{
	/* parse s= and i= from server-first */
	const char *s = strstr(server_first, ",s=") + 3;
	const char *i = strstr(server_first, ",i=") + 3;
	struct buf salt = BUF_INIT(0);
	CHECK_INT(base64_decode(s, (size_t)(i - 3 - s), &salt), 0);
	unsigned iters = (unsigned)strtoul(i, NULL, 10);
	uint8_t salted[32], ck[32], stored[32], sig[32], proof[32], sk[32], ss[32];
	crypto_pbkdf2_sha256(password, strlen(password), (const uint8_t *)salt.data, salt.len, iters,
			     salted, 32);
	crypto_hmac_sha256(salted, 32, "Client Key", 10, ck);
	crypto_sha256(ck, 32, stored);
	struct buf am = BUF_INIT(0);
	buf_printf(&am, "%s,%s,%s", bare, server_first, final->data);
	crypto_hmac_sha256(stored, 32, am.data, am.len, sig);
	for (int k = 0; k < 32; k++)
		proof[k] = ck[k] ^ sig[k];
	buf_puts(final, ",p=");
	base64_encode(proof, 32, final);
	crypto_hmac_sha256(salted, 32, "Server Key", 10, sk);
	crypto_hmac_sha256(sk, 32, am.data, am.len, ss);
	struct buf v = BUF_INIT(0);
	buf_puts(&v, "v=");
	base64_encode(ss, 32, &v);
	snprintf(expect_v, vlen, "%s", v.data);
	buf_release(&v);
	buf_release(&am);
	buf_release(&salt);
}

#define RFC_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SERVER_FIRST                                                              \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==," \
	"i=4096"
#define RFC_CLIENT_FINAL                                                   \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"     \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* An exchange at the RFC's server-first, with the RFC's user and verifier. */
static struct pg_scram *rfc_first(struct buf *v, struct buf *out)
{
	char err[TN_ERRLEN] = "";
	make_verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096, v);
	struct pg_scram *s = pg_scram_new();
	pg_scram_set_nonce(s, RFC_SNONCE);
	int rc = pg_scram_first(s, "SCRAM-SHA-256", RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), "user",
				v->data, secret, sizeof secret, out, err);
	if (rc)
		fprintf(stderr, "first: %s\n", err);
	CHECK_INT(rc, 0);
	return s;
}

TEST(pgscram_rfc7677_exchange)
{
	struct buf v = BUF_INIT(0), out = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	struct pg_scram *s = rfc_first(&v, &out);
	CHECK_STR(out.data, RFC_SERVER_FIRST);
	buf_reset(&out);
	int rc = pg_scram_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out, err);
	if (rc)
		fprintf(stderr, "final: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_STR(out.data, RFC_SERVER_FINAL);
	/* done: another final is out of order */
	CHECK_INT(pg_scram_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out, err), TN_EINVAL);
	pg_scram_free(s);
	buf_release(&v);
	buf_release(&out);
}

TEST(pgscram_wrong_proof_and_password)
{
	struct buf v = BUF_INIT(0), out = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	/* one bit of the proof changed */
	struct pg_scram *s = rfc_first(&v, &out);
	const char *bad = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=";
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s, bad, strlen(bad), &out, err), TN_EAUTH);
	CHECK_STR(err, "password authentication failed for user 'user'");
	CHECK_INT(out.len, 0);
	pg_scram_free(s);

	/* a proof made from another password */
	buf_reset(&v);
	buf_reset(&out);
	s = rfc_first(&v, &out);
	struct buf fin = BUF_INIT(0);
	char expect_v[128];
	buf_puts(&fin, "c=biws,r=rOprNGfwEbeRWgbNEkqO" RFC_SNONCE);
	client_proof("pencil2", "n=user,r=rOprNGfwEbeRWgbNEkqO", out.data, &fin, expect_v,
		     sizeof expect_v);
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s, fin.data, fin.len, &out, err), TN_EAUTH);
	pg_scram_free(s);

	/* the same client code with the right password succeeds (the check can pass) */
	buf_reset(&v);
	buf_reset(&out);
	s = rfc_first(&v, &out);
	buf_reset(&fin);
	buf_puts(&fin, "c=biws,r=rOprNGfwEbeRWgbNEkqO" RFC_SNONCE);
	client_proof("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", out.data, &fin, expect_v,
		     sizeof expect_v);
	CHECK_STR(fin.data, RFC_CLIENT_FINAL);
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s, fin.data, fin.len, &out, err), 0);
	CHECK_STR(out.data, expect_v);
	pg_scram_free(s);
	buf_release(&fin);
	buf_release(&v);
	buf_release(&out);
}

TEST(pgscram_nonce_and_binding_checks)
{
	struct buf v = BUF_INIT(0), out = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	const char *finals[] = {
		/* the server's part of the nonce changed */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* only the client's nonce */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* channel-binding data of another gs2 header ("y,,") */
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* no proof */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		/* a proof that is not 32 bytes */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",
		/* a proof not last */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
		/* an extension that is not "x=value" */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,junk,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* attributes out of order */
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"",
	};
	for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
		buf_reset(&v);
		buf_reset(&out);
		struct pg_scram *s = rfc_first(&v, &out);
		buf_reset(&out);
		int rc = pg_scram_final(s, finals[i], strlen(finals[i]), &out, err);
		if (rc != TN_EINVAL)
			fprintf(stderr, "final %zu: rc %d\n", i, rc);
		CHECK_INT(rc, TN_EINVAL);
		CHECK_INT(out.len, 0);
		pg_scram_free(s);
	}
	/* a NUL inside the final message */
	buf_reset(&v);
	buf_reset(&out);
	struct pg_scram *s = rfc_first(&v, &out);
	CHECK_INT(pg_scram_final(s, "c=biws\0", 7, &out, err), TN_EINVAL);
	pg_scram_free(s);
	/* an extension before the proof is allowed (and covered by the proof) */
	buf_reset(&v);
	buf_reset(&out);
	s = rfc_first(&v, &out);
	struct buf fin = BUF_INIT(0);
	char expect_v[128];
	buf_puts(&fin, "c=biws,r=rOprNGfwEbeRWgbNEkqO" RFC_SNONCE ",x=ext");
	client_proof("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", out.data, &fin, expect_v,
		     sizeof expect_v);
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s, fin.data, fin.len, &out, err), 0);
	CHECK_STR(out.data, expect_v);
	pg_scram_free(s);
	buf_release(&fin);
	buf_release(&v);
	buf_release(&out);
}

/* pg_scram_first on a client-first-message with the RFC verifier. */
static int first_rc(const char *mech, const char *msg, size_t n, char *err)
{
	struct buf v = BUF_INIT(0), out = BUF_INIT(0);
	make_verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096, &v);
	struct pg_scram *s = pg_scram_new();
	int rc = pg_scram_first(s, mech, msg, n, "user", v.data, secret, sizeof secret, &out, err);
	if (rc)
		CHECK_INT(out.len, 0);
	/* after a failure the exchange is over */
	char err2[TN_ERRLEN];
	if (rc)
		CHECK_INT(pg_scram_final(s, "c=biws", 6, &out, err2), TN_EINVAL);
	pg_scram_free(s);
	buf_release(&v);
	buf_release(&out);
	return rc;
}

#define F(s) s, strlen(s)

TEST(pgscram_client_first_refusals)
{
	char err[TN_ERRLEN] = "";
	/* channel binding */
	CHECK_INT(first_rc("SCRAM-SHA-256-PLUS", F("p=tls-server-end-point,,n=,r=abc"), err),
		  TN_EUNSUPPORTED);
	CHECK(strstr(err, "channel binding") != NULL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("p=tls-server-end-point,,n=,r=abc"), err),
		  TN_EUNSUPPORTED);
	CHECK(strstr(err, "channel binding") != NULL);
	/* other mechanisms */
	CHECK_INT(first_rc("SCRAM-SHA-1", F("n,,n=,r=abc"), err), TN_EINVAL);
	CHECK(strstr(err, "mechanism") != NULL);
	CHECK_INT(first_rc(NULL, F("n,,n=,r=abc"), err), TN_EINVAL);
	/* authorization identity, mandatory extension */
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,a=admin,n=,r=abc"), err), TN_EUNSUPPORTED);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,m=ext,n=,r=abc"), err), TN_EUNSUPPORTED);
	/* malformed */
	CHECK_INT(first_rc("SCRAM-SHA-256", F(""), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("x,,n=,r=abc"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,n=,r=abc"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,r=abc"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=,r="), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=,r=a,b"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=a=b,r=abc"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=,r=ab c"), err), TN_EINVAL);
	CHECK_INT(first_rc("SCRAM-SHA-256", "n,,n=,r=a\0bc", 11, err), TN_EINVAL);
	/* accepted: libpq's form (empty user name), 'y', an escaped name, extensions */
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=,r=abc"), err), 0);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("y,,n=,r=abc"), err), 0);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=a=2Cb=3D,r=abc"), err), 0);
	CHECK_INT(first_rc("SCRAM-SHA-256", F("n,,n=,r=abc,x=1"), err), 0);
}

TEST(pgscram_y_flag_binding_data)
{
	/* 'y': the client could bind but thinks we cannot; c= must be base64("y,,") */
	struct buf v = BUF_INIT(0), out = BUF_INIT(0), fin = BUF_INIT(0);
	char err[TN_ERRLEN] = "", expect_v[128];
	make_verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096, &v);
	struct pg_scram *s = pg_scram_new();
	const char *cf = "y,,n=,r=clientnonce";
	CHECK_INT(pg_scram_first(s, "SCRAM-SHA-256", cf, strlen(cf), "user", v.data, secret,
				 sizeof secret, &out, err), 0);
	const char *r = out.data + 2;
	buf_printf(&fin, "c=eSws,r=%.*s", (int)strcspn(r, ","), r);
	client_proof("pencil", "n=,r=clientnonce", out.data, &fin, expect_v, sizeof expect_v);
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s, fin.data, fin.len, &out, err), 0);
	CHECK_STR(out.data, expect_v);
	pg_scram_free(s);
	buf_release(&v);
	buf_release(&out);
	buf_release(&fin);
}

/* server-first for an unknown user (verifier NULL) */
static void dummy_first(const char *user, const char *verifier, struct pg_scram **sp,
			struct buf *out)
{
	char err[TN_ERRLEN] = "";
	*sp = pg_scram_new();
	const char *cf = "n,,n=,r=clientnonce";
	CHECK_INT(pg_scram_first(*sp, "SCRAM-SHA-256", cf, strlen(cf), user, verifier, secret,
				 sizeof secret, out, err), 0);
}

TEST(pgscram_unknown_user_dummy)
{
	struct buf a = BUF_INIT(0), b = BUF_INIT(0), c = BUF_INIT(0), fin = BUF_INIT(0);
	char err[TN_ERRLEN] = "", err2[TN_ERRLEN] = "", expect_v[128];
	struct pg_scram *s1, *s2, *s3;
	dummy_first("ghost", NULL, &s1, &a);
	dummy_first("ghost", NULL, &s2, &b);
	dummy_first("phantom", "not a verifier", &s3, &c);
	/* same salt and iterations for the same name each time, another for another name */
	const char *sa = strstr(a.data, ",s="), *sb = strstr(b.data, ",s="), *sc = strstr(c.data, ",s=");
	CHECK(sa && sb && sc);
	CHECK_STR(sa, sb);
	CHECK(strcmp(sa, sc) != 0);
	CHECK(strstr(a.data, ",i=4096") != NULL);
	/* the nonce is fresh each time: client nonce + 24 chars of base64 */
	CHECK(strncmp(a.data, "r=clientnonce", 13) == 0);
	CHECK_INT(strcspn(a.data, ",") - 2, strlen("clientnonce") + 24);
	CHECK(strncmp(a.data, b.data, strcspn(a.data, ",")) != 0);
	/* the salt is 16 bytes, like a real verifier's */
	struct buf salt = BUF_INIT(0);
	CHECK_INT(base64_decode(sa + 3, strcspn(sa + 3, ","), &salt), 0);
	CHECK_INT(salt.len, 16);
	buf_release(&salt);
	/* any password fails at the proof, with the wrong-password message */
	const char *r = a.data + 2;
	buf_printf(&fin, "c=biws,r=%.*s", (int)strcspn(r, ","), r);
	client_proof("anything", "n=,r=clientnonce", a.data, &fin, expect_v, sizeof expect_v);
	buf_reset(&a);
	CHECK_INT(pg_scram_final(s1, fin.data, fin.len, &a, err), TN_EAUTH);
	CHECK_STR(err, "password authentication failed for user 'ghost'");
	CHECK_INT(a.len, 0);
	/* a known user with a wrong password reads the same */
	struct buf v = BUF_INIT(0), out = BUF_INIT(0);
	make_verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096, &v);
	struct pg_scram *s4;
	dummy_first("ghost", v.data, &s4, &out);
	buf_reset(&fin);
	r = out.data + 2;
	buf_printf(&fin, "c=biws,r=%.*s", (int)strcspn(r, ","), r);
	client_proof("wrong", "n=,r=clientnonce", out.data, &fin, expect_v, sizeof expect_v);
	buf_reset(&out);
	CHECK_INT(pg_scram_final(s4, fin.data, fin.len, &out, err2), TN_EAUTH);
	CHECK_STR(err, err2);
	/* another secret gives another made-up salt */
	struct pg_scram *s5 = pg_scram_new();
	static const uint8_t other[32] = "another secret..................";
	buf_reset(&out);
	CHECK_INT(pg_scram_first(s5, "SCRAM-SHA-256", "n,,n=,r=x", 9, "ghost", NULL, other,
				 sizeof other, &out, err), 0);
	CHECK(strcmp(strstr(out.data, ",s="), sa) != 0);
	pg_scram_free(s1);
	pg_scram_free(s2);
	pg_scram_free(s3);
	pg_scram_free(s4);
	pg_scram_free(s5);
	pg_scram_free(NULL);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	buf_release(&v);
	buf_release(&out);
	buf_release(&fin);
}

TEST(pgscram_verifier_from_tarn_auth)
{
	/* a user created by tarn's credential store; its stored verifier read back */
	char err[TN_ERRLEN] = "", path[512];
	struct meta *m;
	struct auth *a;
	uint8_t key[32] = { 1, 2, 3 };
	snprintf(path, sizeof path, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(path, &m, err), 0);
	CHECK_INT(auth_open(m, key, &a, err), 0);
	CHECK_INT(auth_user_add(a, "alice", "correct horse 1", err), 0);
	char verifier[256] = "";
	sqlite3_stmt *st;
	meta_lock(m);
	CHECK_INT(sqlite3_prepare_v2(meta_db(m), "SELECT scram FROM principals WHERE name = 'alice'",
				     -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	snprintf(verifier, sizeof verifier, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	meta_unlock(m);
	CHECK(strncmp(verifier, "SCRAM-SHA-256$4096:", 19) == 0);

	for (int attempt = 0; attempt < 2; attempt++) {
		const char *pw = attempt == 0 ? "correct horse 1" : "correct horse 2";
		struct buf out = BUF_INIT(0), fin = BUF_INIT(0);
		char expect_v[128];
		struct pg_scram *s = pg_scram_new();
		const char *cf = "n,,n=,r=0123456789abcdefghijklmn";
		CHECK_INT(pg_scram_first(s, "SCRAM-SHA-256", cf, strlen(cf), "alice", verifier, secret,
					 sizeof secret, &out, err), 0);
		const char *r = out.data + 2;
		buf_printf(&fin, "c=biws,r=%.*s", (int)strcspn(r, ","), r);
		client_proof(pw, "n=,r=0123456789abcdefghijklmn", out.data, &fin, expect_v,
			     sizeof expect_v);
		buf_reset(&out);
		int rc = pg_scram_final(s, fin.data, fin.len, &out, err);
		if (attempt == 0) {
			CHECK_INT(rc, 0);
			CHECK_STR(out.data, expect_v);
		} else {
			CHECK_INT(rc, TN_EAUTH);
		}
		pg_scram_free(s);
		buf_release(&out);
		buf_release(&fin);
	}
	auth_close(a);
	meta_close(m);
}
