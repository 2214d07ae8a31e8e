/*
 * auth.c - principals and credentials over the metastore (see auth.h).
 *
 * Purpose: answer "who is calling?" for passwords (HTTP Basic), API tokens
 * (Bearer) and AWS SigV4 access keys, against the principals, access_keys
 * and tokens tables of the metastore (created by catalog/meta.c).
 *
 * Design:
 *   - Passwords are stored only as PostgreSQL-format SCRAM-SHA-256
 *     verifiers ("SCRAM-SHA-256$4096:salt$StoredKey:ServerKey", RFC 5802/
 *     7677), so the PostgreSQL endpoint can run SCRAM with the same row.
 *     A Basic password is checked by recomputing StoredKey (PBKDF2, 4096
 *     rounds: 1-2 ms).
 *   - Because clients send Basic credentials on every request, a small
 *     cache remembers (user, SHA-256(process salt | user | password)) of
 *     recent successes: a repeated correct password costs one hash.  A
 *     wrong password always takes the slow path.  An entry is trusted for
 *     AUTH_CACHE_TTL_MS, then re-checked against the row (one indexed read,
 *     no PBKDF2 if the verifier is unchanged), so a change made by another
 *     process or node takes effect within that time; auth_set_root clears
 *     the caches at once.
 *   - Access key secrets are sealed (AES-256-GCM, master key) in the row;
 *     unsealed secrets are cached the same way, keyed by key id.
 *   - Tokens are "tn_" + base64url(32 random bytes); the row keeps the hex
 *     SHA-256 of the token only.  Tokens are read from the metastore on
 *     every use (one indexed read), so revocation is immediate.
 *
 * Invariants:
 *   - secrets are compared in constant time; unknown users cost a PBKDF2
 *     like known ones, so timing does not reveal which names exist;
 *   - plain secrets exist only in memory (cache entries, stack copies), and
 *     are wiped when dropped;
 *   - meta_lock() is held from prepare to finalize of every statement, and
 *     a->mu only around cache access; a->mu is never held while taking
 *     meta_lock() (no lock order to get wrong);
 *   - one root principal at most (is_root = 1).
 */
#include "auth/auth.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"
#include "auth/sigv4.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/banned.h"

/* ---- helpers ---------------------------------------------------------- */

int auth_db_fail(struct auth *a, char *err, const char *what)
{
	sqlite3 *db = meta_db(a->m);
	int code = sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO;
	return tn_fail(err, code, "credentials: %s: %s", what, sqlite3_errmsg(db));
}

static int deny(enum auth_fail *why, enum auth_fail w)
{
	if (why)
		*why = w;
	return TN_EAUTH;
}

static int allow(enum auth_fail *why)
{
	if (why)
		*why = AUTH_OK;
	return 0;
}

bool auth_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > TN_MAX_PRINCIPAL)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@' || c == '+'))
			return false;
	}
	return true;
}

static void fill_principal(struct principal *out, const char *name, bool is_admin,
			   const char *via)
{
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", name);
	out->is_admin = is_admin;
	snprintf(out->via, sizeof out->via, "%s", via);
}

static bool fresh(int64_t checked_ns)
{
	return time_mono_ns() - checked_ns < (int64_t)AUTH_CACHE_TTL_MS * 1000000;
}

static void key_entry_drop(struct key_entry *e)
{
	if (e->secret) {
		explicit_bzero(e->secret, e->secret_len);
		free(e->secret);
	}
	memset(e, 0, sizeof *e);
}

void auth_caches_clear(struct auth *a)
{
	pthread_mutex_lock(&a->mu);
	a->gen++;
	explicit_bzero(a->pw, sizeof a->pw);
	for (unsigned i = 0; i < AUTH_KEY_CACHE; i++)
		key_entry_drop(&a->keys[i]);
	pthread_mutex_unlock(&a->mu);
}

static uint64_t cache_gen(struct auth *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t g = a->gen;
	pthread_mutex_unlock(&a->mu);
	return g;
}

/* ---- SCRAM verifiers -------------------------------------------------- */

