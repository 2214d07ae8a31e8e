/*
 * sigv4.c - AWS Signature Version 4, server side (and a client signer).
 *
 * Purpose: decide whether a request was signed by the holder of an
 * access key's secret, exactly as AWS services decide it, so every AWS
 * SDK, the aws CLI, boto3 and S3 tools talk to tarn unchanged.
 *
 * Design: the request is described by struct sigv4_request (borrowed
 * pointers, nothing parsed in advance); parsing fills a fixed-size
 * struct sigv4_auth; the canonical request is rebuilt into one struct buf
 * capped at SIGV4_MAX_CANONICAL, hashed, and signed with the derived key.
 * The signer and the verifier share build_canonical(), so a signature
 * made here always verifies here; the published AWS vectors and botocore
 * (tests/unit/test_sigv4.c) keep both honest.
 *
 * Invariants:
 *   - the signature comparison is constant-time (crypto_equal) and happens
 *     only after every structural check, so its timing says nothing;
 *   - a payload hash the client declares is signed (it is the last line of
 *     the canonical request) and, unless deferred, checked against the
 *     body, so neither a swapped body nor a swapped header passes;
 *   - all input is bounded: header fields by their struct sizes, the
 *     canonical request by SIGV4_MAX_CANONICAL (TN_ETOOBIG past it);
 *   - derived keys and the "AWS4"+secret buffer are wiped after use,
 *     but for the memo of recent signing keys (scope_key): a signing key
 *     depends only on the secret and the scope (date, region, service),
 *     so a day's requests under one key share it, as the AWS SDKs' signers
 *     keep it.  The memo is found by a SHA-256 of secret and scope, holds
 *     no secret, and decides nothing: whether a key id may sign at all is
 *     auth.c's question, asked on every request before the signature is
 *     computed, so a disabled or deleted key is refused at once whatever
 *     the memo holds.
 */
#include "auth/sigv4.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define TERMINATOR "aws4_request"

/* ---- small helpers ---------------------------------------------------- */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hex_digit(s[i]) < 0)
			return false;
	return true;
}

/* Appends p encoded per RFC 3986 (uppercase hex); '/' kept if keep_slash. */
static int uri_encode(struct buf *out, const char *p, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = buf_grow(out, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)p[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			rc = buf_putc(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			rc = buf_append(out, e, 3);
		}
	}
	return rc;
}

/*
 * Appends p with every valid %XX decoded.  A '%' not followed by two hex
 * digits stays literal (and encodes back to %25); '+' stays a plus.
 */
static int pct_decode(struct buf *out, const char *p, size_t n)
{
	int rc = buf_grow(out, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (p[i] == '%' && i + 2 < n && hex_digit(p[i + 1]) >= 0 && hex_digit(p[i + 2]) >= 0) {
			rc = buf_putc(out, (char)(hex_digit(p[i + 1]) << 4 | hex_digit(p[i + 2])));
			i += 2;
		} else {
			rc = buf_putc(out, p[i]);
		}
	}
	return rc;
}

