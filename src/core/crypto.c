/*
 * crypto.c - OpenSSL behind tarn's own small interface.
 */
#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

/*
 * The digests, fetched from the provider once.  EVP_sha256() and
 * EVP_md5() hand out legacy handles that OpenSSL 3 resolves to the
 * provider's implementation on every init, under a lock: on the request
 * paths (SigV4, the audit chain, ETags) that lookup cost more than
 * hashing a few hundred bytes.  Falls back to the legacy handle if the
 * fetch fails.
 */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static const EVP_MD *md_sha256, *md_md5;

static void md_fetch(void)
{
	EVP_MD *s = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD *m = EVP_MD_fetch(NULL, "MD5", NULL);
	md_sha256 = s ? s : EVP_sha256();
	md_md5 = m ? m : EVP_md5();
}

static const EVP_MD *sha256_md(void)
{
	pthread_once(&md_once, md_fetch);
	return md_sha256;
}

static const EVP_MD *md5_md(void)
{
	pthread_once(&md_once, md_fetch);
	return md_md5;
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int len = 0;
	if (!EVP_Digest(p, n, out, &len, md, NULL))
		TN_BUG("EVP_Digest failed");
}

void crypto_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	digest(sha256_md(), p, n, out);
}

void crypto_md5(const void *p, size_t n, uint8_t out[MD5_LEN])
{
	digest(md5_md(), p, n, out);
}

struct crypto_digest {
	EVP_MD_CTX *ctx;
};

struct crypto_digest *crypto_digest_new(enum crypto_algo a)
{
	struct crypto_digest *d = xcalloc(1, sizeof *d);
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx ||
	    !EVP_DigestInit_ex(d->ctx, a == CRYPTO_MD5 ? md5_md() : sha256_md(), NULL))
		TN_BUG("digest init failed");
	return d;
}

void crypto_digest_update(struct crypto_digest *d, const void *p, size_t n)
{
	if (n && !EVP_DigestUpdate(d->ctx, p, n))
		TN_BUG("digest update failed");
}

void crypto_digest_final(struct crypto_digest *d, uint8_t *out)
{
	unsigned int len = 0;
	if (!EVP_DigestFinal_ex(d->ctx, out, &len))
		TN_BUG("digest final failed");
	crypto_digest_free(d);
}

void crypto_digest_free(struct crypto_digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

/*
 * HMAC-SHA-256 (RFC 2104) over two digests of the fetched SHA-256: the
 * one-shot HMAC() of OpenSSL 3 builds a MAC context through the provider
 * on every call, several times the cost of the hashing for the short
 * messages SigV4 signs.
 */
void crypto_hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
			uint8_t out[SHA256_LEN])
{
	enum { BLOCK = 64 };
	uint8_t k[BLOCK], pad[BLOCK], inner[SHA256_LEN];
	unsigned int len = 0;
	memset(k, 0, sizeof k);
	if (klen > BLOCK)
		digest(sha256_md(), key, klen, k);
	else if (klen)
		memcpy(k, key, klen);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		TN_BUG("HMAC: no digest context");
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (!EVP_DigestInit_ex(c, sha256_md(), NULL) || !EVP_DigestUpdate(c, pad, BLOCK) ||
	    (n && !EVP_DigestUpdate(c, p, n)) || !EVP_DigestFinal_ex(c, inner, &len))
		TN_BUG("HMAC failed");
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	if (!EVP_DigestInit_ex(c, sha256_md(), NULL) || !EVP_DigestUpdate(c, pad, BLOCK) ||
	    !EVP_DigestUpdate(c, inner, sizeof inner) || !EVP_DigestFinal_ex(c, out, &len))
		TN_BUG("HMAC failed");
	EVP_MD_CTX_free(c);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(inner, sizeof inner);
}

void crypto_pbkdf2_sha256(const char *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
			  unsigned iters, uint8_t *out, size_t outlen)
{
	if (!PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen, (int)iters, EVP_sha256(),
			       (int)outlen, out))
		TN_BUG("PBKDF2 failed");
}