/* "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" for password with a fresh salt. */
int auth_scram_make(const char *password, struct buf *out)
{
	uint8_t salt[SCRAM_SALT_LEN], salted[SHA256_LEN], ck[SHA256_LEN], stored[SHA256_LEN],
		sk[SHA256_LEN];
	crypto_random(salt, sizeof salt);
	crypto_pbkdf2_sha256(password, strlen(password), salt, sizeof salt, SCRAM_ITERATIONS,
			     salted, sizeof salted);
	crypto_hmac_sha256(salted, sizeof salted, "Client Key", 10, ck);
	crypto_sha256(ck, sizeof ck, stored);
	crypto_hmac_sha256(salted, sizeof salted, "Server Key", 10, sk);
	int rc = buf_printf(out, "SCRAM-SHA-256$%d:", SCRAM_ITERATIONS);
	if (rc == 0)
		rc = base64_encode(salt, sizeof salt, out);
	if (rc == 0)
		rc = buf_putc(out, '$');
	if (rc == 0)
		rc = base64_encode(stored, sizeof stored, out);
	if (rc == 0)
		rc = buf_putc(out, ':');
	if (rc == 0)
		rc = base64_encode(sk, sizeof sk, out);
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ck, sizeof ck);
	explicit_bzero(sk, sizeof sk);
	return rc;
}

/*
 * True if password matches the verifier.  A verifier that does not parse
 * never matches (and costs the same PBKDF2 as one that does).
 */
static bool scram_check(const char *verifier, const char *password)
{
	static const uint8_t dummy_salt[SCRAM_SALT_LEN] = "tarn-dummy-salt";
	struct buf salt = BUF_INIT(64), stored = BUF_INIT(64);
	unsigned iters = SCRAM_ITERATIONS;
	bool ok = false, parsed = false;
	const char *v = verifier ? verifier : "";
	const char *prefix = "SCRAM-SHA-256$";
	if (strncmp(v, prefix, strlen(prefix)) == 0) {
		const char *p = v + strlen(prefix);
		char *end = NULL;
		long it = strtol(p, &end, 10);
		const char *colon = end && *end == ':' ? end : NULL;
		const char *dollar = colon ? strchr(colon + 1, '$') : NULL;
		const char *colon2 = dollar ? strchr(dollar + 1, ':') : NULL;
		if (colon2 && it >= 1 && it <= SCRAM_MAX_ITERATIONS &&
		    base64_decode(colon + 1, (size_t)(dollar - colon - 1), &salt) == 0 &&
		    base64_decode(dollar + 1, (size_t)(colon2 - dollar - 1), &stored) == 0 &&
		    salt.len > 0 && stored.len == SHA256_LEN) {
			iters = (unsigned)it;
			parsed = true;
		}
	}
	uint8_t salted[SHA256_LEN], ck[SHA256_LEN], h[SHA256_LEN];
	crypto_pbkdf2_sha256(password, strlen(password),
			     parsed ? (const uint8_t *)salt.data : dummy_salt,
			     parsed ? salt.len : sizeof dummy_salt, iters, salted, sizeof salted);
	crypto_hmac_sha256(salted, sizeof salted, "Client Key", 10, ck);
	crypto_sha256(ck, sizeof ck, h);
	if (parsed)
		ok = crypto_equal(h, sizeof h, stored.data, stored.len);
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ck, sizeof ck);
	buf_release(&salt);
	buf_release(&stored);
	return ok;
}

/* ---- rows ------------------------------------------------------------- */

struct prow {
	char scram[AUTH_MAX_VERIFIER];
	bool is_admin, is_root, disabled;
};