/* Copies s (n bytes) into a fixed field of cap bytes; false if it does not fit. */
static bool copy_field(char *dst, size_t cap, const char *s, size_t n)
{
	if (n + 1 > cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* The first header named name (case-insensitive), trimmed; false if absent. */
static bool header_find(const struct sigv4_request *req, const char *name, struct str *out,
			size_t *count)
{
	bool found = false;
	size_t c = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *h = &req->headers[i];
		if (!h->name || strcasecmp(h->name, name) != 0)
			continue;
		if (!found)
			*out = str_trim(str_cstr(h->value ? h->value : ""));
		found = true;
		c++;
	}
	if (count)
		*count = c;
	return found;
}

/* True if the ';'-separated lowercase list contains name. */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* ---- time ------------------------------------------------------------- */

/* Strict "YYYYMMDDTHHMMSSZ". */
static int parse_amz_date(const char *s, size_t n, int64_t *ms)
{
	if (n != 16 || s[8] != 'T' || s[15] != 'Z')
		return TN_EINVAL;
	for (size_t i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return TN_EINVAL;
	return time_parse(s, n, ms);
}

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* HTTP date "Fri, 24 May 2013 00:00:00 GMT" (RFC 7231 IMF-fixdate), or the AWS form. */
static int parse_http_date(const char *s, size_t n, int64_t *ms)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (parse_amz_date(s, n, ms) == 0)
		return 0;
	char tmp[64];
	if (!copy_field(tmp, sizeof tmp, s, n))
		return TN_EINVAL;
	const char *p = strchr(tmp, ',');
	p = p ? p + 1 : tmp;
	while (*p == ' ')
		p++;
	struct utc u = { 0 };
	if (p[0] < '0' || p[0] > '9')
		return TN_EINVAL;
	u.day = *p++ - '0';
	if (*p >= '0' && *p <= '9')
		u.day = u.day * 10 + (*p++ - '0');
	if (*p++ != ' ')
		return TN_EINVAL;
	const char *m = NULL;
	for (int i = 0; i < 12 && !m; i++) {
		if (strncasecmp(p, months + 3 * i, 3) == 0) {
			m = months + 3 * i;
			u.month = i + 1;
		}
	}
	if (!m || p[3] != ' ')
		return TN_EINVAL;
	p += 4;
	int y1 = two_digits(p), y2 = two_digits(p + 2);
	if (y1 < 0 || y2 < 0 || p[4] != ' ')
		return TN_EINVAL;
	u.year = y1 * 100 + y2;
	p += 5;
	u.hour = two_digits(p);
	u.min = p[2] == ':' ? two_digits(p + 3) : -1;
	u.sec = p[5] == ':' ? two_digits(p + 6) : -1;
	if (u.hour < 0 || u.hour > 23 || u.min < 0 || u.min > 59 || u.sec < 0 || u.sec > 60)
		return TN_EINVAL;
	p += 8;
	while (*p == ' ')
		p++;
	if (strcmp(p, "GMT") != 0 && strcmp(p, "UTC") != 0 && strcmp(p, "Z") != 0)
		return TN_EINVAL;
	if (u.day < 1 || u.day > 31)
		return TN_EINVAL;
	*ms = time_from_utc(&u);
	return 0;
}

/* ---- parsing ---------------------------------------------------------- */

static bool scope_word_ok(const char *p, size_t n)
{
	if (n == 0 || n > SIGV4_MAX_SCOPE_PART)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* KEY/YYYYMMDD/REGION/SERVICE/aws4_request (the key id is what precedes the last four). */
static int parse_credential(const char *p, size_t n, struct sigv4_auth *out, char *err)
{
	size_t cut[4];
	int found = 0;
	for (size_t i = n; i > 0 && found < 4; i--)
		if (p[i - 1] == '/')
			cut[found++] = i - 1;
	if (found < 4)
		return tn_fail(err, TN_EINVAL,
			       "credential '%.*s': expected KEY/DATE/REGION/SERVICE/aws4_request",
			       (int)(n > 128 ? 128 : n), p);
	/* cut[3] < cut[2] < cut[1] < cut[0] */
	const char *key = p, *date = p + cut[3] + 1, *region = p + cut[2] + 1,
		   *service = p + cut[1] + 1, *term = p + cut[0] + 1;
	size_t klen = cut[3], dlen = cut[2] - cut[3] - 1, rlen = cut[1] - cut[2] - 1,
	       slen = cut[0] - cut[1] - 1, tlen = n - cut[0] - 1;
	if (tlen != strlen(TERMINATOR) || memcmp(term, TERMINATOR, tlen) != 0)
		return tn_fail(err, TN_EINVAL, "credential: scope must end in 'aws4_request'");
	if (klen == 0 || klen > SIGV4_MAX_KEY_ID)
		return tn_fail(err, TN_EINVAL, "credential: access key id must be 1..%d characters",
			       SIGV4_MAX_KEY_ID);
	for (size_t i = 0; i < klen; i++)
		if ((unsigned char)key[i] <= ' ' || key[i] == 0x7f)
			return tn_fail(err, TN_EINVAL, "credential: bad character in access key id");
	if (dlen != 8)
		return tn_fail(err, TN_EINVAL, "credential: scope date '%.*s' is not YYYYMMDD",
			       (int)(dlen > 32 ? 32 : dlen), date);
	for (size_t i = 0; i < 8; i++)
		if (date[i] < '0' || date[i] > '9')
			return tn_fail(err, TN_EINVAL, "credential: scope date '%.8s' is not YYYYMMDD",
				       date);
	if (!scope_word_ok(region, rlen))
		return tn_fail(err, TN_EINVAL, "credential: bad region '%.*s'",
			       (int)(rlen > 64 ? 64 : rlen), region);
	if (!scope_word_ok(service, slen))
		return tn_fail(err, TN_EINVAL, "credential: bad service '%.*s'",
			       (int)(slen > 64 ? 64 : slen), service);
	copy_field(out->key_id, sizeof out->key_id, key, klen);
	copy_field(out->date, sizeof out->date, date, dlen);
	copy_field(out->region, sizeof out->region, region, rlen);
	copy_field(out->service, sizeof out->service, service, slen);
	return 0;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* "a;b;c": header names, stored lowercase. */
static int parse_signed_headers(const char *p, size_t n, struct sigv4_auth *out, char *err)
{
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "signed headers: empty list");
	if (n > SIGV4_MAX_SIGNED_HEADERS)
		return tn_fail(err, TN_EINVAL, "signed headers: list longer than %d bytes",
			       SIGV4_MAX_SIGNED_HEADERS);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool sep = c == ';';
		if (sep && (i == 0 || i + 1 == n || p[i - 1] == ';'))
			return tn_fail(err, TN_EINVAL, "signed headers '%.*s': empty header name",
				       (int)(n > 128 ? 128 : n), p);
		if (!sep && !is_tchar(c))
			return tn_fail(err, TN_EINVAL, "signed headers: bad character in '%.*s'",
				       (int)(n > 128 ? 128 : n), p);
		out->signed_headers[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out->signed_headers[n] = '\0';
	return 0;
}

static int parse_signature(const char *p, size_t n, struct sigv4_auth *out, char *err)
{
	if (!is_hex64(p, n))
		return tn_fail(err, TN_EINVAL, "signature: expected 64 hex digits");
	for (size_t i = 0; i < n; i++)
		out->signature[i] = (char)((p[i] >= 'A' && p[i] <= 'F') ? p[i] + 32 : p[i]);
	out->signature[n] = '\0';
	return 0;
}

int sigv4_parse_authorization(const char *value, struct sigv4_auth *out, char *err)
{
	memset(out, 0, sizeof *out);
	const char *p = value ? value : "";
	size_t alen = strlen(SIGV4_ALGORITHM);
	while (is_space(*p))
		p++;
	if (strncmp(p, SIGV4_ALGORITHM, alen) != 0 || !is_space(p[alen])) {
		size_t w = strcspn(p, " \t");
		return tn_fail(err, TN_EINVAL,
			       "authorization scheme '%.*s' is not supported: use " SIGV4_ALGORITHM,
			       (int)(w > 32 ? 32 : w), p);
	}
	p += alen;
	bool have_cred = false, have_sh = false, have_sig = false;
	for (;;) {
		while (is_space(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (*p && !is_space(*p) && *p != ',')
			p++;
		size_t tn = (size_t)(p - tok);
		const char *eq = memchr(tok, '=', tn);
		if (!eq)
			return tn_fail(err, TN_EINVAL, "authorization: expected name=value at '%.*s'",
				       (int)(tn > 64 ? 64 : tn), tok);
		size_t kn = (size_t)(eq - tok), vn = tn - kn - 1;
		const char *v = eq + 1;
		int rc;
		bool *seen;
		if (kn == 10 && strncasecmp(tok, "Credential", kn) == 0) {
			seen = &have_cred;
			rc = *seen ? TN_EINVAL : parse_credential(v, vn, out, err);
		} else if (kn == 13 && strncasecmp(tok, "SignedHeaders", kn) == 0) {
			seen = &have_sh;
			rc = *seen ? TN_EINVAL : parse_signed_headers(v, vn, out, err);
		} else if (kn == 9 && strncasecmp(tok, "Signature", kn) == 0) {
			seen = &have_sig;
			rc = *seen ? TN_EINVAL : parse_signature(v, vn, out, err);
		} else {
			return tn_fail(err, TN_EINVAL, "authorization: unknown field '%.*s'",
				       (int)(kn > 64 ? 64 : kn), tok);
		}
		if (*seen)
			return tn_fail(err, TN_EINVAL, "authorization: field '%.*s' given twice",
				       (int)kn, tok);
		if (rc)
			return rc;
		*seen = true;
	}
	if (!have_cred || !have_sh || !have_sig)
		return tn_fail(err, TN_EINVAL, "authorization: missing '%s'",
			       !have_cred ? "Credential" : !have_sh ? "SignedHeaders" : "Signature");
	return 0;
}

/* Cursor over "a=b&c&d=e": the next non-empty parameter, raw. */
static bool query_next(const char **cur, struct str *name, struct str *value)
{
	const char *p = *cur;
	while (*p == '&')
		p++;
	if (!*p)
		return false;
	const char *e = strchr(p, '&');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	const char *eq = memchr(p, '=', n);
	if (eq) {
		*name = str_make(p, (size_t)(eq - p));
		*value = str_make(eq + 1, n - (size_t)(eq - p) - 1);
	} else {
		*name = str_make(p, n);
		*value = str_make("", 0);
	}
	*cur = p + n;
	return true;
}

/* True if the decoded name n equals s. */
static bool name_is(struct str n, const char *s, struct buf *tmp)
{
	buf_reset(tmp);
	return pct_decode(tmp, n.p, n.n) == 0 && strcmp(tmp->data, s) == 0 && tmp->len == strlen(s);
}

static bool query_has_param(const char *query, const char *want)
{
	struct buf tmp = BUF_INIT(SIGV4_MAX_CANONICAL);
	struct str n = { "", 0 }, v = { "", 0 };
	const char *cur = query ? query : "";
	bool found = false;
	while (!found && query_next(&cur, &n, &v))
		found = name_is(n, want, &tmp);
	buf_release(&tmp);
	return found;
}

static int parse_presigned(const char *query, struct sigv4_auth *out, char *err)
{
	memset(out, 0, sizeof *out);
	out->presigned = true;
	struct buf name = BUF_INIT(SIGV4_MAX_CANONICAL), val = BUF_INIT(SIGV4_MAX_CANONICAL);
	struct str n = { "", 0 }, v = { "", 0 };
	const char *cur = query;
	unsigned seen = 0;
	int rc = 0;
	while (rc == 0 && query_next(&cur, &n, &v)) {
		buf_reset(&name);
		buf_reset(&val);
		if ((rc = pct_decode(&name, n.p, n.n)) || (rc = pct_decode(&val, v.p, v.n)))
			break;
		const char *k = name.data;
		unsigned bit = 0;
		if (strcmp(k, "X-Amz-Algorithm") == 0) {
			bit = 1;
			if (strcmp(val.data, SIGV4_ALGORITHM) != 0)
				rc = tn_fail(err, TN_EINVAL, "X-Amz-Algorithm '%.32s' is not supported",
					     val.data);
		} else if (strcmp(k, "X-Amz-Credential") == 0) {
			bit = 2;
			rc = parse_credential(val.data, val.len, out, err);
		} else if (strcmp(k, "X-Amz-Date") == 0) {
			int64_t ms;
			bit = 4;
			if (parse_amz_date(val.data, val.len, &ms))
				rc = tn_fail(err, TN_EINVAL,
					     "X-Amz-Date '%.32s' is not YYYYMMDDTHHMMSSZ", val.data);
			else
				copy_field(out->amz_date, sizeof out->amz_date, val.data, val.len);
		} else if (strcmp(k, "X-Amz-Expires") == 0) {
			char *end = NULL;
			bit = 8;
			long long e = -1;
			if (val.len && val.len < 12 && val.data[0] >= '0' && val.data[0] <= '9')
				e = strtoll(val.data, &end, 10);
			if (!end || *end || e < 1 || e > SIGV4_MAX_EXPIRES)
				rc = tn_fail(err, TN_EINVAL,
					     "X-Amz-Expires '%.32s': expected 1..%d seconds", val.data,
					     SIGV4_MAX_EXPIRES);
			out->expires_s = e;
		} else if (strcmp(k, "X-Amz-SignedHeaders") == 0) {
			bit = 16;
			rc = parse_signed_headers(val.data, val.len, out, err);
		} else if (strcmp(k, "X-Amz-Signature") == 0) {
			bit = 32;
			rc = parse_signature(val.data, val.len, out, err);
		}
		if (rc == 0 && bit && (seen & bit))
			rc = tn_fail(err, TN_EINVAL, "query parameter '%s' given twice", k);
		seen |= bit;
	}
	buf_release(&name);
	buf_release(&val);
	if (rc)
		return rc == TN_ETOOBIG ? tn_fail(err, TN_EINVAL, "query string too long") : rc;
	static const char *const names[] = { "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
					     "X-Amz-Expires", "X-Amz-SignedHeaders",
					     "X-Amz-Signature" };
	for (unsigned i = 0; i < 6; i++)
		if (!(seen & (1u << i)))
			return tn_fail(err, TN_EINVAL, "presigned url: missing '%s'", names[i]);
	return 0;
}

int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *out, enum auth_fail *why,
		char *err)
{
	struct str authz = { "", 0 };
	size_t count = 0;
	bool header = header_find(req, "authorization", &authz, &count);
	bool query = req->query && *req->query &&
		     (query_has_param(req->query, "X-Amz-Algorithm") ||
		      query_has_param(req->query, "X-Amz-Signature"));
	int rc;
	memset(out, 0, sizeof *out);
	*why = AUTH_MALFORMED;
	if (!header && !query) {
		*why = AUTH_MISSING;
		return tn_fail(err, TN_EAUTH, "no credentials: the request is not signed");
	}
	if (header && query)
		return tn_fail(err, TN_EAUTH,
			       "both an authorization header and a presigned query: use one");
	if (count > 1)
		return tn_fail(err, TN_EAUTH, "more than one authorization header");
	if (header) {
		char *v = xstrndup(authz.p, authz.n);
		rc = sigv4_parse_authorization(v, out, err);
		free(v);
	} else {
		rc = parse_presigned(req->query, out, err);
	}
	if (rc)
		return TN_EAUTH;
	*why = AUTH_OK;
	return 0;
}

/* ---- canonical request ------------------------------------------------ */

static bool is_s3(const struct sigv4_auth *auth)
{
	return strcmp(auth->service, "s3") == 0;
}

/*
 * Non-S3 paths drop "." and empty segments and resolve ".." (RFC 3986
 * 5.2.4, plus AWS's collapse of "//"), keeping a leading and a trailing
 * '/', then encode the raw segments once more.
 */
static int canonical_uri(const char *path, bool s3, struct buf *out)
{
	if (!path || !*path)
		return buf_putc(out, '/');
	size_t n = strlen(path);
	if (n > SIGV4_MAX_CANONICAL)
		return TN_ETOOBIG;
	if (s3) {
		struct buf dec = BUF_INIT(SIGV4_MAX_CANONICAL);
		int rc = pct_decode(&dec, path, n);
		if (rc == 0)
			rc = uri_encode(out, dec.data, dec.len, true);
		buf_release(&dec);
		return rc;
	}
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += path[i] == '/';
	struct str *seg = xcalloc(cap, sizeof *seg);
	size_t nseg = 0;
	const char *p = path, *end = path + n;
	while (p < end) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			seg[nseg++] = str_make(p, len);
		}
		p += len + 1;
	}
	int rc = 0;
	if (path[0] == '/')
		rc = buf_putc(out, '/');
	for (size_t i = 0; i < nseg && rc == 0; i++) {
		if (i)
			rc = buf_putc(out, '/');
		if (rc == 0)
			rc = uri_encode(out, seg[i].p, seg[i].n, false);
	}
	if (rc == 0 && nseg && path[n - 1] == '/')
		rc = buf_putc(out, '/');
	if (rc == 0 && out->len == 0)
		rc = buf_putc(out, '/');
	free(seg);
	return rc;
}

struct qparam {
	char *name;
	char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static int canonical_query(const char *query, bool presigned, struct buf *out)
{
	if (!query || !*query)
		return 0;
	size_t qlen = strlen(query);
	if (qlen > SIGV4_MAX_CANONICAL)
		return TN_ETOOBIG;
	size_t cap = 1;
	for (size_t i = 0; i < qlen; i++)
		cap += query[i] == '&';
	struct qparam *qp = xcalloc(cap, sizeof *qp);
	size_t np = 0;
	struct buf dec = BUF_INIT(SIGV4_MAX_CANONICAL), enc = BUF_INIT(SIGV4_MAX_CANONICAL);
	struct str n = { "", 0 }, v = { "", 0 };
	const char *cur = query;
	int rc = 0;
	while (rc == 0 && query_next(&cur, &n, &v)) {
		buf_reset(&dec);
		if ((rc = pct_decode(&dec, n.p, n.n)))
			break;
		if (presigned && strcmp(dec.data, "X-Amz-Signature") == 0 &&
		    dec.len == strlen("X-Amz-Signature"))
			continue;
		buf_reset(&enc);
		if ((rc = uri_encode(&enc, dec.data, dec.len, false)))
			break;
		qp[np].name = xstrndup(enc.data, enc.len);
		buf_reset(&dec);
		buf_reset(&enc);
		if ((rc = pct_decode(&dec, v.p, v.n)) ||
		    (rc = uri_encode(&enc, dec.data, dec.len, false))) {
			np++;
			break;
		}
		qp[np++].value = xstrndup(enc.data, enc.len);
	}
	if (rc == 0) {
		qsort(qp, np, sizeof *qp, qparam_cmp);
		for (size_t i = 0; i < np && rc == 0; i++)
			rc = buf_printf(out, "%s%s=%s", i ? "&" : "", qp[i].name, qp[i].value);
	}
	for (size_t i = 0; i < np; i++) {
		free(qp[i].name);
		free(qp[i].value);
	}
	free(qp);
	buf_release(&dec);
	buf_release(&enc);
	return rc;
}

/* Appends v trimmed, with every inner run of whitespace collapsed to one space. */
static int append_trimall(struct buf *out, const char *v)
{
	int rc = 0;
	bool pending = false, any = false;
	for (const char *p = v ? v : ""; *p && rc == 0; p++) {
		if (is_space(*p)) {
			pending = any;
			continue;
		}
		if (pending)
			rc = buf_putc(out, ' ');
		if (rc == 0)
			rc = buf_putc(out, *p);
		pending = false;
		any = true;
	}
	return rc;
}

static int canonical_headers(const struct sigv4_request *req, const char *list, struct buf *out,
			     char *err)
{
	const char *p = list;
	int rc = 0;
	while (*p && rc == 0) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool found = false;
		rc = buf_append(out, p, len);
		if (rc == 0)
			rc = buf_putc(out, ':');
		for (size_t i = 0; i < req->nheaders && rc == 0; i++) {
			const struct sigv4_header *h = &req->headers[i];
			if (!h->name || strlen(h->name) != len || strncasecmp(h->name, p, len) != 0)
				continue;
			if (found)
				rc = buf_putc(out, ',');
			if (rc == 0)
				rc = append_trimall(out, h->value);
			found = true;
		}
		if (rc == 0 && !found)
			return tn_fail(err, TN_EINVAL, "signed header '%.*s' is not in the request",
				       (int)(len > 64 ? 64 : len), p);
		if (rc == 0)
			rc = buf_putc(out, '\n');
		p = e ? e + 1 : p + len;
	}
	return rc;
}

/*
 * The payload line of the canonical request, into out[72].  *declared is
 * set when it is the client's x-amz-content-sha256 value (which must then
 * be checked against the body).  TN_EINVAL with *why on a bad value.
 */
static int payload_line(const struct sigv4_request *req, const struct sigv4_auth *auth,
			char out[72], bool *declared, enum auth_fail *why, char *err)
{
	struct str h = { "", 0 };
	*declared = false;
	*why = AUTH_MALFORMED;
	if (header_find(req, "x-amz-content-sha256", &h, NULL)) {
		bool keyword = str_eq_cstr(h, SIGV4_UNSIGNED_PAYLOAD) ||
			       (str_starts_with(h, "STREAMING-") && h.n < 72);
		if (is_hex64(h.p, h.n)) {
			*declared = true;
		} else if (!keyword) {
			return tn_fail(err, TN_EINVAL,
				       "x-amz-content-sha256 '%.*s': expected a hex SHA-256, "
				       "UNSIGNED-PAYLOAD or STREAMING-...",
				       (int)(h.n > 80 ? 80 : h.n), h.p);
		} else if (!is_s3(auth)) {
			*why = AUTH_BAD_PAYLOAD;
			return tn_fail(err, TN_EINVAL,
				       "x-amz-content-sha256 '%.*s': service '%s' needs the body signed",
				       (int)h.n, h.p, auth->service);
		}
		copy_field(out, 72, h.p, h.n);
		return 0;
	}
	if (auth->presigned && is_s3(auth)) {
		snprintf(out, 72, "%s", SIGV4_UNSIGNED_PAYLOAD);
		return 0;
	}
	if (req->payload_deferred)
		return tn_fail(err, TN_EINVAL,
			       "Missing required header for this request: x-amz-content-sha256 "
			       "(the payload hash, UNSIGNED-PAYLOAD or STREAMING-...)");
	if (req->payload_sha256) {
		size_t n = strlen(req->payload_sha256);
		if (!is_hex64(req->payload_sha256, n))
			TN_BUG("payload_sha256 is not 64 hex digits");
		for (size_t i = 0; i < n; i++) {
			char c = req->payload_sha256[i];
			out[i] = (char)((c >= 'A' && c <= 'F') ? c + 32 : c);
		}
		out[n] = '\0';
		return 0;
	}
	uint8_t d[SHA256_LEN];
	crypto_sha256(req->body ? req->body : "", req->body ? req->body_len : 0, d);
	hex_encode(d, sizeof d, out);
	return 0;
}

static int build_canonical(const struct sigv4_request *req, const struct sigv4_auth *auth,
			   struct buf *out, char payload[72], bool *declared, enum auth_fail *why,
			   char *err)
{
	int rc = payload_line(req, auth, payload, declared, why, err);
	if (rc)
		return rc;
	*why = AUTH_MALFORMED;
	size_t start = out->len;
	rc = buf_printf(out, "%s\n", req->method ? req->method : "");
	if (rc == 0)
		rc = canonical_uri(req->path, is_s3(auth), out);
	if (rc == 0)
		rc = buf_putc(out, '\n');
	if (rc == 0)
		rc = canonical_query(req->query, auth->presigned, out);
	if (rc == 0)
		rc = buf_putc(out, '\n');
	if (rc == 0)
		rc = canonical_headers(req, auth->signed_headers, out, err);
	if (rc == 0)
		rc = buf_printf(out, "\n%s\n%s", auth->signed_headers, payload);
	if (rc == TN_ETOOBIG || (rc == 0 && out->len - start > SIGV4_MAX_CANONICAL))
		return tn_fail(err, TN_ETOOBIG, "canonical request longer than %u bytes",
			       SIGV4_MAX_CANONICAL);
	return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth,
			    struct buf *out, char *err)
{
	char payload[72];
	bool declared;
	enum auth_fail why;
	return build_canonical(req, auth, out, payload, &declared, &why, err);
}

int sigv4_string_to_sign(const struct sigv4_auth *auth, const char *amz_date,
			 const char *canonical, size_t n, struct buf *out)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	crypto_sha256(canonical, n, d);
	hex_encode(d, sizeof d, hex);
	return buf_printf(out, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s", amz_date,
			  auth->date, auth->region, auth->service, hex);
}

void sigv4_signing_key(const char *secret, size_t secret_len, const char *date,
		       const char *region, const char *service, uint8_t out[32])
{
	size_t klen = 4 + secret_len;
	char *k = xmalloc(klen);
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, secret_len);
	uint8_t a[SHA256_LEN], b[SHA256_LEN];
	crypto_hmac_sha256(k, klen, date, strlen(date), a);
	crypto_hmac_sha256(a, sizeof a, region, strlen(region), b);
	crypto_hmac_sha256(b, sizeof b, service, strlen(service), a);
	crypto_hmac_sha256(a, sizeof a, TERMINATOR, strlen(TERMINATOR), out);
	explicit_bzero(k, klen);
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	free(k);
}

