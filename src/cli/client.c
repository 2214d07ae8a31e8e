/*
 * client.c - the REST client shared by the CLI's client commands.
 *
 * Design.  One curl easy handle per struct client, reset (which keeps its
 * live connections) and set up again for each request, so a command's
 * requests share one keep-alive connection.  client_setup() is separate
 * from client_request() so that commands driving a curl multi handle
 * (ingest with --parallel) configure their handles the same way.  The
 * "Expect:" header is always cleared: curl would otherwise wait for a
 * 100-continue before sending bodies over 1 MiB, one round trip per batch.
 *
 * Invariants.  Response bodies are capped (CLIENT_MAX_RESPONSE); every
 * failure ends as one message in the caller's err buffer, never printed
 * here except by the cli_* printing helpers; credentials never appear in
 * messages.
 */
#include "cli/client.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/banned.h"

#define DEFAULT_URL "http://127.0.0.1:7070"

static int curl_ready;

static bool has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int client_init(struct client *c, char *err)
{
	memset(c, 0, sizeof *c);
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return tn_fail(err, TN_EINTERNAL, "cannot initialise libcurl");
		curl_ready = 1;
	}
	const char *url = env_nonempty("TARN_URL");
	if (!url)
		url = DEFAULT_URL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return tn_fail(err, TN_EINVAL,
			       "TARN_URL '%s': expected http://HOST:PORT or https://HOST:PORT", url);
	if (has_line_break(url))
		return tn_fail(err, TN_EINVAL, "TARN_URL contains a line break");
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	c->url = xstrndup(url, n);

	const char *token = env_nonempty("TARN_TOKEN");
	const char *user = env_nonempty("TARN_USER");
	const char *password = getenv("TARN_PASSWORD");
	if (token) {
		if (has_line_break(token))
			return tn_fail(err, TN_EINVAL, "TARN_TOKEN contains a line break");
		c->auth_header = xasprintf("Authorization: Bearer %s", token);
	} else if (user) {
		if (!password)
			return tn_fail(err, TN_EINVAL,
				       "TARN_USER is set but TARN_PASSWORD is not: set both, or TARN_TOKEN");
		c->user = xstrdup(user);
		c->password = xstrdup(password);
	}
	const char *cacert = env_nonempty("TARN_CACERT");
	if (cacert) {
		/* Checked here so a wrong path is named, not a TLS failure later. */
		char msg[TN_ERRLEN];
		int fd = os_open(cacert, O_RDONLY, 0, msg);
		if (fd < 0)
			return tn_fail(err, TN_EINVAL, "TARN_CACERT: cannot %s", msg);
		os_close(fd);
		c->cacert = xstrdup(cacert);
	}
	c->easy = curl_easy_init();
	if (!c->easy)
		return tn_fail(err, TN_EINTERNAL, "cannot create a libcurl handle");
	return 0;
}

void client_release(struct client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c->url);
	free(c->auth_header);
	free(c->user);
	free(c->cacert);
	if (c->password) {
		/* Do not leave the password in freed memory. */
		volatile char *p = c->password;
		while (*p)
			*p++ = 0;
		free(c->password);
	}
	memset(c, 0, sizeof *c);
}

void client_resp_init(struct client_resp *r)
{
	r->status = 0;
	r->retry_after = -1;
	r->too_big = false;
	buf_init(&r->body, CLIENT_MAX_RESPONSE);
}

void client_resp_release(struct client_resp *r)
{
	if (r)
		buf_release(&r->body);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct client_resp *r = ud;
	size_t n = size * nmemb;
	if (buf_append(&r->body, p, n) != 0) {
		r->too_big = true;
		return 0;  /* curl aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Collects Retry-After (seconds; an HTTP-date counts as 1 s). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct client_resp *r = ud;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		r->retry_after = -1;  /* a new response (after a 1xx) */
	} else if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		size_t i = sizeof name - 1;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		long v = 0;
		bool digits = false;
		while (i < n && p[i] >= '0' && p[i] <= '9' && v < 86400) {
			v = v * 10 + (p[i] - '0');
			digits = true;
			i++;
		}
		r->retry_after = digits ? v : 1;
	}
	return n;
}

void client_setup(const struct client *c, CURL *h, const char *method, const char *path,
		  struct curl_slist *headers, const void *body, size_t n,
		  struct client_resp *resp, char *errbuf)
{
	curl_easy_reset(h);
	struct buf url = BUF_INIT(0);
	buf_puts(&url, c->url);
	buf_puts(&url, path);
	curl_easy_setopt(h, CURLOPT_URL, url.data);  /* curl copies it */
	buf_release(&url);

