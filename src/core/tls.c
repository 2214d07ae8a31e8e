/*
 * tls.c - self-signed test pairs, and loading and checking a server's
 * certificate + key (OpenSSL libcrypto / libssl behind core/tls.h).
 *
 * Design.  A pair is checked once, when a listener is about to start, so
 * that every mistake is one clear line at `tarn serve` rather than a TLS
 * alert at a client: the files parse, the key is private and unencrypted,
 * it matches the leaf certificate, and the leaf is valid now.  The loaded
 * pair keeps the parsed objects, from which every listener builds its
 * SSL_CTX, so the TLS stack serves exactly what was checked (and the
 * leaf's PEM re-encoded, for inspection).
 *
 * Generated pairs are for testing and for a lake reached over loopback:
 * EC P-256 (ECDSA, supported by every TLS 1.2/1.3 client and by GnuTLS),
 * names localhost, 127.0.0.1 and ::1.  CA:FALSE and no keyCertSign: the
 * certificate is trusted by pinning it as its own trust anchor
 * (curl --cacert, TARN_CACERT), never as a CA that could vouch for others.
 *
 * Invariants: key material is only in memory OpenSSL wipes on free (the
 * secure-memory BIO) or in a buf this file wipes before release; the
 * OpenSSL error queue of the calling thread is left empty.
 */
#include "core/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/banned.h"

/* Generated certificates start this long ago, for clients whose clock lags. */
#define GEN_BACKDATE_S 300
/* RFC 5280 ub-common-name: a longer host name cannot be the CN. */
#define CN_MAX 64

struct tls_pair {
	char *cert_path;
	char *key_path;
	X509 *leaf;
	STACK_OF(X509) *chain;  /* intermediates after the leaf; may be empty */
	EVP_PKEY *key;
	struct buf cert_pem;    /* leaf + chain, re-encoded */
	int64_t not_after;
	char *subject;
};

/* ---- helpers --------------------------------------------------------------- */

/* The reason of the newest OpenSSL error ("no start line"), and clears the queue. */
static const char *ossl_reason(char *out, size_t n)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(out, n, "%s", r ? r : "unknown OpenSSL error");
	ERR_clear_error();
	return out;
}

/* True if the newest OpenSSL error is PEM's "no start line" (no more PEM blocks). */
static bool ossl_no_more_pem(void)
{
	unsigned long e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

static void buf_wipe_release(struct buf *b)
{
	if (b->cap)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

/* Appends what bio holds to out. */
static int bio_to_buf(BIO *bio, struct buf *out)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	if (n < 0 || !p)
		return TN_EINTERNAL;
	return buf_append(out, p, (size_t)n);
}

/* ASN1_TIME -> Unix seconds; TN_EINVAL if it does not convert. */
static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!ASN1_TIME_to_tm(t, &tm))
		return TN_EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void asn1_str(const ASN1_TIME *t, char *out, size_t n)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!ASN1_TIME_to_tm(t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "(unreadable date)");
}

/* ---- generation ------------------------------------------------------------ */

/* A DNS name we may put in the certificate: letters, digits, '-', '.'. */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CN_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!e)
		return TN_EINTERNAL;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : TN_EINTERNAL;
}

/* Builds and signs the certificate for key; *out is the new X509. */
static int make_cert(EVP_PKEY *key, const char *cn, X509 **out)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	int rc = TN_EINTERNAL;
	char san[256];
	X509V3_CTX ctx;

	if (!x || !serial)
		goto out;
	/* RFC 5280: positive, at most 20 octets; 159 random bits keep it positive. */
	if (!BN_rand(serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
		goto out;
	if (BN_is_zero(serial) && !BN_one(serial))
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -GEN_BACKDATE_S) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_GEN_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, key))
		goto out;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"tarn test certificate", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out;
	if (strcmp(cn, "localhost") != 0)
		snprintf(san, sizeof san, "DNS:localhost,DNS:%s,IP:127.0.0.1,IP:::1", cn);
	else
		snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1");
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
	    add_ext(x, &ctx, NID_subject_alt_name, san))
		goto out;
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	BN_free(serial);
	X509_free(x);
	return rc;
}