/* Reads a principal: 0, TN_ENOTFOUND, or TN_EIO + message. */
static int principal_read(struct auth *a, const char *name, struct prow *out, char *err)
{
	sqlite3 *db = meta_db(a->m);
	sqlite3_stmt *st = NULL;
	int rc = TN_ENOTFOUND;
	memset(out, 0, sizeof *out);
	meta_lock(a->m);
	if (sqlite3_prepare_v2(db,
			       "SELECT p.scram, " AUTH_ADMIN_SQL("p") ", p.is_root, p.disabled "
			       "FROM principals p WHERE p.name = ? AND p.scram IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "read principal");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		snprintf(out->scram, sizeof out->scram, "%s", v ? v : "");
		out->is_admin = sqlite3_column_int(st, 1) != 0;
		out->is_root = sqlite3_column_int(st, 2) != 0;
		out->disabled = sqlite3_column_int(st, 3) != 0;
		rc = 0;
	} else if (s != SQLITE_DONE) {
		rc = auth_db_fail(a, err, "read principal");
	}
out:
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return rc;
}

struct krow {
	char principal[TN_MAX_PRINCIPAL + 1];
	struct buf sealed;
	bool key_disabled;
	bool principal_exists, is_admin, principal_disabled;
};

static int key_read(struct auth *a, const char *key_id, struct krow *out, char *err)
{
	sqlite3 *db = meta_db(a->m);
	sqlite3_stmt *st = NULL;
	int rc = TN_ENOTFOUND;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(db,
			       "SELECT k.principal, k.secret_sealed, k.disabled, p.name, "
			       AUTH_ADMIN_SQL("p") ", p.disabled FROM access_keys k "
			       "LEFT JOIN principals p ON p.name = k.principal WHERE k.key_id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "read access key");
		goto out;
	}
	sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		const char *sealed = (const char *)sqlite3_column_text(st, 1);
		snprintf(out->principal, sizeof out->principal, "%s", p ? p : "");
		rc = buf_puts(&out->sealed, sealed ? sealed : "");
		if (rc)
			rc = tn_fail(err, TN_ECORRUPT, "access key '%s': sealed secret too long",
				     key_id);
		out->key_disabled = sqlite3_column_int(st, 2) != 0;
		out->principal_exists = sqlite3_column_type(st, 3) != SQLITE_NULL;
		out->is_admin = sqlite3_column_int(st, 4) != 0;
		out->principal_disabled = sqlite3_column_int(st, 5) != 0;
	} else if (s != SQLITE_DONE) {
		rc = auth_db_fail(a, err, "read access key");
	}
out:
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return rc;
}

/* ---- open / close ----------------------------------------------------- */

int auth_open(struct meta *m, const uint8_t master_key[32], struct auth **out, char *err)
{
	if (!m || !master_key)
		return tn_fail(err, TN_EINVAL, "credentials: no metastore or master key");
	struct auth *a = xcalloc(1, sizeof *a);
	a->m = m;
	memcpy(a->master, master_key, sizeof a->master);
	pthread_mutex_init(&a->mu, NULL);
	crypto_random(a->salt, sizeof a->salt);
	/* Fail now, with a clear message, if the schema is not there. */
	sqlite3_stmt *st = NULL;
	meta_lock(m);
	int rc = sqlite3_prepare_v2(meta_db(m),
				    "SELECT 1 FROM principals, access_keys, tokens LIMIT 0", -1,
				    &st, NULL) == SQLITE_OK
			 ? 0
			 : auth_db_fail(a, err, "open");
	sqlite3_finalize(st);
	meta_unlock(m);
	if (rc) {
		auth_close(a);
		return rc;
	}
	*out = a;
	return 0;
}

void auth_close(struct auth *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < AUTH_KEY_CACHE; i++)
		key_entry_drop(&a->keys[i]);
	pthread_mutex_destroy(&a->mu);
	explicit_bzero(a, sizeof *a);
	free(a);
}

/* ---- root ------------------------------------------------------------- */

/* True if the stored root is already exactly user/password (nothing to write). */
static bool root_unchanged(struct auth *a, const char *user, const char *password)
{
	struct prow p;
	struct krow k;
	bool same = false;
	memset(&k, 0, sizeof k);
	buf_init(&k.sealed, 0);
	if (principal_read(a, user, &p, NULL) != 0 || !p.is_root || !p.is_admin || p.disabled)
		goto out;
	/* Exactly one root, and it is this one. */
	sqlite3_stmt *st = NULL;
	int roots = -1;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m), "SELECT count(*) FROM principals WHERE is_root = 1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		roots = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	meta_unlock(a->m);
	if (roots != 1 || !scram_check(p.scram, password))
		goto out;
	if (key_read(a, user, &k, NULL) != 0 || k.key_disabled || strcmp(k.principal, user) != 0)
		goto out;
	struct buf secret = BUF_INIT(0);
	if (crypto_open(a->master, k.sealed.data, k.sealed.len, &secret) == 0)
		same = crypto_equal(secret.data, secret.len, password, strlen(password));
	explicit_bzero(secret.data, secret.len);
	buf_release(&secret);
out:
	buf_release(&k.sealed);
	return same;
}