	if (!strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? n : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (c->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLIENT_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tarn-cli");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Peer and host verification stay on (curl's default); this only picks the anchor. */
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);

	buf_reset(&resp->body);
	resp->status = 0;
	resp->retry_after = -1;
	resp->too_big = false;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	errbuf[0] = 0;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

struct curl_slist *client_headers(const struct client *c, const char *ctype)
{
	struct curl_slist *h = NULL;
	char accept[128];
	snprintf(accept, sizeof accept, "Accept: %s", c->accept ? c->accept : "application/json");
	h = curl_slist_append(h, accept);
	h = curl_slist_append(h, "Expect:");
	if (c->auth_header)
		h = curl_slist_append(h, c->auth_header);
	if (ctype) {
		char line[128];
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	if (!h)
		TN_BUG("curl_slist_append failed");
	return h;
}

int client_transfer_error(const struct client *c, CURLcode rc, const char *errbuf,
			  const struct client_resp *resp, char *err)
{
	if (rc == CURLE_OK)
		return 0;
	if (resp && resp->too_big)
		return tn_fail(err, TN_ETOOBIG, "the answer of the server at %s is larger than %u MiB",
			       c->url, CLIENT_MAX_RESPONSE >> 20);
	const char *why = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		if (c->cacert)
			return tn_fail(err, TN_EIO, "the server at %s is not trusted: %s (TARN_CACERT "
				       "is '%s': is it this server's certificate?)", c->url, why,
				       c->cacert);
		return tn_fail(err, TN_EIO, "the server at %s is not trusted: %s (for a lake's "
			       "self-signed certificate set TARN_CACERT=LAKE/.tarn/tls/server.crt)",
			       c->url, why);
	case CURLE_GOT_NOTHING:
		if (strncmp(c->url, "http://", 7) == 0)
			return tn_fail(err, TN_EIO, "request to the server at %s failed: %s (if it "
				       "serves HTTPS, use https:// in TARN_URL)", c->url, why);
		return tn_fail(err, TN_EIO, "request to the server at %s failed: %s", c->url, why);
	case CURLE_SSL_CACERT_BADFILE:
		return tn_fail(err, TN_EINVAL, "TARN_CACERT '%s' is not a PEM certificate file: %s",
			       c->cacert ? c->cacert : "", why);
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return tn_fail(err, TN_EIO, "cannot reach the server at %s: %s", c->url, why);
	default:
		return tn_fail(err, TN_EIO, "request to the server at %s failed: %s", c->url, why);
	}
}

int client_request(struct client *c, const char *method, const char *path, const char *ctype,
		   const void *body, size_t n, struct client_resp *resp, char *err)
{
	struct curl_slist *headers = client_headers(c, ctype);
	client_setup(c, c->easy, method, path, headers, body, n, resp, c->curl_err);
	CURLcode rc = curl_easy_perform(c->easy);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(headers);
	/* The handle keeps a pointer to the freed list until the next setup. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	return client_transfer_error(c, rc, c->curl_err, resp, err);
}

int client_parse_json(const char *data, size_t n, json_t **out, char *err)
{
	json_error_t je;
	json_t *j = json_loadb(data, n, JSON_DECODE_ANY, &je);
	if (!j)
		return tn_fail(err, TN_EINVAL, "the server sent invalid JSON: %s at byte %d",
			       je.text, je.position);
	*out = j;
	return 0;
}

static int status_code(long status)
{
	switch (status) {
	case 400: return TN_EINVAL;
	case 401: return TN_EAUTH;
	case 403: return TN_EDENIED;
	case 404: return TN_ENOTFOUND;
	case 409: return TN_ECONFLICT;
	case 413: return TN_ETOOBIG;
	case 429:
	case 503: return TN_EAGAIN;
	case 507: return TN_ENOSPC;
	default: return TN_EINTERNAL;
	}
}

int client_resp_error(const struct client *c, const struct client_resp *r, long *index,
		      char *err)
{
	int code = status_code(r->status);
	if (index)
		*index = -1;
	char msg[TN_ERRLEN] = "";
	json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
	json_t *e = j ? json_object_get(j, "error") : NULL;
	const char *m = e ? json_string_value(json_object_get(e, "message")) : NULL;
	if (m && *m) {
		snprintf(msg, sizeof msg, "%s", m);
		json_t *ix = json_object_get(e, "index");
		if (index && json_is_integer(ix))
			*index = (long)json_integer_value(ix);
	} else {
		/* Not tarn's error document: show the start of what came. */
		char snip[160];
		size_t k = 0;
		for (size_t i = 0; i < r->body.len && k + 1 < sizeof snip; i++) {
			unsigned char ch = (unsigned char)r->body.data[i];
			if (ch == '\n' || ch == '\r')
				break;
			snip[k++] = isprint(ch) ? (char)ch : '?';
		}
		snip[k] = 0;
		snprintf(msg, sizeof msg, "the server answered HTTP %ld%s%s", r->status,
			 k ? ": " : "", snip);
	}
	json_decref(j);
	if (r->status == 401 && !c->auth_header && !c->user)
		return tn_fail(err, code, "%s (set TARN_TOKEN, or TARN_USER and TARN_PASSWORD)", msg);
	return tn_fail(err, code, "%s", msg);
}

int client_json(struct client *c, const char *method, const char *path, json_t *body,
		json_t **out, struct buf *raw, char *err)
{
	char *text = NULL;
	if (out)
		*out = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return tn_fail(err, TN_EINTERNAL, "cannot serialise the request");
	}
	struct client_resp r;
	client_resp_init(&r);
	int rc = client_request(c, method, path, text ? "application/json" : NULL, text,
				text ? strlen(text) : 0, &r, err);
	free(text);
	if (rc)
		goto out;
	if (r.status < 200 || r.status > 299) {
		rc = client_resp_error(c, &r, NULL, err);
		goto out;
	}
	if (raw && (rc = buf_append(raw, r.body.data, r.body.len)) != 0) {
		rc = tn_fail(err, rc, "the answer of the server is too large");
		goto out;
	}
	if (out && r.body.len > 0)
		rc = client_parse_json(r.body.data, r.body.len, out, err);
out:
	client_resp_release(&r);
	return rc;
}