int tls_generate(const char *cert_path, const char *key_path, const char *host, char *err)
{
	char hostname[256] = "";
	const char *cn = "localhost";
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *kb = NULL, *cb = NULL;
	struct buf kpem = BUF_INIT(0), cpem = BUF_INIT(0);
	char why[128];
	int rc;

	ERR_clear_error();
	if (!host && gethostname(hostname, sizeof hostname - 1) == 0)
		host = hostname;
	if (host && dns_name_ok(host))
		cn = host;

	key = EVP_EC_gen("P-256");
	if (!key) {
		rc = tn_fail(err, TN_EINTERNAL, "tls: cannot generate an EC P-256 key: %s",
			     ossl_reason(why, sizeof why));
		goto out;
	}
	if (make_cert(key, cn, &cert)) {
		rc = tn_fail(err, TN_EINTERNAL, "tls: cannot build the certificate: %s",
			     ossl_reason(why, sizeof why));
		goto out;
	}
	/* The secure-memory BIO wipes the key's PEM when freed. */
	kb = BIO_new(BIO_s_secmem());
	cb = BIO_new(BIO_s_mem());
	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, cert) || bio_to_buf(kb, &kpem) || bio_to_buf(cb, &cpem)) {
		rc = tn_fail(err, TN_EINTERNAL, "tls: cannot encode the pair as PEM: %s",
			     ossl_reason(why, sizeof why));
		goto out;
	}
	if ((rc = os_write_file_atomic(key_path, kpem.data, kpem.len, 0600, err)))
		goto out;
	rc = os_write_file_atomic(cert_path, cpem.data, cpem.len, 0644, err);
out:
	BIO_free(kb);
	BIO_free(cb);
	buf_wipe_release(&kpem);
	buf_release(&cpem);
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

/* ---- loading --------------------------------------------------------------- */

/*
 * Reads a whole PEM file.  what is "certificate" or "key"; a key must be a
 * regular file without group or other permissions.
 */
