/*
 * principals.c - managing principals: users, roles, memberships, access
 * keys (`tarn user`, `tarn role`, `tarn key`, /v1/users, /v1/roles).
 *
 * Model (as PostgreSQL's roles): users and roles share one namespace in
 * the principals table; a user is a principal with a password verifier, a
 * role one without.  principal_roles says which roles a member (a user or
 * a role) holds; roles nest, and a grant that would make a cycle is
 * refused.  The built-in role admin makes its members admins (through any
 * nesting: AUTH_ADMIN_SQL); raw_reader is the role the raw zone's
 * default read grant names.  Root (TARN_ROOT_USER) stays outside this:
 * it cannot be removed, disabled or demoted here.
 *
 * Every change clears the authentication caches, so a removed user, a
 * disabled key or a revoked admin role stops working at the next request.
 * Secrets never leave these functions except a new key's secret, once.
 */
#include "auth/auth.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/banned.h"

/* Shortest password a user may be given (root's comes from the environment). */
#define AUTH_MIN_PASSWORD 8

static bool builtin_role(const char *name)
{
	return !strcmp(name, AUTH_ROLE_ADMIN) || !strcmp(name, AUTH_ROLE_RAW_READER);
}

/* kind of a principal: 'user', 'role', or "" when absent; root flag. */
static int principal_kind(struct auth *a, const char *name, char kind[8], bool *is_root,
			  bool *has_login, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	kind[0] = 0;
	*is_root = *has_login = false;
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "SELECT kind, is_root, scram IS NOT NULL FROM principals WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return auth_db_fail(a, err, "read principal");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		snprintf(kind, 8, "%s", (const char *)sqlite3_column_text(st, 0));
		*is_root = sqlite3_column_int(st, 1) != 0;
		*has_login = sqlite3_column_int(st, 2) != 0;
	} else if (s != SQLITE_DONE) {
		rc = auth_db_fail(a, err, "read principal");
	}
	sqlite3_finalize(st);
	return rc;
}

static int check_password(const char *password, char *err)
{
	size_t n = password ? strlen(password) : 0;
	if (n < AUTH_MIN_PASSWORD || n > 1024)
		return tn_fail(err, TN_EINVAL, "password: use %d..1024 characters", AUTH_MIN_PASSWORD);
	return 0;
}

static int name_check(const char *what, const char *name, char *err)
{
	if (!auth_name_ok(name))
		return tn_fail(err, TN_EINVAL, "%s name '%.64s': use 1..%d of letters, digits and "
			       ". _ - @ +", what, name ? name : "", TN_MAX_PRINCIPAL);
	return 0;
}

/* Runs fn's statements in one transaction under the metastore lock. */
static int txn_end(struct auth *a, int rc, char *err)
{
	if (rc == 0)
		rc = meta_exec(a->m, "COMMIT", err);
	if (rc)
		meta_exec(a->m, "ROLLBACK", NULL);
	meta_unlock(a->m);
	auth_caches_clear(a);
	return rc;
}

static int txn_begin(struct auth *a, char *err)
{
	meta_lock(a->m);
	int rc = meta_exec(a->m, "BEGIN IMMEDIATE", err);
	if (rc)
		meta_unlock(a->m);
	return rc;
}

int auth_user_add(struct auth *a, const char *name, const char *password, char *err)
{
	int rc;
	if ((rc = name_check("user", name, err)) || (rc = check_password(password, err)))
		return rc;
	struct buf scram = BUF_INIT(0);
	if (auth_scram_make(password, &scram))
		return tn_fail(err, TN_EINTERNAL, "user '%s': cannot derive a verifier", name);
	if ((rc = txn_begin(a, err)))
		goto out;
	char kind[8];
	bool root, login;
	rc = principal_kind(a, name, kind, &root, &login, err);
	if (rc == 0 && kind[0])
		rc = tn_fail(err, TN_ECONFLICT, "'%s' exists already (a %s)", name, kind);
	if (rc == 0)
		rc = auth_step_text(a, "INSERT INTO principals(name, kind, scram, created_ms) "
				       "VALUES(?1, 'user', ?2, ?4)", name, scram.data, NULL,
				    time_now_ms(), err);
	rc = txn_end(a, rc, err);
out:
	explicit_bzero(scram.data, scram.len);
	buf_release(&scram);
	return rc;
}

