/*
 * test_tls.c - core/tls: generated pairs, loading and its checks, and a
 * real TLS handshake against the generated certificate.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/os.h"
#include "core/tls.h"
#include "harness.h"

static char cert_a[512], key_a[512], cert_b[512], key_b[512];

static void gen_pairs(void)
{
	char err[TN_ERRLEN] = "";
	umask(022);
	snprintf(cert_a, sizeof cert_a, "%s/a.crt", test_tmpdir());
	snprintf(key_a, sizeof key_a, "%s/a.key", test_tmpdir());
	snprintf(cert_b, sizeof cert_b, "%s/b.crt", test_tmpdir());
	snprintf(key_b, sizeof key_b, "%s/b.key", test_tmpdir());
	if (tls_generate(cert_a, key_a, NULL, err) || tls_generate(cert_b, key_b, "localhost", err)) {
		fprintf(stderr, "tls_generate: %s\n", err);
		exit(1);
	}
}

static void write_file(const char *path, const char *text, int mode)
{
	char err[TN_ERRLEN];
	CHECK_INT(os_write_file_atomic(path, text, strlen(text), mode, err), 0);
	CHECK_INT(chmod(path, (mode_t)mode), 0);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(x != NULL);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(k != NULL);
	return k;
}

/* Expects tls_pair_load to fail with code and a message containing want. */
static void load_fails(const char *cert, const char *key, int code, const char *want)
{
	char err[TN_ERRLEN] = "";
	struct tls_pair *p = (struct tls_pair *)1;
	int rc = tls_pair_load(cert, key, &p, err);
	if (rc != code || !strstr(err, want)) {
		fprintf(stderr, "load(%s, %s): rc %d (%s), want %d with '%s'\n", cert, key, rc, err,
			code, want);
		exit(1);
	}
	CHECK(p == NULL);
	CHECK_INT(ERR_peek_error(), 0);  /* the error queue is left empty */
}

