/*
 * scram.c - server side of SCRAM-SHA-256 without channel binding (see
 * scram.h).
 *
 * Design: a two-step state machine (NEW -> FIRST_SENT -> DONE, or FAILED
 * from anywhere).  The verifier is parsed here from its documented text
 * form (auth.c keeps its parser private); the made-up verifier of unknown
 * users replaces it when it is absent or does not parse, so both take
 * exactly the same steps: the only difference is that the made-up
 * StoredKey is random, so the final constant-time comparison fails.
 *
 * Messages (RFC 5802 section 7):
 *   client-first  gs2-header client-first-bare
 *     gs2-header  ("n" | "y" | "p=" cb-name) "," [authzid] ","
 *     bare        [reserved-mext ","] "n=" saslname "," "r=" c-nonce ["," ext]*
 *   server-first  "r=" c-nonce s-nonce ",s=" salt ",i=" iterations
 *   client-final  "c=" base64(gs2-header) ",r=" nonce ["," ext]* ",p=" proof
 *   server-final  "v=" base64(ServerSignature)
 *   AuthMessage   = client-first-bare "," server-first "," client-final-without-proof
 *   ClientKey     = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) == StoredKey
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * Invariants: key material is wiped when the state is freed; no message
 * may hold a NUL; comparisons of secrets are constant-time.
 */
#include "pg/scram.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

#define VERIFIER_PREFIX "SCRAM-SHA-256$"
#define MAX_ITERATIONS (1 << 20)   /* auth.c's SCRAM_MAX_ITERATIONS */
#define MAX_SALT 64
#define MAX_NONCE_PART 256         /* the client's nonce: libpq sends 24 chars */
#define MAX_USER 256

enum { ST_NEW, ST_FIRST_SENT, ST_DONE, ST_FAILED };

struct pg_scram {
	int state;
	bool dummy;
	unsigned iters;
	uint8_t salt[MAX_SALT];
	size_t salt_len;
	uint8_t stored_key[SHA256_LEN];
	uint8_t server_key[SHA256_LEN];
	char gs2[4];              /* "n,," or "y,," as the client sent it */
	char user[MAX_USER + 1];
	char *test_nonce;         /* pg_scram_set_nonce, or NULL */
	char *nonce;              /* c-nonce + s-nonce */
	char *bare;               /* client-first-message-bare */
	char *server_first;
};

struct pg_scram *pg_scram_new(void)
{
	return xcalloc(1, sizeof(struct pg_scram));
}

void pg_scram_free(struct pg_scram *s)
{
	if (!s)
		return;
	free(s->test_nonce);
	free(s->nonce);
	free(s->bare);
	free(s->server_first);
	explicit_bzero(s, sizeof *s);
	free(s);
}

void pg_scram_set_nonce(struct pg_scram *s, const char *nonce)
{
	free(s->test_nonce);
	s->test_nonce = xstrdup(nonce);
}

static int fail(struct pg_scram *s, char *err, int code, const char *what)
{
	s->state = ST_FAILED;
	return tn_fail(err, code, "%s", what);
}

/* ---- the verifier ----------------------------------------------------------- */

/* Decodes base64 s[0..n) into exactly want bytes (want 0: 1..cap bytes). */
static bool b64_exact(const char *s, size_t n, uint8_t *out, size_t cap, size_t want,
		      size_t *got)
{
	struct buf b = BUF_INIT(cap + 4);
	bool ok = n > 0 && base64_decode(s, n, &b) == 0 && b.len > 0 && b.len <= cap &&
		  (want == 0 || b.len == want);
	if (ok) {
		memcpy(out, b.data, b.len);
		if (got)
			*got = b.len;
	}
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	return ok;
}

/* Parses "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" into s. */
static bool verifier_parse(struct pg_scram *s, const char *v)
{
	size_t pl = strlen(VERIFIER_PREFIX);
	if (!v || strncmp(v, VERIFIER_PREFIX, pl) != 0)
		return false;
	const char *p = v + pl;
	unsigned long it = 0;
	const char *q = p;
	while (*q >= '0' && *q <= '9' && q - p < 8)
		it = it * 10 + (unsigned long)(*q++ - '0');
	if (q == p || *q != ':' || it < 1 || it > MAX_ITERATIONS)
		return false;
	const char *salt = q + 1;
	const char *dollar = strchr(salt, '$');
	if (!dollar)
		return false;
	const char *stored = dollar + 1;
	const char *colon = strchr(stored, ':');
	if (!colon)
		return false;
	const char *server = colon + 1;
	if (!b64_exact(salt, (size_t)(dollar - salt), s->salt, MAX_SALT, 0, &s->salt_len) ||
	    !b64_exact(stored, (size_t)(colon - stored), s->stored_key, SHA256_LEN, SHA256_LEN,
		       NULL) ||
	    !b64_exact(server, strlen(server), s->server_key, SHA256_LEN, SHA256_LEN, NULL))
		return false;
	s->iters = (unsigned)it;
	return true;
}

/*
 * The made-up verifier: salt = HMAC(secret, "tarn-scram-mock-salt" | 0 |
 * user)[0..16), so the same unknown name always shows the same salt, as a
 * real user's does; random keys no proof can match.
 */