/* A user that exists and is not root, for the changes below. */
static int plain_user(struct auth *a, const char *name, const char *action, char *err)
{
	char kind[8];
	bool root, login;
	int rc = principal_kind(a, name, kind, &root, &login, err);
	if (rc)
		return rc;
	if (!kind[0] || !login)
		return tn_fail(err, TN_ENOTFOUND, "user '%s' does not exist", name);
	if (root)
		return tn_fail(err, TN_EDENIED, "'%s' is root: %s it through TARN_ROOT_USER / "
			       "TARN_ROOT_PASSWORD", name, action);
	return 0;
}

int auth_user_passwd(struct auth *a, const char *name, const char *password, char *err)
{
	int rc;
	if ((rc = name_check("user", name, err)) || (rc = check_password(password, err)))
		return rc;
	struct buf scram = BUF_INIT(0);
	if (auth_scram_make(password, &scram))
		return tn_fail(err, TN_EINTERNAL, "user '%s': cannot derive a verifier", name);
	if ((rc = txn_begin(a, err)))
		goto out;
	rc = plain_user(a, name, "change", err);
	if (rc == 0)
		rc = auth_step_text(a, "UPDATE principals SET scram = ?2 WHERE name = ?1", name,
				    scram.data, NULL, 0, err);
	/* a new password ends the sessions of the old one */
	if (rc == 0)
		rc = auth_step_text(a, "DELETE FROM tokens WHERE principal = ?1", name, NULL, NULL, 0,
				    err);
	rc = txn_end(a, rc, err);
out:
	explicit_bzero(scram.data, scram.len);
	buf_release(&scram);
	return rc;
}

int auth_user_enable(struct auth *a, const char *name, bool enabled, char *err)
{
	int rc = name_check("user", name, err);
	if (rc || (rc = txn_begin(a, err)))
		return rc;
	rc = plain_user(a, name, enabled ? "enable" : "disable", err);
	if (rc == 0)
		rc = auth_step_text(a, enabled ? "UPDATE principals SET disabled = 0 WHERE name = ?1"
					       : "UPDATE principals SET disabled = 1 WHERE name = ?1",
				    name, NULL, NULL, 0, err);
	return txn_end(a, rc, err);
}

int auth_user_remove(struct auth *a, const char *name, char *err)
{
	int rc = name_check("user", name, err);
	if (rc || (rc = txn_begin(a, err)))
		return rc;
	rc = plain_user(a, name, "remove", err);
	static const char *const del[] = {
		"DELETE FROM tokens WHERE principal = ?1",
		"DELETE FROM access_keys WHERE principal = ?1",
		"DELETE FROM principal_roles WHERE member = ?1",
		"DELETE FROM principals WHERE name = ?1",
	};
	for (size_t i = 0; i < sizeof del / sizeof del[0] && rc == 0; i++)
		rc = auth_step_text(a, del[i], name, NULL, NULL, 0, err);
	return txn_end(a, rc, err);
}

int auth_role_add(struct auth *a, const char *name, char *err)
{
	int rc = name_check("role", name, err);
	if (rc || (rc = txn_begin(a, err)))
		return rc;
	char kind[8];
	bool root, login;
	rc = principal_kind(a, name, kind, &root, &login, err);
	if (rc == 0 && kind[0])
		rc = tn_fail(err, TN_ECONFLICT, "'%s' exists already (a %s)", name, kind);
	if (rc == 0)
		rc = auth_step_text(a, "INSERT INTO principals(name, kind, created_ms) "
				       "VALUES(?1, 'role', ?4)", name, NULL, NULL, time_now_ms(), err);
	return txn_end(a, rc, err);
}