int auth_step_text(struct auth *a, const char *sql, const char *t1, const char *t2,
		     const char *t3, int64_t i4, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(meta_db(a->m), sql, -1, &st, NULL) != SQLITE_OK)
		return auth_db_fail(a, err, "prepare");
	int n = sqlite3_bind_parameter_count(st);
	if (n >= 1)
		sqlite3_bind_text(st, 1, t1, -1, SQLITE_STATIC);
	if (n >= 2)
		sqlite3_bind_text(st, 2, t2, -1, SQLITE_STATIC);
	if (n >= 3)
		sqlite3_bind_text(st, 3, t3, -1, SQLITE_STATIC);
	if (n >= 4)
		sqlite3_bind_int64(st, 4, i4);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = auth_db_fail(a, err, "write");
	sqlite3_finalize(st);
	return rc;
}

int auth_set_root(struct auth *a, const char *user, const char *password, char *err)
{
	if (!auth_name_ok(user))
		return tn_fail(err, TN_EINVAL,
			       "root user '%.64s': use 1..%d of letters, digits and . _ - @ +",
			       user ? user : "", TN_MAX_PRINCIPAL);
	size_t plen = password ? strlen(password) : 0;
	if (plen == 0 || plen > AUTH_MAX_PASSWORD)
		return tn_fail(err, TN_EINVAL, "root password: must be 1..%d bytes",
			       AUTH_MAX_PASSWORD);
	if (root_unchanged(a, user, password))
		return 0;

	struct buf scram = BUF_INIT(AUTH_MAX_VERIFIER - 1), sealed = BUF_INIT(0);
	int rc = auth_scram_make(password, &scram);
	if (rc == 0)
		rc = crypto_seal(a->master, password, plen, &sealed);
	if (rc) {
		rc = tn_fail(err, TN_EINTERNAL, "root: cannot derive credentials");
		goto out;
	}
	int64_t now = time_now_ms();
	meta_lock(a->m);
	rc = meta_exec(a->m, "BEGIN IMMEDIATE", err);
	if (rc == 0) {
		/* Only one root: a root under another name goes, with its keys and tokens. */
		const char *del[] = {
			"DELETE FROM access_keys WHERE principal IN "
			"(SELECT name FROM principals WHERE is_root = 1 AND name <> ?1)",
			"DELETE FROM tokens WHERE principal IN "
			"(SELECT name FROM principals WHERE is_root = 1 AND name <> ?1)",
			"DELETE FROM principals WHERE is_root = 1 AND name <> ?1",
			"DELETE FROM principal_roles WHERE member NOT IN (SELECT name FROM principals)",
		};
		for (size_t i = 0; i < 4 && rc == 0; i++)
			rc = auth_step_text(a, del[i], user, NULL, NULL, 0, err);
		/* a former root named like a built-in role leaves the role behind */
		if (rc == 0)
			rc = meta_exec(a->m, AUTH_BUILTIN_ROLES_SQL, err);
		if (rc == 0)
			rc = auth_step_text(a,
				       "INSERT INTO principals(name, kind, scram, is_admin, is_root, "
				       "disabled, created_ms) VALUES(?1, 'user', ?2, 1, 1, 0, ?4) "
				       "ON CONFLICT(name) DO UPDATE SET scram = excluded.scram, "
				       "is_admin = 1, is_root = 1, disabled = 0",
				       user, scram.data, NULL, now, err);
		if (rc == 0)
			rc = auth_step_text(a, "DELETE FROM access_keys WHERE key_id = ?1", user, NULL,
				       NULL, 0, err);
		if (rc == 0)
			rc = auth_step_text(a,
				       "INSERT INTO access_keys(key_id, principal, secret_sealed, "
				       "created_ms, disabled) VALUES(?1, ?2, ?3, ?4, 0)",
				       user, user, sealed.data, now, err);
		if (rc == 0)
			rc = meta_exec(a->m, "COMMIT", err);
		if (rc)
			meta_exec(a->m, "ROLLBACK", NULL);
	}
	meta_unlock(a->m);
	auth_caches_clear(a);
out:
	explicit_bzero(sealed.data, sealed.len);
	buf_release(&scram);
	buf_release(&sealed);
	return rc;
}

bool auth_has_root(struct auth *a)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m), "SELECT 1 FROM principals WHERE is_root = 1 LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK)
		yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return yes;
}

/* ---- passwords -------------------------------------------------------- */