static void verifier_dummy(struct pg_scram *s, const char *user, const uint8_t *secret,
			   size_t secret_len)
{
	static const char label[] = "tarn-scram-mock-salt";
	struct buf m = BUF_INIT(0);
	buf_append(&m, label, sizeof label);  /* with its NUL: a separator */
	buf_puts(&m, user);
	uint8_t mac[SHA256_LEN];
	crypto_hmac_sha256(secret ? secret : (const uint8_t *)"", secret ? secret_len : 0, m.data,
			   m.len, mac);
	buf_release(&m);
	memcpy(s->salt, mac, PG_SCRAM_DUMMY_SALT);
	s->salt_len = PG_SCRAM_DUMMY_SALT;
	s->iters = PG_SCRAM_DUMMY_ITERATIONS;
	crypto_random(s->stored_key, sizeof s->stored_key);
	crypto_random(s->server_key, sizeof s->server_key);
	s->dummy = true;
}

/* ---- message pieces ----------------------------------------------------------- */

/* printable = %x21-2B / %x2D-7E (RFC 5802: printable ASCII except ','). */
static bool nonce_ok(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* saslname: no ',' and '=' only as "=2C" or "=3D". */
static bool saslname_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ',')
			return false;
		if (p[i] == '=') {
			if (n - i < 3)
				return false;
			if (!((p[i + 1] == '2' && p[i + 2] == 'C') || (p[i + 1] == '3' && p[i + 2] == 'D')))
				return false;
			i += 2;
		}
	}
	return true;
}

/* The attribute "<c>=value" at *p, up to the next ',' or the end; advances *p past it. */
static bool attr(const char **p, char c, const char **val, size_t *len)
{
	const char *s = *p;
	if (s[0] != c || s[1] != '=')
		return false;
	s += 2;
	const char *e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	*val = s;
	*len = (size_t)(e - s);
	*p = e;
	return true;
}

