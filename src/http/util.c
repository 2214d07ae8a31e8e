/*
 * util.c - pure helpers of the HTTP edge: route pattern matching, request
 * ids, X-Amz-Target and SigV4 credential-scope parsing.
 *
 * Nothing here does I/O or calls a core service, so the unit tests
 * (tests/unit/test_http.c) link these alone.  Every function is
 * thread-safe and works on caller memory only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#include "core/crypto.h"
#include "http/http_int.h"

#include "core/banned.h"

int http_path_match(const char *pattern, const char *path, char params[][HTTP_MAX_PARAM],
		    unsigned maxp)
{
	const char *p = pattern, *s = path;
	size_t plen;
	unsigned n = 0;

	if (*p != '/' || *s != '/')
		return -1;
	if (strcmp(pattern, "/") == 0)
		return strcmp(path, "/") == 0 ? 0 : -1;
	/* one trailing slash tolerated: "/v1/streams/" is "/v1/streams" */
	plen = strlen(path);
	if (plen > 1 && path[plen - 1] == '/')
		plen--;

	while (*p) {
		const char *pe, *se;
		size_t pn, sn;

		if (*p != '/' || s >= path + plen || *s != '/')
			return -1;
		p++;
		s++;
		pe = strchr(p, '/');
		if (!pe)
			pe = p + strlen(p);
		se = memchr(s, '/', (size_t)(path + plen - s));
		if (!se)
			se = path + plen;
		pn = (size_t)(pe - p);
		sn = (size_t)(se - s);
		if (pn == 1 && p[0] == '*' && !p[1]) {
			/* "*" last: one or more segments, left in r->path for the handler */
			return sn ? (int)n : -1;
		}
		if (pn >= 2 && p[0] == '{' && p[pn - 1] == '}') {
			if (sn == 0 || sn >= HTTP_MAX_PARAM || n >= maxp)
				return -1;
			memcpy(params[n], s, sn);
			params[n][sn] = '\0';
			n++;
		} else if (pn != sn || memcmp(p, s, pn) != 0) {
			return -1;
		}
		p = pe;
		s = se;
	}
	return s == path + plen ? (int)n : -1;
}

/*
 * Request ids must be unique, not secret: a random 64-bit key drawn once,
 * and a counter mixed through splitmix64, cost no system call per request.
 */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void http_request_id(char out[HTTP_REQUEST_ID_LEN + 1])
{
	static _Atomic uint64_t key, counter;
	uint64_t k = atomic_load(&key);
	if (k == 0) {
		uint64_t fresh;
		crypto_random(&fresh, sizeof fresh);
		fresh |= 1;
		uint64_t expected = 0;
		atomic_compare_exchange_strong(&key, &expected, fresh);
		k = atomic_load(&key);
	}
	uint64_t c = atomic_fetch_add(&counter, 1);
	uint8_t r[16];
	uint64_t a = mix64(k + c), b = mix64(a ^ k ^ (c << 1));
	memcpy(r, &a, 8);
	memcpy(r + 8, &b, 8);
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);  /* version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	char hex[33];
	hex_encode(r, sizeof(r), hex);
	/* 8-4-4-4-12, by hand (printf costs more than the rest of this) */
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = 0;
}

enum aws_service aws_target_parse(const char *target, const char **op)
{
	static const struct {
		const char *prefix;
		enum aws_service svc;
	} targets[] = {
		{ "Kinesis_20131202.", AWS_KINESIS },
		{ "Firehose_20150804.", AWS_FIREHOSE },
	};
	size_t i;

	*op = NULL;
	if (!target)
		return AWS_NONE;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t n = strlen(targets[i].prefix);

		if (strncmp(target, targets[i].prefix, n) == 0 && target[n]) {
			*op = target + n;
			return targets[i].svc;
		}
	}
	return AWS_NONE;
}

const char *aws_service_name(enum aws_service s)
{
	switch (s) {
	case AWS_KINESIS: return "kinesis";
	case AWS_FIREHOSE: return "firehose";
	default: return NULL;
	}
}

void aws_credential_region(const char *authorization, char *out, size_t n)
{
	const char *c, *slash1, *slash2, *slash3;
	size_t len;

	snprintf(out, n, "us-east-1");
	if (!authorization)
		return;
	c = strstr(authorization, "Credential=");
	if (!c)
		return;
	c += strlen("Credential=");
	/* AKID/DATE/REGION/SERVICE/aws4_request */
	slash1 = strchr(c, '/');
	if (!slash1)
		return;
	slash2 = strchr(slash1 + 1, '/');
	if (!slash2)
		return;
	slash3 = strchr(slash2 + 1, '/');
	if (!slash3)
		return;
	len = (size_t)(slash3 - slash2 - 1);
	if (len == 0 || len >= n)
		return;
	for (c = slash2 + 1; c < slash3; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return;
	snprintf(out, n, "%.*s", (int)len, slash2 + 1);
}

size_t http_trim_trailing_ws(const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' ||
			 p[n - 1] == '\n'))
		n--;
	return n;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong, surrogate, past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return len;
}

void http_utf8_copy(const char *in, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t left = strlen(in), o = 0;

	if (n == 0)
		return;
	while (left > 0) {
		size_t len = utf8_len(p, left);

		if (len == 0) {  /* a bad byte: '?' in its place */
			if (o + 1 >= n)
				break;
			out[o++] = '?';
			p++;
			left--;
			continue;
		}
		if (o + len >= n)
			break;
		memcpy(out + o, p, len);
		o += len;
		p += len;
		left -= len;
	}
	out[o] = '\0';
}

int http_query_param(const char *raw_query, const char *name, char *out, size_t n)
{
	const char *p = raw_query ? raw_query : "";
	size_t nl = strlen(name);

	while (*p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			size_t o = 0;

			for (size_t i = nl + 1; i < len; i++) {
				int c = (unsigned char)p[i];

				if (c == '+') {
					c = ' ';
				} else if (c == '%' && i + 2 < len && hex_digit(p[i + 1]) >= 0 &&
					   hex_digit(p[i + 2]) >= 0) {
					c = hex_digit(p[i + 1]) * 16 + hex_digit(p[i + 2]);
					i += 2;
				}
				if (c == 0 || o + 1 >= n)
					return TN_EINVAL;
				out[o++] = (char)c;
			}
			out[o] = 0;
			return o ? 1 : 0;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}