static void pw_hash(struct auth *a, const char *user, const char *password,
		    uint8_t out[SHA256_LEN])
{
	size_t ul = strlen(user), pl = strlen(password);
	size_t n = sizeof a->salt + ul + 1 + pl;
	uint8_t *m = xmalloc(n);
	memcpy(m, a->salt, sizeof a->salt);
	memcpy(m + sizeof a->salt, user, ul);
	m[sizeof a->salt + ul] = 0;
	memcpy(m + sizeof a->salt + ul + 1, password, pl);
	crypto_sha256(m, n, out);
	explicit_bzero(m, n);
	free(m);
}

/*
 * Cache lookup: 1 = fresh hit (*is_admin set), 2 = stale hit (its verifier
 * copied to scram, to re-check against the row), 0 = miss.
 */
static int pw_cache_get(struct auth *a, const char *user, const uint8_t h[SHA256_LEN],
			bool *is_admin, char scram[AUTH_MAX_VERIFIER])
{
	int hit = 0;
	pthread_mutex_lock(&a->mu);
	for (unsigned i = 0; i < AUTH_PW_CACHE && !hit; i++) {
		struct pw_entry *e = &a->pw[i];
		if (!e->used || strcmp(e->user, user) != 0 ||
		    !crypto_equal(e->hash, sizeof e->hash, h, SHA256_LEN))
			continue;
		*is_admin = e->is_admin;
		if (fresh(e->checked_ns)) {
			hit = 1;
		} else {
			memcpy(scram, e->scram, AUTH_MAX_VERIFIER);
			hit = 2;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return hit;
}

static void pw_cache_put(struct auth *a, uint64_t gen, const char *user,
			 const uint8_t h[SHA256_LEN], const char *scram, bool is_admin)
{
	pthread_mutex_lock(&a->mu);
	if (gen == a->gen) {
		struct pw_entry *e = NULL;
		for (unsigned i = 0; i < AUTH_PW_CACHE && !e; i++)
			if (a->pw[i].used && strcmp(a->pw[i].user, user) == 0)
				e = &a->pw[i];
		if (!e)
			e = &a->pw[a->pw_next++ % AUTH_PW_CACHE];
		memset(e, 0, sizeof *e);
		e->used = true;
		snprintf(e->user, sizeof e->user, "%s", user);
		memcpy(e->hash, h, SHA256_LEN);
		snprintf(e->scram, sizeof e->scram, "%s", scram);
		e->is_admin = is_admin;
		e->checked_ns = time_mono_ns();
	}
	pthread_mutex_unlock(&a->mu);
}

static void pw_cache_forget(struct auth *a, const char *user)
{
	pthread_mutex_lock(&a->mu);
	for (unsigned i = 0; i < AUTH_PW_CACHE; i++)
		if (a->pw[i].used && strcmp(a->pw[i].user, user) == 0)
			explicit_bzero(&a->pw[i], sizeof a->pw[i]);
	pthread_mutex_unlock(&a->mu);
}

int auth_password(struct auth *a, const char *user, const char *password,
		  struct principal *out, enum auth_fail *why, char *err)
{
	if (!user || !password) {
		tn_fail(err, TN_EAUTH, "no user name or password");
		return deny(why, AUTH_MISSING);
	}
	if (!auth_name_ok(user) || strlen(password) > AUTH_MAX_PASSWORD) {
		scram_check(NULL, ""); /* same cost as a real check */
		tn_fail(err, TN_EAUTH, "user '%.64s': unknown", user);
		return deny(why, AUTH_UNKNOWN);
	}
	uint8_t h[SHA256_LEN];
	bool is_admin = false;
	char cached[AUTH_MAX_VERIFIER];
	uint64_t gen = cache_gen(a);
	pw_hash(a, user, password, h);
	int hit = pw_cache_get(a, user, h, &is_admin, cached);
	if (hit == 1) {
		fill_principal(out, user, is_admin, "basic");
		return allow(why);
	}

	struct prow p;
	int rc = principal_read(a, user, &p, err);
	if (rc && rc != TN_ENOTFOUND)
		return rc;
	if (rc == TN_ENOTFOUND || p.disabled || !p.scram[0]) {
		pw_cache_forget(a, user);
		scram_check(NULL, password);
		tn_fail(err, TN_EAUTH, "user '%s': %s", user,
			rc ? "unknown" : p.disabled ? "disabled" : "has no password");
		return deny(why, AUTH_UNKNOWN);
	}
	/* A stale hit whose verifier did not change needs no PBKDF2. */
	bool ok = hit == 2 && strcmp(cached, p.scram) == 0;
	if (!ok)
		ok = scram_check(p.scram, password);
	if (!ok) {
		/* The cached right password (if any) stays: a wrong guess must not evict it. */
		tn_fail(err, TN_EAUTH, "user '%s': wrong password", user);
		return deny(why, AUTH_BAD_SECRET);
	}
	pw_cache_put(a, gen, user, h, p.scram, p.is_admin);
	fill_principal(out, user, p.is_admin, "basic");
	return allow(why);
}

/* ---- tokens ----------------------------------------------------------- */

static void token_hash(const char *token, char hex[2 * SHA256_LEN + 1])
{
	uint8_t d[SHA256_LEN];
	crypto_sha256(token, strlen(token), d);
	hex_encode(d, sizeof d, hex);
}

static bool token_shape_ok(const char *t)
{
	if (!t || strlen(t) != TOKEN_LEN || strncmp(t, TOKEN_PREFIX, 3) != 0)
		return false;
	for (const char *c = t + 3; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

int auth_token_create(struct auth *a, const struct principal *p, int64_t ttl_s,
		      char token_out[64], int64_t *expires_ms, char *err)
{
	struct prow row;
	int rc = principal_read(a, p->name, &row, err);
	if (rc == TN_ENOTFOUND || (rc == 0 && row.disabled))
		return tn_fail(err, TN_ENOTFOUND, "principal '%s': %s", p->name,
			       rc ? "does not exist" : "is disabled");
	if (rc)
		return rc;
	/* +-100 years keeps the arithmetic far from overflow. */
	const int64_t max_ttl = 100LL * 366 * 86400;
	if (ttl_s > max_ttl)
		ttl_s = max_ttl;
	if (ttl_s < -max_ttl)
		ttl_s = -max_ttl;

	uint8_t raw[TOKEN_RANDOM];
	struct buf b64 = BUF_INIT(0);
	crypto_random(raw, sizeof raw);
	rc = base64_encode(raw, sizeof raw, &b64);
	explicit_bzero(raw, sizeof raw);
	if (rc) {
		buf_release(&b64);
		return tn_fail(err, TN_EINTERNAL, "token: cannot encode");
	}
	char tok[64];
	size_t n = 0;
	memcpy(tok, TOKEN_PREFIX, 3);
	n = 3;
	for (size_t i = 0; i < b64.len && b64.data[i] != '='; i++) {
		char c = b64.data[i];
		tok[n++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	tok[n] = '\0';
	explicit_bzero(b64.data, b64.len);
	buf_release(&b64);
	if (n != TOKEN_LEN)
		TN_BUG("token length %zu", n);

	char hash[2 * SHA256_LEN + 1];
	token_hash(tok, hash);
	int64_t now = time_now_ms(), exp = now + ttl_s * 1000;
	sqlite3_stmt *st = NULL;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "INSERT INTO tokens(hash, principal, created_ms, expires_ms) "
			       "VALUES(?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "store token");
	} else {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, exp);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = auth_db_fail(a, err, "store token");
	}
	sqlite3_finalize(st);
	meta_unlock(a->m);
	if (rc == 0) {
		memcpy(token_out, tok, n + 1);
		if (expires_ms)
			*expires_ms = exp;
	}
	explicit_bzero(tok, sizeof tok);
	return rc;
}

int auth_token(struct auth *a, const char *token, struct principal *out, enum auth_fail *why,
	       char *err)
{
	if (!token || !*token) {
		tn_fail(err, TN_EAUTH, "no token");
		return deny(why, AUTH_MISSING);
	}
	if (!token_shape_ok(token)) {
		tn_fail(err, TN_EAUTH, "token: not a tarn token (tn_ + 43 characters)");
		return deny(why, AUTH_MALFORMED);
	}
	char hash[2 * SHA256_LEN + 1];
	token_hash(token, hash);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	enum auth_fail w = AUTH_UNKNOWN;
	char name[TN_MAX_PRINCIPAL + 1] = "";
	bool is_admin = false;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "SELECT t.principal, t.expires_ms, p.name, " AUTH_ADMIN_SQL("p") ", p.disabled "
			       "FROM tokens t LEFT JOIN principals p ON p.name = t.principal "
			       "WHERE t.hash = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "read token");
		goto out;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		snprintf(name, sizeof name, "%s", p ? p : "");
		int64_t exp = sqlite3_column_int64(st, 1);
		bool exists = sqlite3_column_type(st, 2) != SQLITE_NULL;
		is_admin = sqlite3_column_int(st, 3) != 0;
		bool disabled = sqlite3_column_int(st, 4) != 0;
		if (exp <= time_now_ms()) {
			w = AUTH_EXPIRED;
			rc = tn_fail(err, TN_EAUTH, "token of '%s': expired", name);
		} else if (!exists || disabled) {
			rc = tn_fail(err, TN_EAUTH, "token of '%s': principal %s", name,
				     exists ? "is disabled" : "no longer exists");
		} else {
			w = AUTH_OK;
		}
	} else if (s == SQLITE_DONE) {
		rc = tn_fail(err, TN_EAUTH, "token: unknown or revoked");
	} else {
		rc = auth_db_fail(a, err, "read token");
	}
out:
	sqlite3_finalize(st);
	meta_unlock(a->m);
	if (rc == TN_EAUTH)
		return deny(why, w);
	if (rc)
		return rc;
	fill_principal(out, name, is_admin, "token");
	return allow(why);
}

int auth_token_gc(struct auth *a, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m), "DELETE FROM tokens WHERE expires_ms <= ?", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "remove expired tokens");
	} else {
		sqlite3_bind_int64(st, 1, time_now_ms());
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = auth_db_fail(a, err, "remove expired tokens");
	}
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return rc;
}