/* Recent signing keys by SHA-256(secret, scope); round-robin replacement. */
#define SIGV4_KEY_MEMO 32

static struct {
	pthread_mutex_t mu;
	unsigned next;
	struct {
		bool used;
		uint8_t id[SHA256_LEN];
		uint8_t key[SHA256_LEN];
	} e[SIGV4_KEY_MEMO];
} memo = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* sigv4_signing_key through the memo. */
static void scope_key(const char *secret, size_t secret_len, const char *date,
		      const char *region, const char *service, uint8_t out[SHA256_LEN])
{
	struct buf b = BUF_INIT(0);
	uint8_t id[SHA256_LEN];
	const char *parts[] = { date, region, service };
	buf_printf(&b, "%zu:", secret_len);
	buf_append(&b, secret, secret_len);
	for (size_t i = 0; i < 3; i++)
		buf_append(&b, parts[i], strlen(parts[i]) + 1); /* each with its NUL */
	crypto_sha256(b.data, b.len, id);
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	pthread_mutex_lock(&memo.mu);
	for (unsigned i = 0; i < SIGV4_KEY_MEMO; i++) {
		if (memo.e[i].used && crypto_equal(memo.e[i].id, SHA256_LEN, id, SHA256_LEN)) {
			memcpy(out, memo.e[i].key, SHA256_LEN);
			pthread_mutex_unlock(&memo.mu);
			return;
		}
	}
	pthread_mutex_unlock(&memo.mu);
	sigv4_signing_key(secret, secret_len, date, region, service, out);
	pthread_mutex_lock(&memo.mu);
	unsigned i = memo.next++ % SIGV4_KEY_MEMO;
	memo.e[i].used = true;
	memcpy(memo.e[i].id, id, SHA256_LEN);
	memcpy(memo.e[i].key, out, SHA256_LEN);
	pthread_mutex_unlock(&memo.mu);
}