int auth_role_remove(struct auth *a, const char *name, char *err)
{
	int rc = name_check("role", name, err);
	if (rc)
		return rc;
	if (builtin_role(name))
		return tn_fail(err, TN_EDENIED, "role '%s' is built in", name);
	if ((rc = txn_begin(a, err)))
		return rc;
	char kind[8];
	bool root, login;
	rc = principal_kind(a, name, kind, &root, &login, err);
	if (rc == 0 && strcmp(kind, "role"))
		rc = tn_fail(err, TN_ENOTFOUND, "role '%s' does not exist", name);
	if (rc == 0)
		rc = auth_step_text(a, "DELETE FROM principal_roles WHERE member = ?1 OR role = ?1",
				    name, NULL, NULL, 0, err);
	if (rc == 0)
		rc = auth_step_text(a, "DELETE FROM principals WHERE name = ?1", name, NULL, NULL, 0,
				    err);
	return txn_end(a, rc, err);
}

/* Does role (transitively) hold member already?  Then granting role to member loops. */
static int holds(struct auth *a, const char *role, const char *member, bool *out, char *err)
{
	sqlite3_stmt *st = NULL;
	*out = false;
	if (!strcmp(role, member)) {
		*out = true;
		return 0;
	}
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "WITH RECURSIVE r(n) AS (SELECT role FROM principal_roles WHERE "
			       "member = ?1 UNION SELECT pr.role FROM principal_roles pr JOIN r ON "
			       "pr.member = r.n) SELECT 1 FROM r WHERE n = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return auth_db_fail(a, err, "read roles");
	sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, member, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	*out = s == SQLITE_ROW;
	int rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : auth_db_fail(a, err, "read roles");
	sqlite3_finalize(st);
	return rc;
}

int auth_role_grant(struct auth *a, const char *role, const char *member, bool grant, char *err)
{
	int rc;
	if ((rc = name_check("role", role, err)) || (rc = name_check("member", member, err)))
		return rc;
	if ((rc = txn_begin(a, err)))
		return rc;
	char kind[8], mkind[8];
	bool root, login, mroot, mlogin, loop = false;
	rc = principal_kind(a, role, kind, &root, &login, err);
	if (rc == 0 && strcmp(kind, "role"))
		rc = tn_fail(err, TN_ENOTFOUND, "role '%s' does not exist", role);
	if (rc == 0)
		rc = principal_kind(a, member, mkind, &mroot, &mlogin, err);
	if (rc == 0 && !mkind[0])
		rc = tn_fail(err, TN_ENOTFOUND, "'%s' is neither a user nor a role", member);
	if (rc == 0 && mroot && !grant)
		rc = tn_fail(err, TN_EDENIED, "'%s' is root: it is an admin whatever its roles",
			     member);
	/* member -> role loops when role already holds member (or they are one) */
	if (rc == 0 && grant && (rc = holds(a, role, member, &loop, err)) == 0 && loop)
		rc = tn_fail(err, TN_EINVAL, "granting role '%s' to '%s' would make a cycle "
			     "('%s' already holds '%s')", role, member, role, member);
	if (rc == 0)
		rc = auth_step_text(a, grant ? "INSERT OR IGNORE INTO principal_roles(member, role, "
					       "created_ms) VALUES(?1, ?2, ?4)"
					     : "DELETE FROM principal_roles WHERE member = ?1 AND "
					       "role = ?2",
				    member, role, NULL, time_now_ms(), err);
	return txn_end(a, rc, err);
}

/* ---- listing ---- */