/* ---- access keys (SigV4) ---------------------------------------------- */

/* A copy of a key's secret and owner, for one verification. */
struct key_use {
	char principal[TN_MAX_PRINCIPAL + 1];
	bool is_admin;
	char *secret;
	size_t secret_len;
};

static void key_use_release(struct key_use *k)
{
	if (k->secret) {
		explicit_bzero(k->secret, k->secret_len);
		free(k->secret);
	}
	memset(k, 0, sizeof *k);
}

/* Copies a fresh cache entry for key_id into out; false on miss or stale. */
static bool key_cache_get(struct auth *a, const char *key_id, struct key_use *out,
			  uint8_t stale_hash[SHA256_LEN], bool *stale)
{
	bool hit = false;
	*stale = false;
	pthread_mutex_lock(&a->mu);
	for (unsigned i = 0; i < AUTH_KEY_CACHE; i++) {
		struct key_entry *e = &a->keys[i];
		if (!e->used || strcmp(e->key_id, key_id) != 0)
			continue;
		snprintf(out->principal, sizeof out->principal, "%s", e->principal);
		out->is_admin = e->is_admin;
		out->secret = xmalloc(e->secret_len + 1);
		memcpy(out->secret, e->secret, e->secret_len);
		out->secret[e->secret_len] = '\0';
		out->secret_len = e->secret_len;
		if (fresh(e->checked_ns)) {
			hit = true;
		} else {
			*stale = true;
			memcpy(stale_hash, e->sealed_hash, SHA256_LEN);
		}
		break;
	}
	pthread_mutex_unlock(&a->mu);
	return hit;
}