int client_path_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			rc = buf_putc(b, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

bool client_json_u64(const json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	const char *s = json_string_value(v);
	if (!s || !*s)
		return false;
	uint64_t x = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*out = x;
	return true;
}

/* ---- printing ---- */

int cli_error(const char *fmt, ...)
{
	char msg[TN_ERRLEN * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "tarn: %s\n", msg);
	return 1;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	if (fmt) {
		char msg[TN_ERRLEN];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		fprintf(stderr, "tarn: %s\n", msg);
	}
	fputs(usage, stderr);
	return 2;
}

/* ---- options ---- */

void cli_args_init(struct cli_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof *a);
	a->argc = argc;
	a->argv = argv;
	a->i = 0;  /* argv[0] is the command name */
}

bool cli_next(struct cli_args *a)
{
	if (a->error)
		return false;
	a->i++;
	if (a->i >= a->argc)
		return false;
	a->arg = a->argv[a->i];
	a->matched = false;
	if (!a->only_positional && !strcmp(a->arg, "--")) {
		a->only_positional = true;
		return cli_next(a);
	}
	a->positional = a->only_positional || a->arg[0] != '-' || a->arg[1] == 0;
	return true;
}

bool cli_is_help(const struct cli_args *a)
{
	return !a->positional && (!strcmp(a->arg, "-h") || !strcmp(a->arg, "--help"));
}

int cli_bad_arg(const struct cli_args *a, const char *usage)
{
	if (a->error)
		return cli_usage_error(usage, "%s", a->msg);
	if (a->positional)
		return cli_usage_error(usage, "unexpected argument '%s'", a->arg);
	return cli_usage_error(usage, "unknown option '%s'", a->arg);
}

bool cli_flag(struct cli_args *a, const char *name)
{
	if (a->positional || strcmp(a->arg, name) != 0)
		return false;
	a->matched = true;
	return true;
}

bool cli_value(struct cli_args *a, const char *name, const char **val)
{
	if (a->positional)
		return false;
	size_t n = strlen(name);
	if (strncmp(a->arg, name, n) != 0)
		return false;
	if (a->arg[n] == '=') {
		*val = a->arg + n + 1;
	} else if (a->arg[n] == 0) {
		if (a->i + 1 >= a->argc) {
			a->error = true;
			snprintf(a->msg, sizeof a->msg, "option '%s' needs a value", name);
			return false;
		}
		*val = a->argv[++a->i];
	} else {
		return false;
	}
	a->matched = true;
	return true;
}

int cli_parse_arg_json(int argc, char **argv, const char *usage, const char **arg, bool *json)
{
	struct cli_args a;
	bool have = false;
	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(usage, stdout);
			return 0;
		} else if (cli_flag(&a, "--json")) {
			*json = true;
		} else if (a.positional && !have) {
			*arg = a.arg;
			have = true;
		} else {
			return cli_bad_arg(&a, usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, usage);
	return -1;
}

int cli_parse_u64(const char *s, bool sizes, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return TN_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return TN_EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && sizes) {
		unsigned shift;
		switch (tolower((unsigned char)*p)) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 'b': shift = 0; break;
		default: return TN_EINVAL;
		}
		p++;
		if (shift && (!strcasecmp(p, "ib") || !strcasecmp(p, "b")))
			p += strlen(p);
		if (*p)
			return TN_EINVAL;
		if (shift && v > (UINT64_MAX >> shift))
			return TN_EINVAL;
		v <<= shift;
	}
	if (*p)
		return TN_EINVAL;
	*out = v;
	return 0;
}