/* Zero or more ",<letter>=value" up to the end of p. */
static bool extensions_ok(const char *p)
{
	while (*p == ',') {
		if (!((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) || p[2] != '=')
			return false;
		p += 3;
		p += strcspn(p, ",");
	}
	return *p == '\0';
}

/* Copies msg[0..n) to a heap C string, refusing a NUL inside. */
static char *cstr(const void *msg, size_t n)
{
	if (memchr(msg, 0, n))
		return NULL;
	return xstrndup(msg, n);
}

/* ---- step 1 -------------------------------------------------------------------- */

static int first(struct pg_scram *s, const char *m, char *err)
{
	const char *p = m;
	/* gs2-header */
	if (p[0] == 'p')
		return fail(s, err, TN_EUNSUPPORTED,
			    "scram: the client asks for channel binding, which this server does not "
			    "support");
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return fail(s, err, TN_EINVAL,
			    "malformed scram message: unexpected channel-binding flag");
	if (p[2] == 'a' && p[3] == '=')
		return fail(s, err, TN_EUNSUPPORTED,
			    "scram: an authorization identity is not supported");
	if (p[2] != ',')
		return fail(s, err, TN_EINVAL, "malformed scram message: expected ',' after the flag");
	memcpy(s->gs2, p, 3);
	s->gs2[3] = '\0';
	p += 3;
	const char *bare = p;
	/* client-first-message-bare */
	if (p[0] == 'm' && p[1] == '=')
		return fail(s, err, TN_EUNSUPPORTED, "scram: mandatory extensions are not supported");
	const char *v;
	size_t vl;
	if (!attr(&p, 'n', &v, &vl) || !saslname_ok(v, vl) || *p != ',')
		return fail(s, err, TN_EINVAL, "malformed scram message: expected the user name");
	p++;
	if (!attr(&p, 'r', &v, &vl) || !nonce_ok(v, vl) || vl > MAX_NONCE_PART)
		return fail(s, err, TN_EINVAL, "malformed scram message: expected the client nonce");
	/* Optional extensions ("x=value") after the nonce are ignored, as RFC 5802 allows. */
	if (!extensions_ok(p))
		return fail(s, err, TN_EINVAL, "malformed scram message: garbage after the nonce");

	/* the server's nonce */
	struct buf b = BUF_INIT(0);
	buf_append(&b, v, vl);
	if (s->test_nonce) {
		buf_puts(&b, s->test_nonce);
	} else {
		uint8_t raw[PG_SCRAM_NONCE_RAW];
		crypto_random(raw, sizeof raw);
		base64_encode(raw, sizeof raw, &b);
	}
	s->nonce = buf_detach(&b, NULL);
	s->bare = xstrdup(bare);

	struct buf sf = BUF_INIT(0);
	buf_puts(&sf, "r=");
	buf_puts(&sf, s->nonce);
	buf_puts(&sf, ",s=");
	base64_encode(s->salt, s->salt_len, &sf);
	buf_printf(&sf, ",i=%u", s->iters);
	s->server_first = buf_detach(&sf, NULL);
	return 0;
}

int pg_scram_first(struct pg_scram *s, const char *mechanism, const void *msg, size_t n,
		   const char *user, const char *verifier, const uint8_t *secret,
		   size_t secret_len, struct buf *out, char *err)
{
	if (s->state != ST_NEW)
		return fail(s, err, TN_EINVAL, "scram: the client-first-message came out of order");
	if (mechanism && !strcmp(mechanism, PG_SCRAM_MECH_PLUS))
		return fail(s, err, TN_EUNSUPPORTED,
			    "scram: the client selected SCRAM-SHA-256-PLUS; channel binding is not "
			    "supported");
	if (!mechanism || strcmp(mechanism, PG_SCRAM_MECH) != 0)
		return fail(s, err, TN_EINVAL,
			    "client selected an invalid sasl authentication mechanism");
	snprintf(s->user, sizeof s->user, "%s", user ? user : "");
	if (!verifier_parse(s, verifier))
		verifier_dummy(s, s->user, secret, secret_len);
	char *m = cstr(msg, n);
	if (!m)
		return fail(s, err, TN_EINVAL, "malformed scram message: a NUL inside");
	int rc = first(s, m, err);
	free(m);
	if (rc)
		return rc;
	rc = buf_puts(out, s->server_first);
	if (rc)
		return fail(s, err, rc, "scram: no room for the server-first-message");
	s->state = ST_FIRST_SENT;
	return 0;
}

/* ---- step 2 -------------------------------------------------------------------- */

static int final(struct pg_scram *s, const char *m, struct buf *out, char *err)
{
	const char *p = m, *v;
	size_t vl;
	/* channel binding: base64 of the gs2 header, exactly */
	if (!attr(&p, 'c', &v, &vl) || *p != ',')
		return fail(s, err, TN_EINVAL,
			    "malformed scram message: expected the channel-binding data");
	uint8_t cb[16];
	size_t cbl = 0;
	if (!b64_exact(v, vl, cb, sizeof cb, 0, &cbl) || cbl != strlen(s->gs2) ||
	    memcmp(cb, s->gs2, cbl) != 0)
		return fail(s, err, TN_EINVAL,
			    "scram: the channel-binding data does not match the client-first-message");
	p++;
	if (!attr(&p, 'r', &v, &vl) || vl != strlen(s->nonce) || memcmp(v, s->nonce, vl) != 0)
		return fail(s, err, TN_EINVAL, "scram: the nonce does not match");
	/* extensions, then the proof, which must come last */
	const char *proof_at = NULL;
	while (*p == ',') {
		const char *a = p + 1;
		if (a[0] == 'p' && a[1] == '=') {
			proof_at = p;
			break;
		}
		if (!((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')) || a[1] != '=')
			break;
		const char *e = strchr(a, ',');
		p = e ? e : a + strlen(a);
	}
	if (!proof_at)
		return fail(s, err, TN_EINVAL, "malformed scram message: expected the proof");
	p = proof_at + 1;
	uint8_t proof[SHA256_LEN];
	if (!attr(&p, 'p', &v, &vl) || *p != '\0' ||
	    !b64_exact(v, vl, proof, sizeof proof, SHA256_LEN, NULL))
		return fail(s, err, TN_EINVAL, "malformed scram message: invalid proof");

	struct buf am = BUF_INIT(0);
	buf_puts(&am, s->bare);
	buf_putc(&am, ',');
	buf_puts(&am, s->server_first);
	buf_putc(&am, ',');
	buf_append(&am, m, (size_t)(proof_at - m));
	uint8_t sig[SHA256_LEN], key[SHA256_LEN], h[SHA256_LEN];
	crypto_hmac_sha256(s->stored_key, SHA256_LEN, am.data, am.len, sig);
	for (int i = 0; i < SHA256_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	crypto_sha256(key, sizeof key, h);
	bool ok = crypto_equal(h, sizeof h, s->stored_key, sizeof s->stored_key) && !s->dummy;
	int rc = 0;
	if (ok) {
		crypto_hmac_sha256(s->server_key, SHA256_LEN, am.data, am.len, sig);
		rc = buf_puts(out, "v=");
		if (!rc)
			rc = base64_encode(sig, sizeof sig, out);
		if (rc)
			rc = fail(s, err, rc, "scram: no room for the server-final-message");
	} else {
		s->state = ST_FAILED;
		rc = tn_fail(err, TN_EAUTH, "password authentication failed for user '%s'", s->user);
	}
	explicit_bzero(key, sizeof key);
	explicit_bzero(sig, sizeof sig);
	explicit_bzero(proof, sizeof proof);
	buf_release(&am);
	return rc;
}

int pg_scram_final(struct pg_scram *s, const void *msg, size_t n, struct buf *out, char *err)
{
	if (s->state != ST_FIRST_SENT)
		return fail(s, err, TN_EINVAL, "scram: the client-final-message came out of order");
	char *m = cstr(msg, n);
	if (!m)
		return fail(s, err, TN_EINVAL, "malformed scram message: a NUL inside");
	int rc = final(s, m, out, err);
	free(m);
	if (rc)
		return rc;
	s->state = ST_DONE;
	return 0;
}