static void key_cache_put(struct auth *a, uint64_t gen, const char *key_id,
			  const struct key_use *k, const uint8_t sealed_hash[SHA256_LEN])
{
	pthread_mutex_lock(&a->mu);
	if (gen == a->gen) {
		struct key_entry *e = NULL;
		for (unsigned i = 0; i < AUTH_KEY_CACHE && !e; i++)
			if (a->keys[i].used && strcmp(a->keys[i].key_id, key_id) == 0)
				e = &a->keys[i];
		if (!e)
			e = &a->keys[a->key_next++ % AUTH_KEY_CACHE];
		key_entry_drop(e);
		e->used = true;
		snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
		snprintf(e->principal, sizeof e->principal, "%s", k->principal);
		e->is_admin = k->is_admin;
		e->secret = xmalloc(k->secret_len + 1);
		memcpy(e->secret, k->secret, k->secret_len);
		e->secret[k->secret_len] = '\0';
		e->secret_len = k->secret_len;
		memcpy(e->sealed_hash, sealed_hash, SHA256_LEN);
		e->checked_ns = time_mono_ns();
	}
	pthread_mutex_unlock(&a->mu);
}

static void key_cache_forget(struct auth *a, const char *key_id)
{
	pthread_mutex_lock(&a->mu);
	for (unsigned i = 0; i < AUTH_KEY_CACHE; i++)
		if (a->keys[i].used && strcmp(a->keys[i].key_id, key_id) == 0)
			key_entry_drop(&a->keys[i]);
	pthread_mutex_unlock(&a->mu);
}

