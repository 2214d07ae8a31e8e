/*
 * auth_int.h - internals shared by auth.c (authentication) and
 * principals.c (users, roles, keys); nothing outside src/auth/ includes it.
 */
#ifndef TN_AUTH_INT_H
#define TN_AUTH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/sigv4.h"
#include "core/crypto.h"

struct buf;

/*
 * Caps and tunables.  The caches hold the recently active users and keys
 * of one lake (a team, a few services): 64 each is plenty, and a miss only
 * costs the slow path.  10 s bounds how long a password change or a
 * disabled principal made elsewhere goes unnoticed.  Passwords and
 * verifiers are short strings; 1 KiB is far past any real one.
 */
#define AUTH_PW_CACHE 64
#define AUTH_KEY_CACHE 64
#define AUTH_CACHE_TTL_MS 10000
#define AUTH_MAX_PASSWORD 1024
#define AUTH_MAX_VERIFIER 256
#define SCRAM_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS (1 << 20)
#define SCRAM_SALT_LEN 16
#define TOKEN_PREFIX "tn_"
#define TOKEN_RANDOM 32
#define TOKEN_LEN (3 + 43)

struct pw_entry {
	bool used;
	char user[TN_MAX_PRINCIPAL + 1];
	uint8_t hash[SHA256_LEN];      /* SHA-256(salt | user | 0 | password) */
	char scram[AUTH_MAX_VERIFIER]; /* the verifier it was checked against */
	bool is_admin;
	int64_t checked_ns;            /* monotonic time of the last DB check */
};

struct key_entry {
	bool used;
	char key_id[SIGV4_MAX_KEY_ID + 1];
	char principal[TN_MAX_PRINCIPAL + 1];
	bool is_admin;
	char *secret;                  /* heap, wiped on drop */
	size_t secret_len;
	uint8_t sealed_hash[SHA256_LEN]; /* SHA-256 of the sealed row value */
	int64_t checked_ns;
};

/*
 * Login throttling: failures counted per user name and per source address
 * in a small table; AUTH_LOCK_FAILURES failures within AUTH_LOCK_WINDOW_MS
 * lock that name for AUTH_LOCK_MS, and AUTH_LOCK_ADDR_FAILURES lock the
 * address (higher: one address may be many people behind a proxy, and a
 * locked address locks its admins out too; it still stops spraying one
 * password over many names).  In memory only: a restart lifts every lock
 * (the audit trail keeps the failures).
 */
/* Failed-login counters: a key's slot is one of the WAYS of its bucket. */
#define AUTH_THROTTLE_BUCKETS 32
#define AUTH_THROTTLE_WAYS 16
#define AUTH_THROTTLE_SLOTS (AUTH_THROTTLE_BUCKETS * AUTH_THROTTLE_WAYS)
#define AUTH_LOCK_FAILURES 10
#define AUTH_LOCK_ADDR_FAILURES 50
#define AUTH_LOCK_WINDOW_MS (10 * 60 * 1000)
#define AUTH_LOCK_MS (15 * 60 * 1000)

struct throttle_entry {
	char key[80];                  /* "u:<name>" or "a:<address>"; "" = free */
	unsigned failures;
	int64_t window_start_ms, locked_until_ms;
};

struct auth {
	struct meta *m;
	struct throttle_entry throttle[AUTH_THROTTLE_SLOTS];  /* under mu */
	/* slots in use (written under mu): while 0, no login is counted or
	 * locked, and a check or a success has nothing to look up */
	atomic_uint throttled;
	uint8_t master[32];
	pthread_mutex_t mu;            /* guards everything below */
	uint8_t salt[32];              /* per process: cache hashes mean nothing elsewhere */
	uint64_t gen;                  /* bumped by auth_set_root: drops in-flight inserts */
	struct pw_entry pw[AUTH_PW_CACHE];
	struct key_entry keys[AUTH_KEY_CACHE];
	unsigned pw_next, key_next;    /* round-robin replacement */
};


/*
 * SQL of a principal's effective admin flag (alias a of principals): its
 * own is_admin, or membership, direct or through nested roles, of a role
 * with is_admin (the built-in role "admin").  UNION stops on cycles.
 */
#define AUTH_ADMIN_SQL(a)                                                                    \
	"(" a ".is_admin OR EXISTS (WITH RECURSIVE r(n) AS (SELECT role FROM principal_roles " \
	"WHERE member = " a ".name UNION SELECT pr.role FROM principal_roles pr JOIN r ON "    \
	"pr.member = r.n) SELECT 1 FROM r JOIN principals q ON q.name = r.n WHERE q.is_admin))"

/* The built-in roles (also created by migration 4 of meta.c). */
#define AUTH_BUILTIN_ROLES_SQL                                                 \
	"INSERT OR IGNORE INTO principals(name, kind, is_admin, created_ms) "  \
	"VALUES('admin', 'role', 1, 0), ('raw_reader', 'role', 0, 0)"

/* Failure of a metastore call: TN_EIO (TN_ENOSPC when full) with the reason. */
int auth_db_fail(struct auth *a, char *err, const char *what);
/* A principal name: 1..TN_MAX_PRINCIPAL of letters, digits and . _ - @ + */
bool auth_name_ok(const char *s);
/* A SCRAM-SHA-256 verifier of password with a fresh salt, appended to out. */
int auth_scram_make(const char *password, struct buf *out);
/* Drops every cached check: the next request reads the metastore. */
void auth_caches_clear(struct auth *a);
/* Runs sql with up to three text parameters and an integer ?4 (under meta_lock). */
int auth_step_text(struct auth *a, const char *sql, const char *t1, const char *t2,
		   const char *t3, int64_t i4, char *err);

#endif
