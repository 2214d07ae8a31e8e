/*
 * scram.h - the server side of SASL SCRAM-SHA-256 (RFC 5802, RFC 7677) as
 * PostgreSQL runs it, against tarn's stored verifiers.
 *
 * No channel binding: the only mechanism offered is "SCRAM-SHA-256".  A
 * client choosing "SCRAM-SHA-256-PLUS" or sending gs2 flag 'p' is refused;
 * flags 'n' (no binding) and 'y' (client could bind, thinks the server
 * cannot: true here) are accepted.  The verifier is tarn's stored form
 * (src/auth/auth.c), PostgreSQL's:
 *     SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>
 *
 * Unknown users (and disabled ones, and unparsable verifiers) take the
 * same path with a made-up verifier: a salt derived from the user name
 * and a server secret (so it is stable across attempts, as a real user's
 * is), the usual iterations, random keys that no proof matches.  The
 * exchange looks the same and costs the same; it fails at the proof with
 * the same code and message as a wrong password.
 *
 * The flow, in the server's authentication phase:
 *     AuthenticationSASL ["SCRAM-SHA-256"]
 *     <- SASLInitialResponse (mechanism, client-first-message)
 *        pg_scram_first  -> AuthenticationSASLContinue (server-first-message)
 *     <- SASLResponse (client-final-message)
 *        pg_scram_final  -> AuthenticationSASLFinal (server-final-message), then
 *                           AuthenticationOk
 * Error codes, for the server's ErrorResponse:
 *     TN_EINVAL        malformed message, wrong nonce, wrong channel-binding
 *                      data, or a call out of order (08P01 protocol_violation);
 *     TN_EUNSUPPORTED  channel binding or an authorization identity asked
 *                      for, or another mechanism (0A000 / 28000);
 *     TN_EAUTH         the proof does not verify: wrong password or unknown
 *                      user (28P01, 'password authentication failed for user
 *                      "<name>"', the same text in both cases).
 * After any error the exchange is over (later calls fail with TN_EINVAL).
 *
 * One struct pg_scram per authentication; one thread at a time.
 */
#ifndef TN_PG_SCRAM_H
#define TN_PG_SCRAM_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define PG_SCRAM_MECH "SCRAM-SHA-256"
#define PG_SCRAM_MECH_PLUS "SCRAM-SHA-256-PLUS"
/* Random bytes of the server's nonce (PostgreSQL uses 18). */
#define PG_SCRAM_NONCE_RAW 18
/* Iterations and salt length of the made-up verifier of unknown users (auth.c's). */
#define PG_SCRAM_DUMMY_ITERATIONS 4096
#define PG_SCRAM_DUMMY_SALT 16

struct pg_scram;

/* A new exchange; free with pg_scram_free (accepts NULL). */
struct pg_scram *pg_scram_new(void);
void pg_scram_free(struct pg_scram *s);

/*
 * Test hook: use nonce (printable ASCII, no ',') as the server's part of
 * the nonce instead of random bytes.  Only tests call it; before
 * pg_scram_first.
 */
void pg_scram_set_nonce(struct pg_scram *s, const char *nonce);

/*
 * Reads the SASLInitialResponse's mechanism and client-first-message
 * (msg[0..n)) and appends the server-first-message to out.
 * user names the account (the startup packet's user; the SCRAM user name
 * in the message is ignored, as PostgreSQL does); verifier is its stored
 * verifier, or NULL for an unknown or disabled user; secret (secret_len
 * bytes, stable for the lake, e.g. derived from its master key) salts the
 * made-up verifier of unknown users.
 */
int pg_scram_first(struct pg_scram *s, const char *mechanism, const void *msg, size_t n,
		   const char *user, const char *verifier, const uint8_t *secret,
		   size_t secret_len, struct buf *out, char *err);

/*
 * Reads the client-final-message (msg[0..n)), checks the channel binding
 * data, the nonce and the proof, and appends the server-final-message
 * ("v=<ServerSignature>") to out.  0 means the client proved the password.
 */
int pg_scram_final(struct pg_scram *s, const void *msg, size_t n, struct buf *out, char *err);

#endif