/* The secret and owner of key_id: from the cache, else the row (unsealed). */
static int key_lookup(struct auth *a, const char *key_id, struct key_use *out,
		      enum auth_fail *why, char *err)
{
	uint8_t stale_hash[SHA256_LEN], h[SHA256_LEN];
	bool stale;
	uint64_t gen = cache_gen(a);
	if (key_cache_get(a, key_id, out, stale_hash, &stale))
		return 0;

	struct krow k;
	memset(&k, 0, sizeof k);
	buf_init(&k.sealed, 64u << 10);
	int rc = key_read(a, key_id, &k, err);
	if (rc == TN_ENOTFOUND || (rc == 0 && (k.key_disabled || !k.principal_exists ||
					       k.principal_disabled))) {
		key_cache_forget(a, key_id);
		key_use_release(out);
		rc = tn_fail(err, TN_EAUTH, "access key '%s': %s", key_id,
			     rc ? "unknown" : k.key_disabled ? "disabled"
					    : !k.principal_exists ? "owner no longer exists"
								  : "owner is disabled");
		deny(why, AUTH_UNKNOWN);
		goto out;
	}
	if (rc) {
		key_use_release(out);
		goto out;
	}
	crypto_sha256(k.sealed.data, k.sealed.len, h);
	/* A stale entry whose sealed secret did not change keeps its secret. */
	if (!(stale && crypto_equal(h, sizeof h, stale_hash, sizeof stale_hash))) {
		key_use_release(out);
		struct buf secret = BUF_INIT(SIGV4_MAX_SECRET);
		if (crypto_open(a->master, k.sealed.data, k.sealed.len, &secret)) {
			buf_release(&secret);
			deny(why, AUTH_UNKNOWN);
			rc = tn_fail(err, TN_ECORRUPT,
				     "access key '%s': its sealed secret does not open with this "
				     "lake's master key",
				     key_id);
			goto out;
		}
		out->secret = buf_detach(&secret, &out->secret_len);
	}
	snprintf(out->principal, sizeof out->principal, "%s", k.principal);
	out->is_admin = k.is_admin;
	key_cache_put(a, gen, key_id, out, h);
out:
	buf_release(&k.sealed);
	return rc;
}

int auth_sigv4_ex(struct auth *a, const struct sigv4_request *req, int64_t now_ms, int skew_s,
		  const char *service, struct principal *out, struct sigv4_auth *parsed,
		  enum auth_fail *why, char *err)
{
	struct sigv4_auth local;
	struct sigv4_auth *sa = parsed ? parsed : &local;
	enum auth_fail w = AUTH_MALFORMED;
	int rc = sigv4_parse(req, sa, &w, err);
	if (rc)
		return deny(why, w);
	if (service && strcmp(sa->service, service) != 0) {
		tn_fail(err, TN_EAUTH, "credential scope service '%s' is not '%s'", sa->service,
			service);
		return deny(why, AUTH_MALFORMED);
	}
	struct key_use k;
	memset(&k, 0, sizeof k);
	rc = key_lookup(a, sa->key_id, &k, &w, err);
	if (rc) {
		if (why)
			*why = rc == TN_EAUTH ? w : AUTH_UNKNOWN;
		return rc;
	}
	rc = sigv4_verify(req, sa, k.secret, k.secret_len, now_ms, skew_s, &w, err);
	if (rc == 0)
		fill_principal(out, k.principal, k.is_admin, "sigv4");
	key_use_release(&k);
	if (why)
		*why = rc ? w : AUTH_OK;
	return rc;
}

int auth_sigv4(struct auth *a, const struct sigv4_request *req, int64_t now_ms, int skew_s,
	       const char *service, struct principal *out, enum auth_fail *why, char *err)
{
	return auth_sigv4_ex(a, req, now_ms, skew_s, service, out, NULL, why, err);
}