void auth_principal_list_release(struct auth_principal_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].roles);
		free(l->v[i].keys);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int auth_principals(struct auth *a, bool roles, struct auth_principal_list *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	memset(out, 0, sizeof *out);
	meta_lock(a->m);
	if (sqlite3_prepare_v2(
		    meta_db(a->m),
		    "SELECT p.name, p.kind, " AUTH_ADMIN_SQL("p") ", p.is_root, p.disabled, "
		    "p.created_ms, (SELECT group_concat(role, ',') FROM (SELECT role FROM "
		    "principal_roles WHERE member = p.name ORDER BY role)), (SELECT "
		    "group_concat(key_id || CASE disabled WHEN 1 THEN ' (disabled)' ELSE '' END, ',') "
		    "FROM (SELECT key_id, disabled FROM access_keys WHERE principal = p.name AND "
		    "key_id <> p.name ORDER BY created_ms)) FROM principals p WHERE "
		    "CASE WHEN ?1 THEN p.kind = 'role' ELSE p.scram IS NOT NULL END ORDER BY p.name",
		    -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "list principals");
		goto out;
	}
	sqlite3_bind_int(st, 1, roles);
	while (sqlite3_step(st) == SQLITE_ROW) {
		out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
		struct auth_principal_info *p = &out->v[out->n++];
		memset(p, 0, sizeof *p);
		snprintf(p->name, sizeof p->name, "%s", (const char *)sqlite3_column_text(st, 0));
		p->role = !strcmp((const char *)sqlite3_column_text(st, 1), "role");
		p->is_admin = sqlite3_column_int(st, 2) != 0;
		p->is_root = sqlite3_column_int(st, 3) != 0;
		p->disabled = sqlite3_column_int(st, 4) != 0;
		p->created_ms = sqlite3_column_int64(st, 5);
		const char *r = (const char *)sqlite3_column_text(st, 6);
		const char *k = (const char *)sqlite3_column_text(st, 7);
		p->roles = xstrdup(r ? r : "");
		p->keys = xstrdup(k ? k : "");
	}
out:
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return rc;
}

/* ---- access keys ---- */

/* AWS-shaped: "TK" + 18 of A-Z2-7; the secret 40 of base64 without padding. */
static void key_id_make(char out[AUTH_KEY_ID_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t r[AUTH_KEY_ID_LEN];
	crypto_random(r, sizeof r);
	out[0] = 'T';
	out[1] = 'K';
	for (size_t i = 2; i < AUTH_KEY_ID_LEN; i++)
		out[i] = alphabet[r[i] & 31];
	out[AUTH_KEY_ID_LEN] = 0;
}

int auth_key_create(struct auth *a, const char *user, char key_id[AUTH_KEY_ID_LEN + 1],
		    char secret[AUTH_KEY_SECRET_LEN + 1], char *err)
{
	int rc = name_check("user", user, err);
	if (rc)
		return rc;
	uint8_t r[30];
	struct buf b64 = BUF_INIT(0), sealed = BUF_INIT(0);
	crypto_random(r, sizeof r);
	base64_encode(r, sizeof r, &b64);  /* 40 characters */
	for (size_t i = 0; i < b64.len; i++)
		if (b64.data[i] == '/')
			b64.data[i] = '-';
		else if (b64.data[i] == '+')
			b64.data[i] = '_';
	snprintf(secret, AUTH_KEY_SECRET_LEN + 1, "%s", b64.data);
	key_id_make(key_id);
	if (crypto_seal(a->master, secret, strlen(secret), &sealed)) {
		rc = tn_fail(err, TN_EINTERNAL, "user '%s': cannot seal the key", user);
		goto out;
	}
	if ((rc = txn_begin(a, err)))
		goto out;
	char kind[8];
	bool root, login;
	rc = principal_kind(a, user, kind, &root, &login, err);
	if (rc == 0 && !login)
		rc = tn_fail(err, TN_ENOTFOUND, "user '%s' does not exist", user);
	if (rc == 0)
		rc = auth_step_text(a, "INSERT INTO access_keys(key_id, principal, secret_sealed, "
				       "created_ms, disabled) VALUES(?1, ?2, ?3, ?4, 0)",
				    key_id, user, sealed.data, time_now_ms(), err);
	rc = txn_end(a, rc, err);
out:
	explicit_bzero(r, sizeof r);
	explicit_bzero(b64.data, b64.len);
	explicit_bzero(sealed.data, sealed.len);
	buf_release(&b64);
	buf_release(&sealed);
	if (rc)
		explicit_bzero(secret, AUTH_KEY_SECRET_LEN + 1);
	return rc;
}

int auth_key_set(struct auth *a, const char *key_id, int state, char *err)
{
	if (!auth_name_ok(key_id))
		return tn_fail(err, TN_EINVAL, "access key '%.40s': not a key id", key_id ? key_id : "");
	int rc = txn_begin(a, err);
	if (rc)
		return rc;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "SELECT k.principal, p.is_root FROM access_keys k JOIN principals p "
			       "ON p.name = k.principal WHERE k.key_id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "read access key");
	} else {
		sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
		int s = sqlite3_step(st);
		if (s == SQLITE_DONE)
			rc = tn_fail(err, TN_ENOTFOUND, "access key '%s' does not exist", key_id);
		else if (s != SQLITE_ROW)
			rc = auth_db_fail(a, err, "read access key");
		else if (sqlite3_column_int(st, 1) && !strcmp(key_id, (const char *)
							      sqlite3_column_text(st, 0)))
			rc = tn_fail(err, TN_EDENIED, "'%s' is root's key: it follows "
				     "TARN_ROOT_USER / TARN_ROOT_PASSWORD", key_id);
	}
	sqlite3_finalize(st);
	static const char *const sql[] = {
		[AUTH_KEY_ENABLE] = "UPDATE access_keys SET disabled = 0 WHERE key_id = ?1",
		[AUTH_KEY_DISABLE] = "UPDATE access_keys SET disabled = 1 WHERE key_id = ?1",
		[AUTH_KEY_DELETE] = "DELETE FROM access_keys WHERE key_id = ?1",
	};
	if (rc == 0)
		rc = auth_step_text(a, sql[state], key_id, NULL, NULL, 0, err);
	return txn_end(a, rc, err);
}