void crypto_random(void *p, size_t n)
{
	uint8_t *c = p;
	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);
		if (r < 0)
			TN_BUG("getrandom failed");
		c += r;
		n -= (size_t)r;
	}
}

bool crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

void hex_encode(const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *c = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[c[i] >> 4];
		out[2 * i + 1] = hex[c[i] & 15];
	}
	out[2 * n] = '\0';
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen)
{
	if (slen % 2 || slen / 2 > outcap)
		return TN_EINVAL;
	for (size_t i = 0; i < slen / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return TN_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (outlen)
		*outlen = slen / 2;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *p, size_t n, struct buf *out)
{
	const uint8_t *c = p;
	int rc = buf_grow(out, (n + 2) / 3 * 4);
	if (rc)
		return rc;
	char *o = out->data + out->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)c[i] << 16 | (uint32_t)c[i + 1] << 8 | c[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)c[i] << 16 | (i + 1 < n ? (uint32_t)c[i + 1] << 8 : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int base64_decode(const char *s, size_t n, struct buf *out)
{
	static signed char dec[256];
	static int ready;
	if (!ready) {
		/* Benign race: every thread writes the same values. */
		memset(dec, -1, sizeof dec);
		for (int i = 0; i < 64; i++)
			dec[(unsigned char)b64[i]] = (signed char)i;
		ready = 1;
	}
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return TN_EINVAL;
	size_t start = out->len;
	int rc = buf_grow(out, n / 4 * 3 + 3);
	if (rc)
		return rc;
	uint8_t *o = (uint8_t *)out->data + out->len;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = dec[(unsigned char)s[i]];
		if (v < 0) {
			buf_truncate(out, start);
			return TN_EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (uint8_t)(acc >> bits);
		}
	}
	out->len = (size_t)((char *)o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int crypto_seal(const uint8_t key[32], const void *p, size_t n, struct buf *out)
{
	uint8_t nonce[12], tag[16];
	crypto_random(nonce, sizeof nonce);
	uint8_t *ct = malloc(n + 12 + 16 + 1);
	if (!ct)
		TN_BUG("out of memory");
	memcpy(ct, nonce, 12);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, total = 0, ok = ctx != NULL;
	ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce);
	ok = ok && EVP_EncryptUpdate(ctx, ct + 12, &len, p, (int)n);
	total = len;
	ok = ok && EVP_EncryptFinal_ex(ctx, ct + 12 + total, &len);
	total += len;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(ctx);
	int rc = TN_EINTERNAL;
	if (ok) {
		memcpy(ct + 12 + total, tag, 16);
		rc = base64_encode(ct, 12 + (size_t)total + 16, out);
	}
	OPENSSL_cleanse(ct, n + 28);
	free(ct);
	return rc;
}

int crypto_open(const uint8_t key[32], const char *sealed, size_t n, struct buf *out)
{
	struct buf raw = BUF_INIT(1 << 20);
	int rc = base64_decode(sealed, n, &raw);
	if (rc || raw.len < 28) {
		buf_release(&raw);
		return TN_ECORRUPT;
	}
	size_t ctlen = raw.len - 28;
	const uint8_t *nonce = (uint8_t *)raw.data;
	const uint8_t *ct = nonce + 12;
	uint8_t tag[16];
	memcpy(tag, ct + ctlen, 16);
	rc = buf_grow(out, ctlen + 16);
	if (rc) {
		buf_release(&raw);
		return rc;
	}
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, total = 0, ok = ctx != NULL;
	uint8_t *o = (uint8_t *)out->data + out->len;
	ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce);
	ok = ok && EVP_DecryptUpdate(ctx, o, &len, ct, (int)ctlen);
	total = len;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
	ok = ok && EVP_DecryptFinal_ex(ctx, o + total, &len) > 0;
	total += ok ? len : 0;
	EVP_CIPHER_CTX_free(ctx);
	buf_release(&raw);
	if (!ok)
		return TN_ECORRUPT;
	out->len += (size_t)total;
	out->data[out->len] = '\0';
	return 0;
}
