/*
 * crypto.h - hashes, MACs, randomness, encodings and secret sealing.
 *
 * Thin wrappers over OpenSSL's libcrypto so the rest of tarn never includes
 * OpenSSL headers.  All functions are thread-safe.
 */
#ifndef TN_CRYPTO_H
#define TN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define SHA256_LEN 32
#define MD5_LEN 16

void crypto_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void crypto_md5(const void *p, size_t n, uint8_t out[MD5_LEN]);
/*
 * Incremental digests, for data that streams through (object uploads).
 * One thread at a time per context; crypto_digest_final frees it.
 */
enum crypto_algo { CRYPTO_MD5, CRYPTO_SHA256 };
struct crypto_digest;
struct crypto_digest *crypto_digest_new(enum crypto_algo a);
void crypto_digest_update(struct crypto_digest *d, const void *p, size_t n);
/* Writes the digest (MD5_LEN or SHA256_LEN bytes) and frees d. */
void crypto_digest_final(struct crypto_digest *d, uint8_t *out);
/* Frees d without a digest.  Accepts NULL. */
void crypto_digest_free(struct crypto_digest *d);

void crypto_hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
			uint8_t out[SHA256_LEN]);
/* PBKDF2-HMAC-SHA256 (the SCRAM SaltedPassword). */
void crypto_pbkdf2_sha256(const char *pw, size_t pwlen, const uint8_t *salt, size_t saltlen,
			  unsigned iters, uint8_t *out, size_t outlen);
/* Fills p with n bytes from the OS CSPRNG; aborts if it cannot. */
void crypto_random(void *p, size_t n);
/* Constant-time equality of two byte strings (length may leak, content not). */
bool crypto_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Lowercase hex; out must hold 2n+1 bytes. */
void hex_encode(const void *p, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int hex_digit(int c);
/* Decodes 2n hex chars into n bytes; TN_EINVAL on a bad digit or odd length. */
int hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);

/* Appends the standard base64 (with padding) of p to out. */
int base64_encode(const void *p, size_t n, struct buf *out);
/*
 * Appends the bytes that standard base64 s decodes to (padding optional,
 * no whitespace).  TN_EINVAL naming nothing: the caller names the field.
 */
int base64_decode(const char *s, size_t n, struct buf *out);

/*
 * Seals a secret with AES-256-GCM under a 32-byte key: output is
 * base64(nonce[12] | ciphertext | tag[16]).  crypto_open reverses it and
 * fails with TN_ECORRUPT if the tag does not verify.
 */
int crypto_seal(const uint8_t key[32], const void *p, size_t n, struct buf *out);
int crypto_open(const uint8_t key[32], const char *sealed, size_t n, struct buf *out);

#endif