/* ---- login throttling ---- */

/*
 * The bucket of a throttle key: FNV-1a over the process's random salt, then
 * the key.  Every request with a password looks its user and address up
 * here, so a lookup reads one bucket, not every slot; the salt keeps
 * anyone from choosing names that crowd one bucket.
 */
static unsigned throttle_bucket(const struct auth *a, const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof a->salt; i++)
		h = (h ^ a->salt[i]) * 1099511628211ull;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return (unsigned)(h % AUTH_THROTTLE_BUCKETS);
}

/*
 * The entry of key in its bucket, made if absent (a free slot, else the
 * least recent one that is not a lock); a->mu held.
 */
static struct throttle_entry *throttle_slot(struct auth *a, const char *key, bool make)
{
	struct throttle_entry *free_slot = NULL, *oldest = NULL;
	struct throttle_entry *bucket = &a->throttle[throttle_bucket(a, key) * AUTH_THROTTLE_WAYS];
	for (unsigned i = 0; i < AUTH_THROTTLE_WAYS; i++) {
		struct throttle_entry *e = &bucket[i];
		if (e->key[0] && !strcmp(e->key, key))
			return e;
		if (!e->key[0] && !free_slot)
			free_slot = e;
		if (e->key[0] && e->locked_until_ms == 0 &&
		    (!oldest || e->window_start_ms < oldest->window_start_ms))
			oldest = e;
	}
	if (!make)
		return NULL;
	struct throttle_entry *e = free_slot ? free_slot : oldest;
	if (!e)
		return NULL;  /* every slot of the bucket is a lock: nothing more to count */
	if (e == free_slot)
		atomic_fetch_add(&a->throttled, 1);
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	return e;
}

static int locked(struct auth *a, const char *key, int64_t now, int64_t *until)
{
	struct throttle_entry *e = throttle_slot(a, key, false);
	if (e && e->locked_until_ms > now) {
		*until = e->locked_until_ms;
		return 1;
	}
	return 0;
}

int auth_login_check(struct auth *a, const char *user, const char *source, char *err)
{
	char ku[80], ka[80];
	if (atomic_load(&a->throttled) == 0)
		return 0;  /* no failure counted anywhere: nothing is locked */
	int64_t now = time_now_ms(), until = 0;
	snprintf(ku, sizeof ku, "u:%.64s", user ? user : "");
	snprintf(ka, sizeof ka, "a:%.64s", source ? source : "");
	pthread_mutex_lock(&a->mu);
	int hit = locked(a, ku, now, &until) || (source && *source && locked(a, ka, now, &until));
	pthread_mutex_unlock(&a->mu);
	if (hit)
		return tn_fail(err, TN_EAUTH, "too many failed logins: locked for %lld more "
			       "seconds (an admin can lift it: tarn user unlock)",
			       (long long)((until - now) / 1000 + 1));
	return 0;
}

