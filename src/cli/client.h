/*
 * client.h - what every client command of the tarn binary shares: an HTTP
 * client of the server's REST API (libcurl), its error reporting, and a
 * small command-line option parser.
 *
 * The server is at TARN_URL (default http://127.0.0.1:7070).  Credentials
 * come from TARN_TOKEN (sent as "Authorization: Bearer ...") or, without a
 * token, TARN_USER and TARN_PASSWORD (HTTP Basic).  For an https:// TARN_URL
 * the server's certificate is verified against the system's CAs, or
 * against the PEM file TARN_CACERT names (a lake's self-signed
 * <lake>/.tarn/tls/server.crt); verification is never turned off.  A struct
 * client keeps
 * one curl easy handle, so the requests of a command reuse one keep-alive
 * connection.
 *
 * Errors: functions return 0 or a negative TN code and write one complete
 * message into err (TN_ERRLEN bytes): the server's own message for an
 * error answer ({"error": {"code", "message"}}), or
 *   cannot reach the server at http://127.0.0.1:7070: <curl's reason>
 * when no answer came.  Commands print it with cli_error() and exit 1.
 *
 * Everything here is for the one thread of a CLI command.
 */
#ifndef TN_CLIENT_H
#define TN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/buf.h"

/*
 * The largest response body a command reads into memory.  API documents
 * are small (a list of 1,024 streams is under 1 MiB); 64 MiB leaves room
 * for large listings and query results without letting a broken or
 * hostile server exhaust memory.
 */
#define CLIENT_MAX_RESPONSE (64u << 20)

/* Connection timeout: a local server answers in milliseconds. */
#define CLIENT_CONNECT_TIMEOUT_S 5L

struct client {
	CURL *easy;                 /* reused: one keep-alive connection */
	char *url;                  /* base URL without a trailing '/' */
	char *auth_header;          /* "Authorization: Bearer ...", or NULL */
	char *user, *password;      /* for Basic, or NULL */
	char *cacert;               /* TARN_CACERT: CA / pinned certificate file, or NULL */
	const char *accept;         /* Accept of the requests (static); NULL: application/json */
	char curl_err[CURL_ERROR_SIZE];
};

/* One HTTP answer. */
struct client_resp {
	long status;                /* HTTP status; 0 before an answer */
	long retry_after;           /* Retry-After in seconds, -1 if absent */
	struct buf body;            /* capped at CLIENT_MAX_RESPONSE */
	bool too_big;               /* the body passed the cap (transfer aborted) */
};

/*
 * Reads TARN_URL, TARN_TOKEN, TARN_USER, TARN_PASSWORD and TARN_CACERT and
 * creates the curl handle.  Returns 0, or TN_EINVAL (bad TARN_URL, a
 * TARN_CACERT that is not a readable file) / TN_EINTERNAL with a message.
 * Release with client_release() (also after a failure).
 */
int client_init(struct client *c, char *err);
/* Frees the handle and strings; accepts a zeroed or released client. */
void client_release(struct client *c);

void client_resp_init(struct client_resp *r);
void client_resp_release(struct client_resp *r);

/*
 * Prepares any easy handle h (c->easy or one of a curl multi) for one
 * request: URL base + path, method, headers (borrowed: the caller keeps
 * them alive until the transfer ends; build them with client_headers()),
 * credentials, timeouts, and a body collected into resp (reset here).
 * body (n bytes, borrowed) may be NULL for none.  errbuf (CURL_ERROR_SIZE
 * bytes, borrowed) receives curl's reason for a failure.
 */
void client_setup(const struct client *c, CURL *h, const char *method, const char *path,
		  struct curl_slist *headers, const void *body, size_t n,
		  struct client_resp *resp, char *errbuf);

/*
 * The request headers: Accept (c->accept, default application/json), an empty "Expect:" (no
 * 100-continue round trip), the bearer token if any, and Content-Type
 * ctype if not NULL.  Caller frees with curl_slist_free_all().
 */
struct curl_slist *client_headers(const struct client *c, const char *ctype);

/*
 * Performs one request on c's handle and collects the answer into resp
 * (any status).  Returns 0 when an answer came, or TN_EIO with
 * "cannot reach the server at URL: reason" (or TN_ETOOBIG when the
 * response passed CLIENT_MAX_RESPONSE).
 */
int client_request(struct client *c, const char *method, const char *path, const char *ctype,
		   const void *body, size_t n, struct client_resp *resp, char *err);

/*
 * Turns a transfer's curl result into 0 or TN_EIO / TN_ETOOBIG with the
 * message above.  Used after client_request's perform and by curl multi
 * loops.
 */