static int read_pem(const char *what, const char *path, bool private_key, struct buf *out,
		    char *err)
{
	char msg[TN_ERRLEN];
	struct stat st;
	char tmp[16384];
	uint64_t off = 0;
	int rc = 0;

	if (!os_exists(path))
		return tn_fail(err, TN_ENOTFOUND, "tls: %s '%s' does not exist", what, path);
	int fd = os_open(path, O_RDONLY, 0, msg);
	if (fd < 0)
		return tn_fail(err, fd, "tls: cannot read %s: %s", what, msg);
	if (fstat(fd, &st) != 0) {
		rc = tn_fail(err, tn_from_errno(errno), "tls: %s '%s': %s", what, path,
			     strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tn_fail(err, TN_EINVAL, "tls: %s '%s' is not a file", what, path);
		goto out;
	}
	if (private_key && (st.st_mode & 077)) {
		rc = tn_fail(err, TN_EDENIED,
			     "tls: key '%s' is open to other users (mode %04o): chmod 600 %s",
			     path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (;;) {
		size_t got = 0;
		if ((rc = os_pread(fd, tmp, sizeof tmp, off, &got, path, msg))) {
			rc = tn_fail(err, rc, "tls: cannot read %s: %s", what, msg);
			break;
		}
		if (got == 0)
			break;
		if (out->len + got > TLS_MAX_PEM) {
			rc = tn_fail(err, TN_ETOOBIG, "tls: %s '%s' is larger than %u bytes: "
				     "not a PEM file", what, path, TLS_MAX_PEM);
			break;
		}
		if ((rc = buf_append(out, tmp, got))) {
			rc = tn_fail(err, rc, "tls: %s '%s' is too big", what, path);
			break;
		}
		off += got;
	}
out:
	explicit_bzero(tmp, sizeof tmp);
	os_close(fd);
	return rc;
}

/* PEM password callback: tarn never prompts, so encrypted keys fail. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int parse_certs(struct tls_pair *p, const struct buf *text, char *err)
{
	char why[128];
	BIO *b = BIO_new_mem_buf(text->data, (int)text->len);
	int rc = 0;

	if (!b)
		return tn_fail(err, TN_EINTERNAL, "tls: out of memory reading '%s'", p->cert_path);
	p->leaf = PEM_read_bio_X509(b, NULL, no_password, NULL);
	if (!p->leaf) {
		rc = tn_fail(err, TN_EINVAL, "tls: certificate '%s' holds no PEM certificate (%s)",
			     p->cert_path, ossl_reason(why, sizeof why));
		goto out;
	}
	p->chain = sk_X509_new_null();
	if (!p->chain) {
		rc = tn_fail(err, TN_EINTERNAL, "tls: out of memory reading '%s'", p->cert_path);
		goto out;
	}
	for (;;) {
		X509 *x = PEM_read_bio_X509(b, NULL, no_password, NULL);
		if (!x) {
			if (!ossl_no_more_pem())
				rc = tn_fail(err, TN_EINVAL, "tls: certificate '%s': certificate %d "
					     "of the chain is not valid PEM (%s)", p->cert_path,
					     sk_X509_num(p->chain) + 2, ossl_reason(why, sizeof why));
			break;
		}
		if (sk_X509_num(p->chain) + 1 >= TLS_MAX_CHAIN || !sk_X509_push(p->chain, x)) {
			X509_free(x);
			rc = tn_fail(err, TN_ETOOBIG, "tls: certificate '%s': more than %d "
				     "certificates", p->cert_path, TLS_MAX_CHAIN);
			break;
		}
	}
out:
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

static int parse_key(struct tls_pair *p, const struct buf *text, char *err)
{
	char why[128];
	BIO *b;
	int rc = 0;

	if (strstr(text->data, "ENCRYPTED"))
		return tn_fail(err, TN_EINVAL, "tls: key '%s' is encrypted; tarn needs it "
			       "unencrypted (openssl pkey -in %s -out NEW.key) and private "
			       "(chmod 600)", p->key_path, p->key_path);
	b = BIO_new_mem_buf(text->data, (int)text->len);
	if (!b)
		return tn_fail(err, TN_EINTERNAL, "tls: out of memory reading '%s'", p->key_path);
	p->key = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	if (!p->key) {
		ossl_reason(why, sizeof why);
		if (strstr(text->data, "-----BEGIN CERTIFICATE-----") &&
		    !strstr(text->data, "PRIVATE KEY-----"))
			rc = tn_fail(err, TN_EINVAL, "tls: key '%s' holds a certificate, not a "
				     "private key (are the two paths swapped?)", p->key_path);
		else
			rc = tn_fail(err, TN_EINVAL, "tls: key '%s' holds no PEM private key (%s)",
				     p->key_path, why);
	}
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

/* The checks between the parsed key and certificate, and the PEM re-encoding. */
static int check_and_encode(struct tls_pair *p, char *err)
{
	char why[128], when[64];
	BIO *cb = NULL, *nb = NULL;
	int rc = 0;

	if (X509_check_private_key(p->leaf, p->key) != 1) {
		ERR_clear_error();
		return tn_fail(err, TN_EINVAL, "tls: key '%s' does not match certificate '%s'",
			       p->key_path, p->cert_path);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(p->leaf)) <= 0) {
		asn1_str(X509_get0_notAfter(p->leaf), when, sizeof when);
		return tn_fail(err, TN_EINVAL, "tls: certificate '%s' expired on %s; replace it "
			       "with a valid certificate and key", p->cert_path, when);
	}
	if (X509_cmp_current_time(X509_get0_notBefore(p->leaf)) >= 0) {
		asn1_str(X509_get0_notBefore(p->leaf), when, sizeof when);
		return tn_fail(err, TN_EINVAL, "tls: certificate '%s' is not valid before %s "
			       "(is this machine's clock right?)", p->cert_path, when);
	}
	if (asn1_unix(X509_get0_notAfter(p->leaf), &p->not_after))
		return tn_fail(err, TN_EINVAL, "tls: certificate '%s': unreadable notAfter date",
			       p->cert_path);

	cb = BIO_new(BIO_s_mem());
	nb = BIO_new(BIO_s_mem());
	bool ok = cb && nb && PEM_write_bio_X509(cb, p->leaf) &&
		  X509_NAME_print_ex(nb, X509_get_subject_name(p->leaf), 0,
				     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0;
	for (int i = 0; ok && i < sk_X509_num(p->chain); i++)
		ok = PEM_write_bio_X509(cb, sk_X509_value(p->chain, i));
	struct buf subject = BUF_INIT(0);
	if (!ok || bio_to_buf(cb, &p->cert_pem) || bio_to_buf(nb, &subject))
		rc = tn_fail(err, TN_EINTERNAL, "tls: cannot encode the pair of '%s': %s",
			     p->cert_path, ossl_reason(why, sizeof why));
	p->subject = buf_detach(&subject, NULL);
	BIO_free(cb);
	BIO_free(nb);
	ERR_clear_error();
	return rc;
}

int tls_pair_load(const char *cert_path, const char *key_path, struct tls_pair **out,
		  char *err)
{
	struct tls_pair *p = xcalloc(1, sizeof *p);
	struct buf ctext = BUF_INIT(TLS_MAX_PEM), ktext = BUF_INIT(TLS_MAX_PEM);
	int rc;

	*out = NULL;
	ERR_clear_error();
	p->cert_path = xstrdup(cert_path);
	p->key_path = xstrdup(key_path);
	buf_init(&p->cert_pem, 0);
	if ((rc = read_pem("certificate", cert_path, false, &ctext, err)) ||
	    (rc = read_pem("key", key_path, true, &ktext, err)) ||
	    (rc = parse_certs(p, &ctext, err)) || (rc = parse_key(p, &ktext, err)) ||
	    (rc = check_and_encode(p, err)))
		goto out;
	*out = p;
	p = NULL;
out:
	buf_release(&ctext);
	buf_wipe_release(&ktext);
	tls_pair_free(p);
	return rc;
}

void tls_pair_free(struct tls_pair *p)
{
	if (!p)
		return;
	X509_free(p->leaf);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	buf_release(&p->cert_pem);
	free(p->cert_path);
	free(p->key_path);
	free(p->subject);
	free(p);
}

const char *tls_pair_cert_pem(const struct tls_pair *p)
{
	return p->cert_pem.data;
}

const char *tls_pair_cert_path(const struct tls_pair *p)
{
	return p->cert_path;
}

const char *tls_pair_key_path(const struct tls_pair *p)
{
	return p->key_path;
}

int64_t tls_pair_not_after(const struct tls_pair *p)
{
	return p->not_after;
}

const char *tls_pair_subject(const struct tls_pair *p)
{
	return p->subject;
}

int tls_pair_server_ctx(const struct tls_pair *p, struct ssl_ctx_st **out, char *err)
{
	char why[128];
	SSL_CTX *ctx;
	bool ok;

	*out = NULL;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	ok = ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
	     SSL_CTX_use_certificate(ctx, p->leaf) == 1;
	for (int i = 0; ok && i < sk_X509_num(p->chain); i++)
		ok = SSL_CTX_add1_chain_cert(ctx, sk_X509_value(p->chain, i)) == 1;
	ok = ok && SSL_CTX_use_PrivateKey(ctx, p->key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	if (!ok) {
		SSL_CTX_free(ctx);
		return tn_fail(err, TN_EINTERNAL, "tls: cannot set up a TLS context for '%s': %s",
			       p->cert_path, ossl_reason(why, sizeof why));
	}
	*out = ctx;
	return 0;
}
