/*
 * auth.h - principals and credentials: who is calling.
 *
 * This layer answers "who is this?" for every edge; "may they?" is
 * policy's question.  Credentials kept in the metastore:
 *   - passwords as SCRAM-SHA-256 verifiers (RFC 5802/7677: salt,
 *     iterations, StoredKey, ServerKey), so the PostgreSQL endpoint can use
 *     the same verifier; HTTP Basic checks a password against it;
 *   - API tokens ("tn_" + 43 base64url chars of randomness), stored as
 *     SHA-256 hashes with an expiry;
 *   - S3/Kinesis access keys: key id and secret, the secret sealed with the
 *     lake's master key (AES-256-GCM) since SigV4 needs it in the clear.
 * Root: TARN_ROOT_USER / TARN_ROOT_PASSWORD; root's access key pair is the
 * same pair (as MinIO does).
 *
 * All comparisons of secrets are constant-time.  Thread-safe.
 */
#ifndef TN_AUTH_H
#define TN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meta;
struct buf;
struct sigv4_request;
struct sigv4_auth;

#define TN_MAX_PRINCIPAL 64

/* An authenticated caller.  Plain data: copy freely. */
struct principal {
	char name[TN_MAX_PRINCIPAL + 1];
	bool is_admin;
	char via[16];  /* "basic", "token", "sigv4", "scram": for the audit trail */
};

/* Why an authentication failed, for the edge to pick its AWS/HTTP error. */
enum auth_fail {
	AUTH_OK,
	AUTH_MISSING,        /* no credentials at all */
	AUTH_MALFORMED,      /* credentials present but unparsable */
	AUTH_UNKNOWN,        /* no such user, token or access key (or disabled) */
	AUTH_BAD_SECRET,     /* wrong password / signature does not match */
	AUTH_EXPIRED,        /* token or presigned URL past its expiry */
	AUTH_SKEWED,         /* request time more than the allowed skew away */
	AUTH_BAD_PAYLOAD,    /* x-amz-content-sha256 does not match the body */
};

struct auth;

/*
 * Opens the credential store over the metastore. master_key is the lake's
 * 32-byte key (<lake>/.tarn/master.key).  Caller frees with auth_close().
 */
int auth_open(struct meta *m, const uint8_t master_key[32], struct auth **out, char *err);
void auth_close(struct auth *a);

/*
 * Makes user/password the root principal (admin), replacing the stored
 * root if the name or password differ.  Used by `tarn init` and by
 * `tarn serve` when TARN_ROOT_USER/TARN_ROOT_PASSWORD are set.
 */
int auth_set_root(struct auth *a, const char *user, const char *password, char *err);
/* True once a root principal exists. */
bool auth_has_root(struct auth *a);

/* HTTP Basic: checks user/password. TN_EAUTH with *why set on failure. */
int auth_password(struct auth *a, const char *user, const char *password,
		  struct principal *out, enum auth_fail *why, char *err);
/* Bearer: checks an API token. */
int auth_token(struct auth *a, const char *token, struct principal *out,
	       enum auth_fail *why, char *err);
/*
 * Issues an API token for p valid ttl_s seconds (capped by the caller's
 * config).  token_out receives the token (NUL-terminated, < 64 bytes);
 * only its hash is stored.
 */
int auth_token_create(struct auth *a, const struct principal *p, int64_t ttl_s,
		      char token_out[64], int64_t *expires_ms, char *err);
/* Removes expired tokens. */
int auth_token_gc(struct auth *a, char *err);

/*
 * AWS Signature V4 (Authorization header form): checks the request against
 * the secret of its access key, the clock skew (skew_s, 900 for AWS) and
 * the payload hash.  service, if not NULL, must match the credential
 * scope's service ("kinesis", "firehose").  now_ms is the wall clock.
 */
int auth_sigv4(struct auth *a, const struct sigv4_request *req, int64_t now_ms, int skew_s,
	       const char *service, struct principal *out, enum auth_fail *why, char *err);
/*
 * As auth_sigv4, and also hands back the parsed and verified credentials
 * in *parsed (struct sigv4_auth of auth/sigv4.h): the S3 edge needs them
 * when it verifies with req->payload_deferred and checks the streamed
 * body afterwards with sigv4_payload_ok(parsed, sha256).  parsed may be
 * NULL.  Any thread.
 */
int auth_sigv4_ex(struct auth *a, const struct sigv4_request *req, int64_t now_ms, int skew_s,
		  const char *service, struct principal *out, struct sigv4_auth *parsed,
		  enum auth_fail *why, char *err);

/* ---- login throttling (principals.c) -------------------------------------- */