/* hex HMAC of the string to sign for req under secret, into sig[65]. */
static int compute_signature(const struct sigv4_request *req, const struct sigv4_auth *auth,
			     const char *amz_date, const char *secret, size_t secret_len,
			     char sig[65], char payload[72], bool *declared, enum auth_fail *why,
			     char *err)
{
	struct buf creq = BUF_INIT(SIGV4_MAX_CANONICAL + 1024);
	struct buf sts = BUF_INIT(1024);
	int rc = build_canonical(req, auth, &creq, payload, declared, why, err);
	if (rc == 0)
		rc = sigv4_string_to_sign(auth, amz_date, creq.data, creq.len, &sts);
	if (rc == 0) {
		uint8_t key[SHA256_LEN], mac[SHA256_LEN];
		scope_key(secret, secret_len, auth->date, auth->region, auth->service, key);
		crypto_hmac_sha256(key, sizeof key, sts.data, sts.len, mac);
		hex_encode(mac, sizeof mac, sig);
		explicit_bzero(key, sizeof key);
	}
	buf_release(&creq);
	buf_release(&sts);
	return rc;
}

/* ---- signing ---------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every header name of req but authorization, lowercase, sorted, unique, ';'-joined. */
static int all_header_names(const struct sigv4_request *req, struct buf *out)
{
	char **names = xcalloc(req->nheaders + 1, sizeof *names);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *h = req->headers[i].name;
		if (!h || strcasecmp(h, "authorization") == 0)
			continue;
		char *l = xstrdup(h);
		for (char *c = l; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		names[n++] = l;
	}
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			rc = buf_printf(out, "%s%s", out->len ? ";" : "", names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int sigv4_sign(const struct sigv4_request *req, const char *key_id, const char *secret,
	       const char *region, const char *service, const char *signed_headers,
	       struct buf *out, char *err)
{
	struct sigv4_auth a;
	struct str d = { "", 0 };
	int64_t ms;
	memset(&a, 0, sizeof a);
	if (!header_find(req, "x-amz-date", &d, NULL) || parse_amz_date(d.p, d.n, &ms))
		return tn_fail(err, TN_EINVAL, "sign: the request needs an x-amz-date header "
					       "of the form YYYYMMDDTHHMMSSZ");
	copy_field(a.amz_date, sizeof a.amz_date, d.p, d.n);
	copy_field(a.date, sizeof a.date, d.p, 8);
	if (!key_id || !*key_id || !copy_field(a.key_id, sizeof a.key_id, key_id, strlen(key_id)))
		return tn_fail(err, TN_EINVAL, "sign: bad access key id");
	if (!region || !scope_word_ok(region, strlen(region)) || !service ||
	    !scope_word_ok(service, strlen(service)))
		return tn_fail(err, TN_EINVAL, "sign: bad region or service");
	copy_field(a.region, sizeof a.region, region, strlen(region));
	copy_field(a.service, sizeof a.service, service, strlen(service));
	int rc;
	if (signed_headers) {
		rc = parse_signed_headers(signed_headers, strlen(signed_headers), &a, err);
	} else {
		struct buf names = BUF_INIT(SIGV4_MAX_SIGNED_HEADERS);
		rc = all_header_names(req, &names);
		if (rc == 0)
			rc = parse_signed_headers(names.data, names.len, &a, err);
		else
			rc = tn_fail(err, TN_EINVAL, "sign: signed header list too long");
		buf_release(&names);
	}
	if (rc)
		return rc;
	char sig[65], payload[72];
	bool declared;
	enum auth_fail why;
	rc = compute_signature(req, &a, a.amz_date, secret ? secret : "",
			       secret ? strlen(secret) : 0, sig, payload, &declared, &why, err);
	if (rc)
		return rc;
	return buf_printf(out,
			  SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/" TERMINATOR
			  ", SignedHeaders=%s, Signature=%s",
			  a.key_id, a.date, a.region, a.service, a.signed_headers, sig);
}

/* ---- verification ----------------------------------------------------- */

static int fail(enum auth_fail *why, enum auth_fail w)
{
	*why = w;
	return TN_EAUTH;
}

int sigv4_verify(const struct sigv4_request *req, struct sigv4_auth *auth, const char *secret,
		 size_t secret_len, int64_t now_ms, int skew_s, enum auth_fail *why, char *err)
{
	const char *time_header = NULL;
	int64_t t = 0;
	*why = AUTH_MALFORMED;

	/* 1. The request time, and the header that carries it. */
	if (auth->presigned) {
		if (parse_amz_date(auth->amz_date, strlen(auth->amz_date), &t))
			return tn_fail(err, TN_EAUTH, "X-Amz-Date is missing or malformed");
	} else {
		struct str v = { "", 0 };
		if (header_find(req, "x-amz-date", &v, NULL)) {
			if (parse_amz_date(v.p, v.n, &t))
				return tn_fail(err, TN_EAUTH,
					       "x-amz-date '%.*s' is not YYYYMMDDTHHMMSSZ",
					       (int)(v.n > 32 ? 32 : v.n), v.p);
			copy_field(auth->amz_date, sizeof auth->amz_date, v.p, v.n);
			time_header = "x-amz-date";
		} else if (header_find(req, "date", &v, NULL)) {
			if (parse_http_date(v.p, v.n, &t))
				return tn_fail(err, TN_EAUTH, "date header '%.*s' does not parse",
					       (int)(v.n > 40 ? 40 : v.n), v.p);
			time_format_amz(t, auth->amz_date, sizeof auth->amz_date);
			time_header = "date";
		} else {
			return tn_fail(err, TN_EAUTH,
				       "the request has no x-amz-date (or date) header");
		}
	}
	auth->time_ms = t;

	/* 2. Scope and signed-header rules. */
	if (memcmp(auth->date, auth->amz_date, 8) != 0)
		return tn_fail(err, TN_EAUTH,
			       "credential scope date '%s' is not the request's date '%.8s'",
			       auth->date, auth->amz_date);
	if (!list_has(auth->signed_headers, "host"))
		return tn_fail(err, TN_EAUTH, "signed headers must include 'host'");
	if (time_header && !list_has(auth->signed_headers, time_header))
		return tn_fail(err, TN_EAUTH, "signed headers must include '%s'", time_header);

	/* 3. Clock. */
	int64_t skew_ms = (int64_t)(skew_s < 0 ? 0 : skew_s) * 1000;
	if (auth->presigned) {
		if (now_ms < t - skew_ms) {
			fail(why, AUTH_SKEWED);
			return tn_fail(err, TN_EAUTH, "presigned url dated %s is in the future",
				       auth->amz_date);
		}
		if (now_ms > t + auth->expires_s * 1000) {
			fail(why, AUTH_EXPIRED);
			return tn_fail(err, TN_EAUTH, "presigned url expired (%s + %llds)",
				       auth->amz_date, (long long)auth->expires_s);
		}
	} else if (now_ms - t > skew_ms || t - now_ms > skew_ms) {
		fail(why, AUTH_SKEWED);
		return tn_fail(err, TN_EAUTH,
			       "request time %s is more than %ds from the server's clock",
			       auth->amz_date, skew_s);
	}

	/* 4. Signature. */
	char sig[65];
	bool declared = false;
	int rc = compute_signature(req, auth, auth->amz_date, secret, secret_len, sig,
				   auth->payload_hash, &declared, why, err);
	if (rc)
		return TN_EAUTH;
	if (!crypto_equal(sig, 64, auth->signature, strlen(auth->signature))) {
		fail(why, AUTH_BAD_SECRET);
		return tn_fail(err, TN_EAUTH,
			       "signature does not match for access key '%s': check the secret "
			       "key and signing method",
			       auth->key_id);
	}

	/* 5. Chunk-signed bodies: the key that verifies each chunk (auth/chunked.h). */
	if (strncmp(auth->payload_hash, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 34) == 0) {
		sigv4_signing_key(secret, secret_len, auth->date, auth->region, auth->service,
				  auth->signing_key);
		auth->has_signing_key = true;
	}

	/* 6. The body the client declared. */
	if (declared && !req->payload_deferred) {
		uint8_t want[SHA256_LEN], got[SHA256_LEN];
		hex_decode(auth->payload_hash, 64, want, sizeof want, NULL);
		if (req->payload_sha256)
			hex_decode(req->payload_sha256, 64, got, sizeof got, NULL);
		else
			crypto_sha256(req->body ? req->body : "", req->body ? req->body_len : 0,
				      got);
		if (!crypto_equal(want, sizeof want, got, sizeof got)) {
			fail(why, AUTH_BAD_PAYLOAD);
			return tn_fail(err, TN_EAUTH,
				       "x-amz-content-sha256 does not match the body's sha-256");
		}
	}
	*why = AUTH_OK;
	return 0;
}

bool sigv4_payload_ok(const struct sigv4_auth *auth, const uint8_t sha256[32])
{
	size_t n = strlen(auth->payload_hash);
	if (!is_hex64(auth->payload_hash, n))
		return n > 0;
	uint8_t want[SHA256_LEN];
	hex_decode(auth->payload_hash, 64, want, sizeof want, NULL);
	return crypto_equal(want, sizeof want, sha256, SHA256_LEN);
}