int client_transfer_error(const struct client *c, CURLcode rc, const char *errbuf,
			  const struct client_resp *resp, char *err);

/*
 * For an answer that is not 2xx: writes the server's message into err
 * (with a hint about credentials for 401 when none are set) and returns
 * the TN code that fits the status (TN_EINVAL for 400, TN_EAUTH 401,
 * TN_EDENIED 403, TN_ENOTFOUND 404, TN_ECONFLICT 409, TN_ETOOBIG 413,
 * TN_EAGAIN 429/503, TN_EINTERNAL otherwise).  If the error object has
 * an integer "index", *index gets it (else -1); index may be NULL.
 */
int client_resp_error(const struct client *c, const struct client_resp *r, long *index,
		      char *err);

/*
 * A JSON API call: sends body (NULL for none; serialized compactly, with
 * Content-Type application/json), and for a 2xx answer parses it into
 * *out (caller frees with json_decref(); *out may be NULL when the answer
 * was empty or out is NULL).  A non-2xx answer returns client_resp_error()'s
 * code and message.  If raw is not NULL it receives the body as sent by
 * the server (appended), for --json output.
 */
int client_json(struct client *c, const char *method, const char *path, json_t *body,
		json_t **out, struct buf *raw, char *err);

/*
 * Appends a path segment percent-encoded (RFC 3986 unreserved characters
 * stay as they are), for names put into a URL path.
 */
int client_path_escape(struct buf *b, const char *s);

/* Parses a JSON body; TN_EINVAL with "the server sent invalid JSON: ...". */
int client_parse_json(const char *data, size_t n, json_t **out, char *err);

/*
 * A JSON member as an unsigned integer: accepts a JSON integer or a string
 * of digits (sequence numbers travel as strings).  Returns false if absent
 * or of another type.
 */
bool client_json_u64(const json_t *obj, const char *key, uint64_t *out);

/* ---- printing ---- */

/* Prints "tarn: <formatted message>\n" to stderr and returns 1 (the exit code). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints usage to stderr with "tarn: <message>" above it and returns 2
 * (bad usage); msg may be NULL.
 */
int cli_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- options ---- */

/*
 * Walks a command's arguments:
 *
 *     struct cli_args a;
 *     cli_args_init(&a, argc, argv);      // argv[0] is the command name
 *     while (cli_next(&a)) {
 *         if (cli_flag(&a, "--json")) json = true;
 *         else if (cli_value(&a, "--ttl", &v)) ...;
 *         else if (a.positional && !name) name = a.arg;
 *         else return cli_bad_arg(&a, usage);
 *     }
 *     if (a.error) return cli_bad_arg(&a, usage);
 *
 * Options take their value as the next argument or after '='
 * ("--ttl 60", "--ttl=60"); "--" ends the options; "-" alone is a
 * positional argument.
 */
struct cli_args {
	int argc;
	char **argv;
	int i;
	const char *arg;        /* the current argument */
	bool positional;        /* arg is not an option */
	bool only_positional;   /* after "--" */
	bool matched;
	bool error;             /* an option lacked its value */
	char msg[128];
};

void cli_args_init(struct cli_args *a, int argc, char **argv);
/* Advances to the next argument; false at the end or after an error. */
bool cli_next(struct cli_args *a);
/* True if the current argument is the flag name (no value allowed). */
bool cli_flag(struct cli_args *a, const char *name);
/* True if the current argument is option name; *val gets its value. */
bool cli_value(struct cli_args *a, const char *name, const char **val);
/* True for -h / --help. */
bool cli_is_help(const struct cli_args *a);
/*
 * For an argument no case matched: prints why (a missing option value, an
 * unexpected argument, an unknown option) above usage; returns 2.
 */
int cli_bad_arg(const struct cli_args *a, const char *usage);

/*
 * The option form several commands share: `CMD [--json] [ARG]`.  Sets *arg
 * (left as it was if absent) and *json.  Returns -1 when the caller should
 * go on, else the exit code to return at once: 0 after --help (usage on
 * stdout), 2 after bad usage (usage on stderr).
 */
int cli_parse_arg_json(int argc, char **argv, const char *usage, const char **arg, bool *json);

/*
 * Parses a non-negative integer with an optional size suffix when
 * sizes is true (k, m, g and KiB/MiB/GiB, powers of 1024: "4MiB", "512k").
 * Returns 0 or TN_EINVAL.
 */
int cli_parse_u64(const char *s, bool sizes, uint64_t *out);

#endif
