/*
 * test_auth.c - credentials over a real metastore: root, passwords (SCRAM
 * verifiers in PostgreSQL's format), the password cache, API tokens, and
 * SigV4 end to end with sealed access-key secrets.
 */
#include "harness.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/sigv4.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define ROOT "tarnroot"
#define ROOT_PW "Root/Pass+word=1"

struct fix {
	struct meta *m;
	struct auth *a;
	uint8_t key[32];
	char path[512];
};

static void fix_open(struct fix *f)
{
	char err[TN_ERRLEN] = "";
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "%s/meta.db", test_tmpdir());
	for (int i = 0; i < 32; i++)
		f->key[i] = (uint8_t)(i * 7 + 3);
	int rc = meta_open(f->path, &f->m, err);
	if (rc)
		fprintf(stderr, "meta_open: %s\n", err);
	CHECK_INT(rc, 0);
	rc = auth_open(f->m, f->key, &f->a, err);
	if (rc)
		fprintf(stderr, "auth_open: %s\n", err);
	CHECK_INT(rc, 0);
}

static void fix_close(struct fix *f)
{
	auth_close(f->a);
	meta_close(f->m);
}

static void set_root(struct fix *f, const char *user, const char *pw)
{
	char err[TN_ERRLEN] = "";
	int rc = auth_set_root(f->a, user, pw, err);
	if (rc)
		fprintf(stderr, "set_root: %s\n", err);
	CHECK_INT(rc, 0);
}

/* Runs SQL on the metastore (under its lock). */
static void sql(struct fix *f, const char *q)
{
	char err[TN_ERRLEN] = "";
	meta_lock(f->m);
	int rc = meta_exec(f->m, q, err);
	meta_unlock(f->m);
	if (rc)
		fprintf(stderr, "sql: %s\n", err);
	CHECK_INT(rc, 0);
}