/*
 * Before checking a password: TN_EAUTH (with the time the lock ends) when
 * user or source address (may be "") is locked out after too many failed
 * logins; 0 otherwise.
 */
int auth_login_check(struct auth *a, const char *user, const char *source, char *err);
/* After a check: counts a failure (ok false) or clears the counts (ok true). */
void auth_login_result(struct auth *a, const char *user, const char *source, bool ok);
/* Lifts the lock of a user name (an admin's decision); TN_ENOTFOUND if none. */
int auth_unlock(struct auth *a, const char *user, char *err);

/* ---- SCRAM for the PostgreSQL endpoint (principals.c) --------------------- */

/* Room for a stored verifier ("SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>"). */
#define AUTH_VERIFIER_MAX 256

/*
 * The stored SCRAM-SHA-256 verifier of user into out (NUL-terminated) and
 * its principal into *p (via "scram"), for a SASL exchange run by the
 * caller (pg/scram.h).  TN_ENOTFOUND (err set) for an unknown or disabled
 * user, or one without a password; TN_EIO on a metastore failure.  The
 * caller checks auth_login_check before and reports auth_login_result
 * after, as for HTTP Basic.  Any thread.
 */
int auth_scram_verifier(struct auth *a, const char *user, char out[AUTH_VERIFIER_MAX],
			struct principal *p, char *err);
/*
 * A 32-byte secret stable for the lake (derived from its master key, not
 * the key itself) that salts the made-up verifiers of unknown users, so
 * their salts do not change between attempts or restarts.
 */
void auth_scram_dummy_secret(struct auth *a, uint8_t out[32]);

/* ---- principals (principals.c): users, roles, access keys ---------------- */

#define AUTH_ROLE_ADMIN "admin"           /* built in: its members are admins */
#define AUTH_ROLE_RAW_READER "raw_reader" /* built in: reads the raw zone */
#define AUTH_KEY_ID_LEN 20
#define AUTH_KEY_SECRET_LEN 40

/*
 * Users: a name (1..64 of letters, digits and . _ - @ +) and a password
 * (8..1024 bytes, kept as a SCRAM-SHA-256 verifier).  TN_ECONFLICT when
 * the name is taken (users and roles share one namespace), TN_ENOTFOUND
 * for an unknown user, TN_EDENIED for root (managed by TARN_ROOT_USER).
 * A new password revokes the user's tokens; removing a user removes its
 * tokens, keys and memberships; a disabled user is refused at once.
 */
int auth_user_add(struct auth *a, const char *name, const char *password, char *err);
int auth_user_passwd(struct auth *a, const char *name, const char *password, char *err);
int auth_user_enable(struct auth *a, const char *name, bool enabled, char *err);
int auth_user_remove(struct auth *a, const char *name, char *err);

/*
 * Roles: add, remove (not the built-in admin and raw_reader), and grant
 * (grant true) or revoke a role to a member, a user or another role.
 * Roles nest; a grant that makes a cycle is TN_EINVAL.  Holding admin,
 * directly or through nesting, makes a principal an admin.
 */
int auth_role_add(struct auth *a, const char *name, char *err);
int auth_role_remove(struct auth *a, const char *name, char *err);
int auth_role_grant(struct auth *a, const char *role, const char *member, bool grant, char *err);

/* One user or role as listed. */
struct auth_principal_info {
	char name[TN_MAX_PRINCIPAL + 1];
	bool role;            /* a role (no login) */
	bool is_admin;        /* effective, through roles */
	bool is_root, disabled;
	int64_t created_ms;
	char *roles;          /* roles held directly, "a,b" ("" if none) */
	char *keys;           /* access key ids, "TK...,TK... (disabled)" (not root's) */
};

struct auth_principal_list {
	struct auth_principal_info *v;
	size_t n;
};

/* Users (roles false: principals that can log in) or roles, by name. */
int auth_principals(struct auth *a, bool roles, struct auth_principal_list *out, char *err);
void auth_principal_list_release(struct auth_principal_list *l);

/*
 * Creates an access key for SigV4 (S3, Kinesis, Firehose) for user:
 * key_id ("TK" + 18 of A-Z2-7) and a 40-character secret, given once;
 * the secret is stored sealed with the lake's master key.
 */
int auth_key_create(struct auth *a, const char *user, char key_id[AUTH_KEY_ID_LEN + 1],
		    char secret[AUTH_KEY_SECRET_LEN + 1], char *err);

enum { AUTH_KEY_ENABLE, AUTH_KEY_DISABLE, AUTH_KEY_DELETE };
/* Enables, disables or deletes a key (root's own key: TN_EDENIED); effective at once. */
int auth_key_set(struct auth *a, const char *key_id, int state, char *err);

#endif