TEST(generate_then_load)
{
	char err[TN_ERRLEN] = "";
	struct stat st;
	gen_pairs();
	CHECK_INT(stat(key_a, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(stat(cert_a, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0644);

	struct tls_pair *p = NULL;
	int rc = tls_pair_load(cert_a, key_a, &p, err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK_INT(rc, 0);
	CHECK(!strncmp(tls_pair_cert_pem(p), "-----BEGIN CERTIFICATE-----\n", 28));
	CHECK(strstr(tls_pair_cert_pem(p), "-----END CERTIFICATE-----\n") != NULL);
	CHECK_STR(tls_pair_cert_path(p), cert_a);
	CHECK_STR(tls_pair_key_path(p), key_a);
	CHECK(strstr(tls_pair_subject(p), "CN=") != NULL);
	int64_t days = (tls_pair_not_after(p) - (int64_t)time(NULL)) / 86400;
	CHECK(days >= TLS_GEN_DAYS - 1 && days <= TLS_GEN_DAYS);
	tls_pair_free(p);

	/* The certificate itself: v3, EC P-256, names, usages, a serial. */
	X509 *x = read_cert(cert_b);
	CHECK_INT(X509_get_version(x), X509_VERSION_3);
	CHECK_INT(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
	CHECK_INT(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 256);
	CHECK_INT(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	CHECK_INT(X509_check_host(x, "example.com", 0, 0, NULL), 0);
	CHECK_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	CHECK_INT(X509_check_ip_asc(x, "::1", 0), 1);
	CHECK_INT(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
	CHECK_INT(X509_check_ca(x), 0);
	CHECK(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	CHECK(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1);
	char name[128];
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, name, sizeof name);
	CHECK_STR(name, "localhost");
	/* Self-signed, and two generated certificates have different serials. */
	CHECK_INT(X509_verify(x, X509_get0_pubkey(x)), 1);
	X509 *y = read_cert(cert_a);
	CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)) != 0);
	X509_free(x);
	X509_free(y);
}

TEST(mismatched_key_refused)
{
	char want[TN_ERRLEN];
	gen_pairs();
	snprintf(want, sizeof want, "tls: key '%s' does not match certificate '%s'", key_b, cert_a);
	load_fails(cert_a, key_b, TN_EINVAL, want);
}

TEST(readable_key_refused)
{
	gen_pairs();
	CHECK_INT(chmod(key_a, 0644), 0);
	load_fails(cert_a, key_a, TN_EDENIED, "is open to other users (mode 0644): chmod 600");
	CHECK_INT(chmod(key_a, 0640), 0);
	load_fails(cert_a, key_a, TN_EDENIED, "(mode 0640)");
	CHECK_INT(chmod(key_a, 0604), 0);
	load_fails(cert_a, key_a, TN_EDENIED, "(mode 0604)");
	CHECK_INT(chmod(key_a, 0620), 0);
	load_fails(cert_a, key_a, TN_EDENIED, "(mode 0620)");
	/* 0400 (read-only for the owner) is fine. */
	CHECK_INT(chmod(key_a, 0400), 0);
	char err[TN_ERRLEN];
	struct tls_pair *p = NULL;
	CHECK_INT(tls_pair_load(cert_a, key_a, &p, err), 0);
	tls_pair_free(p);
}

TEST(garbage_and_missing_files_refused)
{
	char junk[512], want[TN_ERRLEN];
	gen_pairs();
	snprintf(junk, sizeof junk, "%s/junk.pem", test_tmpdir());
	write_file(junk, "this is not PEM at all\n", 0600);
	snprintf(want, sizeof want, "tls: certificate '%s' holds no PEM certificate", junk);
	load_fails(junk, key_a, TN_EINVAL, want);
	snprintf(want, sizeof want, "tls: key '%s' holds no PEM private key", junk);
	load_fails(cert_a, junk, TN_EINVAL, want);
	/* A PEM frame around garbage. */
	write_file(junk, "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n", 0600);
	load_fails(junk, key_a, TN_EINVAL, "holds no PEM certificate");
	write_file(junk, "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", 0600);
	load_fails(cert_a, junk, TN_EINVAL, "holds no PEM private key");
	/* Swapped paths: the key file given as certificate and the reverse. */
	CHECK_INT(chmod(cert_a, 0600), 0);
	load_fails(key_a, cert_a, TN_EINVAL, "holds no PEM certificate");
	load_fails(cert_a, cert_a, TN_EINVAL, "holds a certificate, not a private key");
	/* A good leaf followed by a broken chain certificate. */
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(os_read_file(cert_b, 1 << 20, &b, err), 0);
	buf_puts(&b, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	write_file(junk, b.data, 0644);
	buf_release(&b);
	load_fails(junk, key_b, TN_EINVAL, "certificate 2 of the chain is not valid PEM");
	/* Missing files and a directory. */
	snprintf(want, sizeof want, "tls: certificate '%s/nope.crt' does not exist", test_tmpdir());
	snprintf(junk, sizeof junk, "%s/nope.crt", test_tmpdir());
	load_fails(junk, key_a, TN_ENOTFOUND, want);
	load_fails(test_tmpdir(), key_a, TN_EINVAL, "is not a file");
}

TEST(encrypted_key_refused)
{
	char enc[512];
	gen_pairs();
	EVP_PKEY *k = read_key(key_a);
	snprintf(enc, sizeof enc, "%s/enc.key", test_tmpdir());
	FILE *f = fopen(enc, "w");
	CHECK(f != NULL);
	CHECK(PEM_write_PKCS8PrivateKey(f, k, EVP_aes_256_cbc(), NULL, 0, NULL,
					(void *)"secret-pass") == 1);
	fclose(f);
	CHECK_INT(chmod(enc, 0600), 0);
	EVP_PKEY_free(k);
	load_fails(cert_a, enc, TN_EINVAL, "is encrypted; tarn needs it unencrypted");
}

/* Writes a certificate for key_a's key valid from nb to na (seconds from now). */
static void write_dated_cert(const char *path, long nb, long na)
{
	EVP_PKEY *k = read_key(key_a);
	X509 *x = read_cert(cert_a);
	CHECK(X509_gmtime_adj(X509_getm_notBefore(x), nb) != NULL);
	CHECK(X509_gmtime_adj(X509_getm_notAfter(x), na) != NULL);
	CHECK(X509_sign(x, k, EVP_sha256()) > 0);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK(PEM_write_X509(f, x) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

TEST(expired_and_future_certificates_refused)
{
	char path[512], want[TN_ERRLEN];
	gen_pairs();
	snprintf(path, sizeof path, "%s/old.crt", test_tmpdir());
	write_dated_cert(path, -10 * 86400, -86400);
	snprintf(want, sizeof want, "tls: certificate '%s' expired on 20", path);
	load_fails(path, key_a, TN_EINVAL, want);
	write_dated_cert(path, 86400, 10 * 86400);
	load_fails(path, key_a, TN_EINVAL, "is not valid before");
	/* The same re-dated certificate, valid now, loads: the dates were the reason. */
	write_dated_cert(path, -60, 86400);
	char err[TN_ERRLEN];
	struct tls_pair *p = NULL;
	CHECK_INT(tls_pair_load(path, key_a, &p, err), 0);
	tls_pair_free(p);
}

TEST(chain_is_kept_in_order)
{
	char path[512], err[TN_ERRLEN];
	struct buf b = BUF_INIT(0);
	gen_pairs();
	CHECK_INT(os_read_file(cert_a, 1 << 20, &b, err), 0);
	CHECK_INT(os_read_file(cert_b, 1 << 20, &b, err), 0);
	snprintf(path, sizeof path, "%s/chain.crt", test_tmpdir());
	write_file(path, b.data, 0644);
	struct tls_pair *p = NULL;
	CHECK_INT(tls_pair_load(path, key_a, &p, err), 0);
	/* Leaf first, then the second certificate, as in the file. */
	CHECK_STR(tls_pair_cert_pem(p), b.data);
	tls_pair_free(p);
	/* The leaf decides which key matches. */
	load_fails(path, key_b, TN_EINVAL, "does not match");
	buf_release(&b);
}

/*
 * Handshakes a client trusting ca_path against the pair's server context
 * over a BIO pair; host is checked against the certificate.  Returns the
 * client's verify result (X509_V_OK) or -1 if the handshake failed.
 */
static long handshake(const struct tls_pair *p, const char *ca_path, const char *host)
{
	char err[TN_ERRLEN];
	SSL_CTX *sctx = NULL;
	CHECK_INT(tls_pair_server_ctx(p, &sctx, err), 0);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	CHECK(cctx != NULL);
	CHECK_INT(SSL_CTX_load_verify_locations(cctx, ca_path, NULL), 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	CHECK(s && c);
	if (strchr(host, ':') || (host[0] >= '0' && host[0] <= '9'))
		CHECK_INT(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c), host), 1);
	else
		CHECK_INT(SSL_set1_host(c, host), 1);
	BIO *sb = NULL, *cb = NULL;
	CHECK_INT(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	int cdone = 0, sdone = 0, failed = 0;
	for (int i = 0; i < 100 && !(cdone && sdone) && !failed; i++) {
		if (!cdone) {
			int r = SSL_do_handshake(c);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				failed = 1;
		}
		if (!sdone && !failed) {
			int r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				failed = 1;
		}
	}
	long vr = SSL_get_verify_result(c);
	long out = cdone && sdone && !failed ? vr : -1;
	if (out == X509_V_OK)
		CHECK(SSL_version(c) >= TLS1_2_VERSION);
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	ERR_clear_error();
	return out;
}

TEST(server_context_handshakes)
{
	char err[TN_ERRLEN];
	struct tls_pair *p = NULL;
	gen_pairs();
	CHECK_INT(tls_pair_load(cert_a, key_a, &p, err), 0);
	/* Pinning the generated certificate as the trust anchor verifies every name. */
	CHECK_INT(handshake(p, cert_a, "localhost"), X509_V_OK);
	CHECK_INT(handshake(p, cert_a, "127.0.0.1"), X509_V_OK);
	CHECK_INT(handshake(p, cert_a, "::1"), X509_V_OK);
	/* ... and nothing else: another name, or another certificate as the anchor. */
	CHECK_INT(handshake(p, cert_a, "example.com"), -1);
	CHECK_INT(handshake(p, cert_b, "localhost"), -1);
	/* The context does not depend on the pair once built. */
	SSL_CTX *ctx = NULL;
	CHECK_INT(tls_pair_server_ctx(p, &ctx, err), 0);
	tls_pair_free(p);
	CHECK(SSL_CTX_get0_certificate(ctx) != NULL);
	CHECK_INT(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
}

/* http.tls_cert / http.tls_key: empty by default, and any path survives tarn.yaml. */
TEST(config_tls_paths_round_trip)
{
	char err[TN_ERRLEN], path[512];
	struct tn_config c, c2;
	config_defaults(&c);
	CHECK_STR(c.http_tls_cert, "");
	CHECK_STR(c.http_tls_key, "");
	const char *odd = "/srv/my certs #1/\"q\" \\ :x.crt";
	CHECK_INT(config_set(&c, "http.tls_cert", odd, err), 0);
	CHECK_INT(config_set(&c, "http.tls_key", "-key: here", err), 0);
	CHECK_INT(config_set(&c, "lake.name", "ünïcode", err), 0);
	struct buf d = BUF_INIT(0);
	CHECK_INT(config_dump(&c, true, &d), 0);
	snprintf(path, sizeof path, "%s/tarn.yaml", test_tmpdir());
	CHECK_INT(os_write_file_atomic(path, d.data, d.len, 0600, err), 0);
	config_defaults(&c2);
	int rc = config_load(&c2, path, err);
	if (rc)
		fprintf(stderr, "%s\n%s", err, d.data);
	CHECK_INT(rc, 0);
	CHECK_STR(c2.http_tls_cert, odd);
	CHECK_STR(c2.http_tls_key, "-key: here");
	CHECK_STR(c2.lake_name, "ünïcode");
	CHECK(memcmp(&c, &c2, sizeof c) == 0);
	/* Defaults dump as plain values, the empty paths as "". */
	buf_reset(&d);
	config_defaults(&c);
	CHECK_INT(config_dump(&c, false, &d), 0);
	CHECK(strstr(d.data, "  listen: 127.0.0.1:7070\n") != NULL);
	CHECK(strstr(d.data, "  tls_cert: \"\"\n") != NULL);
	buf_release(&d);
}
