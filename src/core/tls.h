/*
 * tls.h - server certificates: a self-signed pair for testing, and loading
 * and checking a certificate + private key pair from PEM files.
 *
 * Every TLS listener of tarn goes through here: the HTTP, S3 and
 * PostgreSQL listeners each build an OpenSSL SSL_CTX from the loaded pair
 * (tls_pair_server_ctx).
 * OpenSSL stays behind this header: only the opaque struct tags of an
 * SSL_CTX appear here.
 *
 * Checks made at load time, each failing with one message naming the file:
 * the files are readable and parse as PEM; the key is not encrypted; the
 * key matches the (first) certificate; the certificate is valid now (not
 * expired, not yet to come); the key file is private to its owner (no
 * group or other permission bits, as ssh and PostgreSQL require).
 *
 * All functions may be called from any thread; a loaded pair is read-only
 * and may be shared by threads until tls_pair_free.
 */
#ifndef TN_TLS_H
#define TN_TLS_H

#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;  /* OpenSSL's SSL_CTX */

/* Lifetime of a generated test certificate: 825 days, the longest that
 * Apple platforms accept for a TLS server certificate. */
#define TLS_GEN_DAYS 825

/*
 * Largest certificate or key file read: a key is a few KiB, a chain of a
 * server certificate and its intermediates rarely passes 16 KiB.  A file
 * of 1 MiB is not a PEM pair (a mistaken path, a log file).
 */
#define TLS_MAX_PEM (1u << 20)
/* Certificates in the chain file (leaf and intermediates). */
#define TLS_MAX_CHAIN 16

/*
 * Creates a self-signed test pair: an EC P-256 key written as PKCS#8 PEM
 * to key_path (mode 0600) and an X.509 v3 certificate to cert_path (mode
 * 0644), each atomically (temp file, fsync, rename); existing files are
 * replaced, the key first.  The certificate's subject CN is host (NULL:
 * this machine's host name; "localhost" if it has none or it does not fit),
 * its subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1 (and DNS:host when
 * host is another name), it is valid from 5 minutes ago for TLS_GEN_DAYS
 * days, with a random 159-bit serial, CA:FALSE, usage serverAuth.
 * The folder must exist.  Returns 0 or a TN code with a message.
 */
int tls_generate(const char *cert_path, const char *key_path, const char *host, char *err);

/* A loaded and checked certificate + key.  Opaque. */
struct tls_pair;

/*
 * Loads cert_path (PEM: the server certificate first, then any
 * intermediates) and key_path (PEM: PKCS#8, or traditional RSA / EC, not
 * encrypted) and makes the checks listed above.  Errors:
 *   TN_ENOTFOUND / TN_EIO   a file cannot be read ("tls: certificate '...': ...")
 *   TN_EDENIED              the key file has group or other permissions (mode & 077)
 *   TN_EINVAL               not PEM, encrypted key, key does not match,
 *                           expired or not yet valid
 *   TN_ETOOBIG              a file is larger than TLS_MAX_PEM
 * On success *out is the pair; caller frees with tls_pair_free().
 */
int tls_pair_load(const char *cert_path, const char *key_path, struct tls_pair **out,
		  char *err);
/* Frees the pair and wipes its key material.  Accepts NULL. */
void tls_pair_free(struct tls_pair *p);

/*
 * The certificate chain (leaf first) as NUL-terminated PEM text,
 * re-encoded from what was parsed (so comments and parameter blocks
 * around the PEM of the file are gone).  Borrowed: valid until
 * tls_pair_free(p).
 */
const char *tls_pair_cert_pem(const struct tls_pair *p);
/* The files it was loaded from (borrowed, as given to tls_pair_load). */
const char *tls_pair_cert_path(const struct tls_pair *p);
const char *tls_pair_key_path(const struct tls_pair *p);
/* The leaf certificate's notAfter, in Unix seconds. */
int64_t tls_pair_not_after(const struct tls_pair *p);
/* The leaf certificate's subject, one line ("CN=localhost"); borrowed. */
const char *tls_pair_subject(const struct tls_pair *p);

/*
 * Builds an OpenSSL server context for the pair: TLS 1.2 or later, the
 * certificate, its chain and the key installed.  For listeners that run
 * OpenSSL themselves (the PostgreSQL wire protocol's SSLRequest).  On
 * success *out is the SSL_CTX; caller frees with SSL_CTX_free().  The
 * context does not refer to p after return.
 */
int tls_pair_server_ctx(const struct tls_pair *p, struct ssl_ctx_st **out, char *err);

#endif