/* First column of the first row of q as text ("" if none), into out. */
static void sql_text(struct fix *f, const char *q, char *out, size_t n)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	meta_lock(f->m);
	CHECK(sqlite3_prepare_v2(meta_db(f->m), q, -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	meta_unlock(f->m);
}

static long long sql_int(struct fix *f, const char *q)
{
	char t[64];
	sql_text(f, q, t, sizeof t);
	return strtoll(t, NULL, 10);
}

static int password(struct fix *f, const char *user, const char *pw, struct principal *p,
		    enum auth_fail *why)
{
	char err[TN_ERRLEN] = "";
	int rc = auth_password(f->a, user, pw, p, why, err);
	if (rc)
		fprintf(stderr, "password(%s): %s\n", user ? user : "(null)", err);
	return rc;
}

TEST(root_and_passwords)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	fix_open(&f);
	CHECK(!auth_has_root(f.a));
	set_root(&f, ROOT, ROOT_PW);
	CHECK(auth_has_root(f.a));

	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), 0);
	CHECK_INT(why, AUTH_OK);
	CHECK_STR(p.name, ROOT);
	CHECK(p.is_admin);
	CHECK_STR(p.via, "basic");

	CHECK_INT(password(&f, ROOT, "Root/Pass+word=2", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	CHECK_INT(password(&f, ROOT, "", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	CHECK_INT(password(&f, "nobody", ROOT_PW, &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(password(&f, "bad name!", ROOT_PW, &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(password(&f, NULL, ROOT_PW, &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MISSING);
	/* The right password still works after wrong ones. */
	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), 0);

	/* Bad root arguments. */
	char err[TN_ERRLEN];
	CHECK_INT(auth_set_root(f.a, "", "x", err), TN_EINVAL);
	CHECK_INT(auth_set_root(f.a, "a/b", "x", err), TN_EINVAL);
	CHECK_INT(auth_set_root(f.a, "ok", "", err), TN_EINVAL);
	fix_close(&f);
}

/* The stored verifier is PostgreSQL's SCRAM-SHA-256 format, recomputed here. */
TEST(scram_verifier_format)
{
	struct fix f;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	char v[512];
	sql_text(&f, "SELECT scram FROM principals WHERE name = '" ROOT "'", v, sizeof v);
	const char *prefix = "SCRAM-SHA-256$4096:";
	CHECK(strncmp(v, prefix, strlen(prefix)) == 0);
	char *salt64 = v + strlen(prefix);
	char *dollar = strchr(salt64, '$');
	CHECK(dollar != NULL);
	*dollar = '\0';
	char *stored64 = dollar + 1;
	char *colon = strchr(stored64, ':');
	CHECK(colon != NULL);
	*colon = '\0';
	char *server64 = colon + 1;

	struct buf salt = BUF_INIT(0), stored = BUF_INIT(0), server = BUF_INIT(0);
	CHECK_INT(base64_decode(salt64, strlen(salt64), &salt), 0);
	CHECK_INT(base64_decode(stored64, strlen(stored64), &stored), 0);
	CHECK_INT(base64_decode(server64, strlen(server64), &server), 0);
	CHECK_INT(salt.len, 16);
	CHECK_INT(stored.len, 32);
	CHECK_INT(server.len, 32);

	uint8_t salted[32], ck[32], sk[32], h[32];
	crypto_pbkdf2_sha256(ROOT_PW, strlen(ROOT_PW), (uint8_t *)salt.data, salt.len, 4096,
			     salted, 32);
	crypto_hmac_sha256(salted, 32, "Client Key", 10, ck);
	crypto_sha256(ck, 32, h);
	CHECK(memcmp(h, stored.data, 32) == 0);
	crypto_hmac_sha256(salted, 32, "Server Key", 10, sk);
	CHECK(memcmp(sk, server.data, 32) == 0);
	buf_release(&salt);
	buf_release(&stored);
	buf_release(&server);
	fix_close(&f);
}

TEST(password_cache_is_fast_and_follows_changes)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	int64_t t0 = time_mono_ns();
	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), 0);
	int64_t slow = time_mono_ns() - t0;
	t0 = time_mono_ns();
	for (int i = 0; i < 100; i++)
		CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), 0);
	int64_t fast = (time_mono_ns() - t0) / 100;
	fprintf(stderr, "first check %lld ns, cached %lld ns\n", (long long)slow, (long long)fast);
	CHECK(fast * 10 < slow);
	/* Wrong passwords never hit the cache. */
	t0 = time_mono_ns();
	CHECK_INT(password(&f, ROOT, "wrong", &p, &why), TN_EAUTH);
	CHECK(time_mono_ns() - t0 > fast * 10);

	/* A new root password takes effect at once: the old one is refused. */
	set_root(&f, ROOT, "second-password");
	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	CHECK_INT(password(&f, ROOT, "second-password", &p, &why), 0);
	fix_close(&f);
}

TEST(set_root_is_idempotent)
{
	struct fix f;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	char s1[512], s2[512], v1[512], v2[512];
	sql_text(&f, "SELECT secret_sealed FROM access_keys WHERE key_id = '" ROOT "'", s1,
		 sizeof s1);
	sql_text(&f, "SELECT scram FROM principals WHERE name = '" ROOT "'", v1, sizeof v1);
	set_root(&f, ROOT, ROOT_PW);
	sql_text(&f, "SELECT secret_sealed FROM access_keys WHERE key_id = '" ROOT "'", s2,
		 sizeof s2);
	sql_text(&f, "SELECT scram FROM principals WHERE name = '" ROOT "'", v2, sizeof v2);
	/* Sealing and salting are randomized: equal rows mean nothing was rewritten. */
	CHECK_STR(s1, s2);
	CHECK_STR(v1, v2);
	/* A different password rewrites both. */
	set_root(&f, ROOT, "another-one");
	sql_text(&f, "SELECT secret_sealed FROM access_keys WHERE key_id = '" ROOT "'", s2,
		 sizeof s2);
	sql_text(&f, "SELECT scram FROM principals WHERE name = '" ROOT "'", v2, sizeof v2);
	CHECK(strcmp(s1, s2) != 0);
	CHECK(strcmp(v1, v2) != 0);
	fix_close(&f);
}

TEST(set_root_replaces_other_root)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	char err[TN_ERRLEN], tok[64];
	int64_t exp;
	fix_open(&f);
	set_root(&f, "admin", "first-password");
	CHECK_INT(password(&f, "admin", "first-password", &p, &why), 0);
	CHECK_INT(auth_token_create(f.a, &p, 3600, tok, &exp, err), 0);

	set_root(&f, "boss", "second-password");
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM principals WHERE is_root = 1"), 1);
	/* "admin" is also the built-in role: the role stays, the login goes */
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM principals WHERE name = 'admin' AND "
			      "scram IS NOT NULL"), 0);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM principals WHERE name = 'admin' AND "
			      "kind = 'role' AND is_admin = 1"), 1);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM access_keys WHERE principal = 'admin'"), 0);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM tokens WHERE principal = 'admin'"), 0);
	CHECK_INT(password(&f, "admin", "first-password", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(auth_token(f.a, tok, &p, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(password(&f, "boss", "second-password", &p, &why), 0);
	CHECK(p.is_admin);

	/* An existing ordinary user can be made root: it is promoted, not duplicated. */
	sql(&f, "INSERT INTO principals(name, created_ms) VALUES('carol', 1)");
	set_root(&f, "carol", "third-password");
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM principals WHERE kind = 'user'"), 1);
	CHECK_INT(sql_int(&f, "SELECT is_admin + is_root FROM principals WHERE name='carol'"), 2);
	CHECK_INT(password(&f, "carol", "third-password", &p, &why), 0);
	fix_close(&f);
}

TEST(disabled_principal_is_refused)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	char err[TN_ERRLEN];
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	sql(&f, "UPDATE principals SET disabled = 1");
	/* A fresh handle has nothing cached. */
	auth_close(f.a);
	CHECK_INT(auth_open(f.m, f.key, &f.a, err), 0);
	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	fix_close(&f);
}

TEST(tokens)
{
	struct fix f;
	struct principal p, q;
	enum auth_fail why;
	char err[TN_ERRLEN] = "", tok[64];
	int64_t exp = 0;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	CHECK_INT(password(&f, ROOT, ROOT_PW, &p, &why), 0);

	int64_t before = time_now_ms();
	CHECK_INT(auth_token_create(f.a, &p, 3600, tok, &exp, err), 0);
	CHECK_INT(strlen(tok), 46);
	CHECK(strncmp(tok, "tn_", 3) == 0);
	CHECK(strspn(tok + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	      43);
	CHECK(exp >= before + 3600 * 1000 && exp <= time_now_ms() + 3600 * 1000);

	CHECK_INT(auth_token(f.a, tok, &q, &why, err), 0);
	CHECK_INT(why, AUTH_OK);
	CHECK_STR(q.name, ROOT);
	CHECK(q.is_admin);
	CHECK_STR(q.via, "token");

	/* Only the hash is stored. */
	char hex[65], row[128];
	uint8_t d[32];
	crypto_sha256(tok, strlen(tok), d);
	hex_encode(d, 32, hex);
	sql_text(&f, "SELECT hash FROM tokens", row, sizeof row);
	CHECK_STR(row, hex);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM tokens WHERE hash LIKE '%tn_%'"), 0);

	/* Two tokens differ. */
	char tok2[64];
	CHECK_INT(auth_token_create(f.a, &p, 3600, tok2, NULL, err), 0);
	CHECK(strcmp(tok, tok2) != 0);

	/* One changed character: unknown.  Wrong shape: malformed.  None: missing. */
	char bad[64];
	snprintf(bad, sizeof bad, "%s", tok);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	CHECK_INT(auth_token(f.a, bad, &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(auth_token(f.a, "tn_short", &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	CHECK_INT(auth_token(f.a, "", &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_MISSING);

	/* ttl 0 and negative: expired at once. */
	char t0[64], tneg[64];
	CHECK_INT(auth_token_create(f.a, &p, 0, t0, NULL, err), 0);
	CHECK_INT(auth_token_create(f.a, &p, -60, tneg, NULL, err), 0);
	CHECK_INT(auth_token(f.a, t0, &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_EXPIRED);
	CHECK_INT(auth_token(f.a, tneg, &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_EXPIRED);

	/* gc removes exactly the expired ones. */
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM tokens"), 4);
	CHECK_INT(auth_token_gc(f.a, err), 0);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM tokens"), 2);
	CHECK_INT(auth_token(f.a, tok, &q, &why, err), 0);

	/* A token outlives neither its principal nor the principal's enabling. */
	sql(&f, "UPDATE principals SET disabled = 1");
	CHECK_INT(auth_token(f.a, tok, &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	sql(&f, "DELETE FROM principals");
	CHECK_INT(auth_token(f.a, tok, &q, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	/* No token for a principal that does not exist. */
	CHECK_INT(auth_token_create(f.a, &p, 60, tok, NULL, err), TN_ENOTFOUND);
	fix_close(&f);
}

/* A Kinesis-like request signed with key_id/secret at time at. */
struct sreq {
	struct sigv4_header h[6];
	char date[17];
	struct buf authz;
	struct sigv4_request r;
};

#define BODY "{\"StreamName\":\"events\",\"Data\":\"eyJhIjoxfQ==\",\"PartitionKey\":\"k\"}"

static void sreq_make(struct sreq *s, const char *key_id, const char *secret,
		      const char *service, int64_t at)
{
	char err[TN_ERRLEN] = "";
	memset(s, 0, sizeof *s);
	time_format_amz(at, s->date, sizeof s->date);
	s->h[0] = (struct sigv4_header){ "Host", "127.0.0.1:7070" };
	s->h[1] = (struct sigv4_header){ "Content-Type", "application/x-amz-json-1.1" };
	s->h[2] = (struct sigv4_header){ "X-Amz-Target", "Kinesis_20131202.PutRecord" };
	s->h[3] = (struct sigv4_header){ "X-Amz-Date", s->date };
	s->r = (struct sigv4_request){ .method = "POST", .path = "/", .headers = s->h,
				       .nheaders = 4, .body = BODY, .body_len = strlen(BODY) };
	buf_init(&s->authz, 0);
	int rc = sigv4_sign(&s->r, key_id, secret, "us-east-1", service, NULL, &s->authz, err);
	if (rc)
		fprintf(stderr, "sign: %s\n", err);
	CHECK_INT(rc, 0);
	s->h[4] = (struct sigv4_header){ "Authorization", s->authz.data };
	s->r.nheaders = 5;
}

static int sigv4(struct fix *f, struct sreq *s, const char *service, struct principal *p,
		 enum auth_fail *why)
{
	char err[TN_ERRLEN] = "";
	int rc = auth_sigv4(f->a, &s->r, time_now_ms(), 900, service, p, why, err);
	if (rc)
		fprintf(stderr, "auth_sigv4: %s\n", err);
	return rc;
}

TEST(sigv4_end_to_end)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	struct sreq s;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	int64_t now = time_now_ms();

	sreq_make(&s, ROOT, ROOT_PW, "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);
	CHECK_INT(why, AUTH_OK);
	CHECK_STR(p.name, ROOT);
	CHECK(p.is_admin);
	CHECK_STR(p.via, "sigv4");
	/* Again, from the secret cache; and with no service constraint. */
	CHECK_INT(sigv4(&f, &s, NULL, &p, &why), 0);
	/* Scoped to kinesis, presented to firehose. */
	CHECK_INT(sigv4(&f, &s, "firehose", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);

	/* The extended form hands back what was verified. */
	struct sigv4_auth parsed;
	char err[TN_ERRLEN];
	sreq_make(&s, ROOT, ROOT_PW, "firehose", now);
	CHECK_INT(auth_sigv4_ex(f.a, &s.r, now, 900, "firehose", &p, &parsed, &why, err), 0);
	CHECK_STR(parsed.key_id, ROOT);
	CHECK_STR(parsed.service, "firehose");
	CHECK_INT(parsed.payload_hash[0] != '\0', 1);
	buf_release(&s.authz);

	/* Wrong secret, unknown key, skewed clock. */
	sreq_make(&s, ROOT, "not-the-password", "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
	sreq_make(&s, "AKIDUNKNOWN", ROOT_PW, "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	buf_release(&s.authz);
	sreq_make(&s, ROOT, ROOT_PW, "kinesis", now - 16 * 60 * 1000);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_SKEWED);
	buf_release(&s.authz);
	/* Unsigned request. */
	sreq_make(&s, ROOT, ROOT_PW, "kinesis", now);
	s.r.nheaders = 4;
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MISSING);
	buf_release(&s.authz);

	/* A new root password replaces the cached secret at once. */
	sreq_make(&s, ROOT, ROOT_PW, "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);
	set_root(&f, ROOT, "new-secret-key");
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
	sreq_make(&s, ROOT, "new-secret-key", "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);
	buf_release(&s.authz);

	/* A disabled key is unknown (fresh handle: nothing cached). */
	sql(&f, "UPDATE access_keys SET disabled = 1");
	auth_close(f.a);
	CHECK_INT(auth_open(f.m, f.key, &f.a, err), 0);
	sreq_make(&s, ROOT, "new-secret-key", "kinesis", now);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	buf_release(&s.authz);
	fix_close(&f);
}

/* True if the file at path contains needle anywhere. */
static bool file_contains(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	struct buf b = BUF_INIT(0);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		CHECK_INT(buf_append(&b, chunk, n), 0);
	fclose(fp);
	bool found = memmem(b.data, b.len, needle, strlen(needle)) != NULL;
	buf_release(&b);
	return found;
}

TEST(secret_is_sealed)
{
	struct fix f;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	char sealed[512];
	sql_text(&f, "SELECT secret_sealed FROM access_keys WHERE key_id = '" ROOT "'", sealed,
		 sizeof sealed);
	CHECK(sealed[0] != '\0');
	CHECK(strstr(sealed, ROOT_PW) == NULL);
	/* It opens with the master key, and only with it. */
	struct buf out = BUF_INIT(0);
	CHECK_INT(crypto_open(f.key, sealed, strlen(sealed), &out), 0);
	CHECK_STR(out.data, ROOT_PW);
	buf_reset(&out);
	uint8_t other[32];
	memcpy(other, f.key, 32);
	other[0] ^= 1;
	CHECK_INT(crypto_open(other, sealed, strlen(sealed), &out), TN_ECORRUPT);
	buf_release(&out);
	/* The plain password is nowhere in the database files. */
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", f.path);
	fix_close(&f);
	CHECK(!file_contains(f.path, ROOT_PW));
	CHECK(!file_contains(wal, ROOT_PW));
	CHECK(file_contains(f.path, ROOT) || file_contains(wal, ROOT)); /* the scan works */

	/* A lake opened with the wrong master key cannot use the key. */
	char err[TN_ERRLEN];
	struct meta *m;
	struct auth *a;
	struct principal p;
	enum auth_fail why;
	struct sreq s;
	CHECK_INT(meta_open(f.path, &m, err), 0);
	CHECK_INT(auth_open(m, other, &a, err), 0);
	sreq_make(&s, ROOT, ROOT_PW, "kinesis", time_now_ms());
	int rc = auth_sigv4(a, &s.r, time_now_ms(), 900, "kinesis", &p, &why, err);
	CHECK_INT(rc, TN_ECORRUPT);
	buf_release(&s.authz);
	auth_close(a);
	meta_close(m);
}

struct race {
	struct fix *f;
	int failures, successes;
};

/* 0 or a plain "wrong secret" are the only acceptable outcomes. */
static void race_count(struct race *r, int rc, enum auth_fail why)
{
	if (rc == 0)
		r->successes++;
	else if (rc != TN_EAUTH || why != AUTH_BAD_SECRET) {
		fprintf(stderr, "race: rc %d why %d\n", rc, (int)why);
		r->failures++;
	}
}

static void *race_worker(void *arg)
{
	struct race *r = arg;
	const char *pws[] = { "pw-A-1234", "pw-B-5678" };
	for (int i = 0; i < 100; i++) {
		struct principal p;
		enum auth_fail why = AUTH_OK;
		char err[TN_ERRLEN];
		struct sreq s;
		const char *pw = pws[i % 2];
		int rc = auth_password(r->f->a, ROOT, pw, &p, &why, err);
		race_count(r, rc, why);
		sreq_make(&s, ROOT, pw, "kinesis", time_now_ms());
		rc = auth_sigv4(r->f->a, &s.r, time_now_ms(), 900, "kinesis", &p, &why, err);
		race_count(r, rc, why);
		buf_release(&s.authz);
	}
	return NULL;
}

TEST(concurrent_use)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	fix_open(&f);
	set_root(&f, ROOT, "pw-A-1234");
	pthread_t t[4];
	struct race r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ &f, 0, 0 };
		CHECK_INT(pthread_create(&t[i], NULL, race_worker, &r[i]), 0);
	}
	/* Meanwhile the root password flips, clearing the caches each time. */
	for (int i = 0; i < 6; i++) {
		char err[TN_ERRLEN];
		CHECK_INT(auth_token_gc(f.a, err), 0);
		set_root(&f, ROOT, i % 2 ? "pw-A-1234" : "pw-B-5678");
	}
	int successes = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(r[i].failures, 0);
		successes += r[i].successes;
	}
	CHECK(successes > 0);
	/*
	 * The last change set pw-A.  A check that read the pw-B verifier before
	 * it and finished after it must not have left pw-B in the cache.
	 */
	CHECK_INT(password(&f, ROOT, "pw-B-5678", &p, &why), TN_EAUTH);
	CHECK_INT(password(&f, ROOT, "pw-A-1234", &p, &why), 0);
	fix_close(&f);
}

/* ---- principals: users, roles, keys ---------------------------------------- */

TEST(users_roles_and_admin_through_nesting)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	char err[TN_ERRLEN], tok[64];
	int64_t exp;
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	CHECK_INT(auth_user_add(f.a, "alice", "alice-password", err), 0);
	CHECK_INT(auth_user_add(f.a, "alice", "other-password", err), TN_ECONFLICT);
	CHECK_INT(auth_user_add(f.a, "bad name", "alice-password", err), TN_EINVAL);
	CHECK_INT(auth_user_add(f.a, "bob", "short", err), TN_EINVAL);
	CHECK_INT(auth_user_add(f.a, "admin", "admin-password", err), TN_ECONFLICT);
	CHECK_INT(password(&f, "alice", "alice-password", &p, &why), 0);
	CHECK(!p.is_admin);
	/* roles nest; admin reaches alice through ops */
	CHECK_INT(auth_role_add(f.a, "ops", err), 0);
	CHECK_INT(auth_role_grant(f.a, "admin", "ops", true, err), 0);
	CHECK_INT(auth_role_grant(f.a, "ops", "alice", true, err), 0);
	CHECK_INT(password(&f, "alice", "alice-password", &p, &why), 0);
	CHECK(p.is_admin);
	/* cycles are refused */
	CHECK_INT(auth_role_grant(f.a, "ops", "admin", true, err), TN_EINVAL);
	CHECK(strstr(err, "cycle") != NULL);
	CHECK_INT(auth_role_grant(f.a, "ops", "ops", true, err), TN_EINVAL);
	/* roles cannot log in */
	CHECK_INT(password(&f, "ops", "anything-at-all", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	/* revoking takes effect at once, cached or not */
	CHECK_INT(password(&f, "alice", "alice-password", &p, &why), 0);
	CHECK_INT(auth_token_create(f.a, &p, 3600, tok, &exp, err), 0);
	CHECK_INT(auth_role_grant(f.a, "ops", "alice", false, err), 0);
	CHECK_INT(password(&f, "alice", "alice-password", &p, &why), 0);
	CHECK(!p.is_admin);
	CHECK_INT(auth_token(f.a, tok, &p, &why, err), 0);
	CHECK(!p.is_admin);
	/* listing */
	struct auth_principal_list l;
	CHECK_INT(auth_principals(f.a, false, &l, err), 0);
	CHECK_INT((int)l.n, 2);
	CHECK_STR(l.v[0].name, "alice");
	CHECK_STR(l.v[1].name, ROOT);
	CHECK(l.v[1].is_root && l.v[1].is_admin);
	auth_principal_list_release(&l);
	CHECK_INT(auth_principals(f.a, true, &l, err), 0);
	CHECK_INT((int)l.n, 3);  /* admin, ops, raw_reader */
	CHECK_STR(l.v[1].name, "ops");
	CHECK_STR(l.v[1].roles, "admin");
	auth_principal_list_release(&l);
	/* password change ends old sessions; disable and remove */
	CHECK_INT(auth_user_passwd(f.a, "alice", "new-password-1", err), 0);
	CHECK_INT(auth_token(f.a, tok, &p, &why, err), TN_EAUTH);
	CHECK_INT(password(&f, "alice", "alice-password", &p, &why), TN_EAUTH);
	CHECK_INT(password(&f, "alice", "new-password-1", &p, &why), 0);
	CHECK_INT(auth_user_enable(f.a, "alice", false, err), 0);
	CHECK_INT(password(&f, "alice", "new-password-1", &p, &why), TN_EAUTH);
	CHECK_INT(auth_user_enable(f.a, "alice", true, err), 0);
	CHECK_INT(password(&f, "alice", "new-password-1", &p, &why), 0);
	CHECK_INT(auth_user_remove(f.a, ROOT, err), TN_EDENIED);
	CHECK_INT(auth_role_remove(f.a, "admin", err), TN_EDENIED);
	CHECK_INT(auth_user_remove(f.a, "alice", err), 0);
	CHECK_INT(password(&f, "alice", "new-password-1", &p, &why), TN_EAUTH);
	CHECK_INT(auth_user_remove(f.a, "alice", err), TN_ENOTFOUND);
	CHECK_INT(auth_role_remove(f.a, "ops", err), 0);
	CHECK_INT(sql_int(&f, "SELECT count(*) FROM principal_roles"), 0);
	fix_close(&f);
}

TEST(user_access_keys_work_and_stop_at_once)
{
	struct fix f;
	struct principal p;
	enum auth_fail why;
	struct sreq s;
	char err[TN_ERRLEN], id[AUTH_KEY_ID_LEN + 1], secret[AUTH_KEY_SECRET_LEN + 1];
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	CHECK_INT(auth_user_add(f.a, "svc", "svc-password", err), 0);
	CHECK_INT(auth_key_create(f.a, "svc", id, secret, err), 0);
	CHECK_INT((int)strlen(id), AUTH_KEY_ID_LEN);
	CHECK_INT((int)strlen(secret), AUTH_KEY_SECRET_LEN);
	CHECK(!strncmp(id, "TK", 2));
	CHECK_INT(auth_key_create(f.a, "nobody", id, secret, err), TN_ENOTFOUND);
	CHECK_INT(auth_key_create(f.a, "svc", id, secret, err), 0);
	/* the secret is stored sealed, never in the clear */
	char q[200];
	snprintf(q, sizeof q, "SELECT count(*) FROM access_keys WHERE secret_sealed LIKE '%%%s%%'",
		 secret);
	CHECK_INT(sql_int(&f, q), 0);
	sreq_make(&s, id, secret, "kinesis", time_now_ms());
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);
	CHECK_STR(p.name, "svc");
	CHECK(!p.is_admin);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);  /* cached */
	CHECK_INT(auth_key_set(f.a, id, AUTH_KEY_DISABLE, err), 0);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(auth_key_set(f.a, id, AUTH_KEY_ENABLE, err), 0);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), 0);
	CHECK_INT(auth_key_set(f.a, id, AUTH_KEY_DELETE, err), 0);
	CHECK_INT(sigv4(&f, &s, "kinesis", &p, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_UNKNOWN);
	CHECK_INT(auth_key_set(f.a, ROOT, AUTH_KEY_DISABLE, err), TN_EDENIED);
	buf_release(&s.authz);
	fix_close(&f);
}

TEST(failed_logins_lock_the_name_then_the_address)
{
	struct fix f;
	char err[TN_ERRLEN];
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	for (int i = 0; i < 9; i++) {
		CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.9", err), 0);
		auth_login_result(f.a, "mallory", "10.0.0.9", false);
	}
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.9", err), 0);
	auth_login_result(f.a, "mallory", "10.0.0.9", false);  /* the 10th */
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.8", err), TN_EAUTH);
	CHECK(strstr(err, "too many failed logins") != NULL);
	CHECK_INT(auth_login_check(f.a, "alice", "10.0.0.9", err), 0);  /* the address: not yet */
	/* spraying many names from one address locks the address */
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof name, "u%d", i);
		auth_login_result(f.a, name, "10.0.0.9", false);
	}
	CHECK_INT(auth_login_check(f.a, "alice", "10.0.0.9", err), TN_EAUTH);
	CHECK_INT(auth_login_check(f.a, "alice", "10.0.0.7", err), 0);
	/* a success does not lift a lock; an admin does */
	auth_login_result(f.a, "mallory", "10.0.0.8", true);
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.8", err), TN_EAUTH);
	CHECK_INT(auth_unlock(f.a, "mallory", err), 0);
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.8", err), 0);
	CHECK_INT(auth_unlock(f.a, "nobody", err), TN_ENOTFOUND);
	/* a success clears the count below the lock */
	for (int i = 0; i < 5; i++)
		auth_login_result(f.a, "bob", "10.0.0.5", false);
	auth_login_result(f.a, "bob", "10.0.0.5", true);
	for (int i = 0; i < 9; i++)
		auth_login_result(f.a, "bob", "10.0.0.5", false);
	CHECK_INT(auth_login_check(f.a, "bob", "10.0.0.5", err), 0);
	fix_close(&f);
}

TEST(a_lock_survives_a_spray_of_other_names)
{
	struct fix f;
	char err[TN_ERRLEN];
	fix_open(&f);
	set_root(&f, ROOT, ROOT_PW);
	for (int i = 0; i < 10; i++)
		auth_login_result(f.a, "mallory", "10.0.0.9", false);
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.1", err), TN_EAUTH);
	/* Far more names than counter slots, each failing once from its own address. */
	for (int i = 0; i < 5000; i++) {
		char name[16], addr[32];
		snprintf(name, sizeof name, "n%d", i);
		snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
		auth_login_result(f.a, name, addr, false);
	}
	CHECK_INT(auth_login_check(f.a, "mallory", "10.0.0.1", err), TN_EAUTH);
	/* The newest names are still counted: ten failures lock one of them. */
	for (int i = 0; i < 10; i++)
		auth_login_result(f.a, "n4999", "10.2.0.1", false);
	CHECK_INT(auth_login_check(f.a, "n4999", "10.2.0.2", err), TN_EAUTH);
	fix_close(&f);
}