static void count(struct auth *a, const char *key, int64_t now, bool ok, unsigned limit)
{
	struct throttle_entry *e = throttle_slot(a, key, !ok);
	if (!e)
		return;
	if (ok) {
		if (e->locked_until_ms <= now) {
			memset(e, 0, sizeof *e);
			atomic_fetch_sub(&a->throttled, 1);
		}
		return;
	}
	if (now - e->window_start_ms > AUTH_LOCK_WINDOW_MS) {
		e->window_start_ms = now;
		e->failures = 0;
	}
	if (++e->failures >= limit)
		e->locked_until_ms = now + AUTH_LOCK_MS;
}

void auth_login_result(struct auth *a, const char *user, const char *source, bool ok)
{
	char ku[80], ka[80];
	if (ok && atomic_load(&a->throttled) == 0)
		return;  /* a success clears counts, and there are none */
	int64_t now = time_now_ms();
	snprintf(ku, sizeof ku, "u:%.64s", user ? user : "");
	snprintf(ka, sizeof ka, "a:%.64s", source ? source : "");
	pthread_mutex_lock(&a->mu);
	count(a, ku, now, ok, AUTH_LOCK_FAILURES);
	if (source && *source)
		count(a, ka, now, ok, AUTH_LOCK_ADDR_FAILURES);
	pthread_mutex_unlock(&a->mu);
}

int auth_unlock(struct auth *a, const char *user, char *err)
{
	char ku[80];
	snprintf(ku, sizeof ku, "u:%.64s", user ? user : "");
	pthread_mutex_lock(&a->mu);
	struct throttle_entry *e = throttle_slot(a, ku, false);
	if (e) {
		memset(e, 0, sizeof *e);
		atomic_fetch_sub(&a->throttled, 1);
	}
	pthread_mutex_unlock(&a->mu);
	return e ? 0 : tn_fail(err, TN_ENOTFOUND, "user '%s' is not locked", user ? user : "");
}

/* ---- SCRAM for the PostgreSQL endpoint ------------------------------------ */

int auth_scram_verifier(struct auth *a, const char *user, char out[AUTH_VERIFIER_MAX],
			struct principal *p, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = TN_ENOTFOUND;
	out[0] = 0;
	memset(p, 0, sizeof *p);
	if (!user || !auth_name_ok(user))
		return tn_fail(err, TN_ENOTFOUND, "user '%.64s': unknown", user ? user : "");
	meta_lock(a->m);
	if (sqlite3_prepare_v2(meta_db(a->m),
			       "SELECT p.scram, " AUTH_ADMIN_SQL("p") ", p.disabled FROM principals p "
			       "WHERE p.name = ?1 AND p.scram IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = auth_db_fail(a, err, "read principal");
		goto out;
	}
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (sqlite3_column_int(st, 2) != 0 || !v || !*v || strlen(v) >= AUTH_VERIFIER_MAX) {
			rc = tn_fail(err, TN_ENOTFOUND, "user '%s': disabled or without a password",
				     user);
			goto out;
		}
		snprintf(out, AUTH_VERIFIER_MAX, "%s", v);
		snprintf(p->name, sizeof p->name, "%s", user);
		p->is_admin = sqlite3_column_int(st, 1) != 0;
		snprintf(p->via, sizeof p->via, "scram");
		rc = 0;
	} else if (s != SQLITE_DONE) {
		rc = auth_db_fail(a, err, "read principal");
	} else {
		rc = tn_fail(err, TN_ENOTFOUND, "user '%s': unknown", user);
	}
out:
	sqlite3_finalize(st);
	meta_unlock(a->m);
	return rc;
}

void auth_scram_dummy_secret(struct auth *a, uint8_t out[32])
{
	static const char label[] = "tarn pg scram dummy salt";
	crypto_hmac_sha256(a->master, sizeof a->master, label, sizeof label - 1, out);
}
