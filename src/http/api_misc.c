/*
 * api_misc.c - the small endpoints: health check and API tokens.
 *
 * Both are plain translations: parse the little JSON document, call the
 * core (auth), print the answer.  Handlers run on the connection's thread
 * with r->who authenticated (except /healthz, which is public).
 */
#include <stdint.h>
#include <stdio.h>

#include "auth/auth.h"
#include "core/config.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "http/http_int.h"

#include "core/banned.h"

/* GET /healthz  (no auth) -> 200 {"status": "ok", "uptime_s": N} */
void api_healthz(struct http_req *r)
{
	int64_t up = (time_now_ms() - r->deps->started_ms) / 1000;

	http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "uptime_s",
					  (json_int_t)(up > 0 ? up : 0)));
}

/*
 * POST /v1/tokens  body: optional {"ttl_seconds": N}
 *   -> 201 {"token": "tn_...", "expires_at": "ISO8601", "principal": "root"}
 * N defaults to auth.token_ttl and may not pass auth.token_max_ttl.
 */
void api_tokens_create(struct http_req *r)
{
	const struct tn_config *cfg = r->deps->cfg;
	char err[TN_ERRLEN];
	char token[64], when[40];
	json_t *doc, *ttl;
	int64_t ttl_s = cfg->auth_token_ttl_s, expires_ms = 0;
	int rc;

	doc = http_body_json(r, err);
	if (!doc) {
		http_reply_error(r, TN_EINVAL, err);
		return;
	}
	ttl = json_object_get(doc, "ttl_seconds");
	if (ttl && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) <= 0) {
			json_decref(doc);
			http_reply_error(r, TN_EINVAL, "'ttl_seconds' must be a positive integer");
			return;
		}
		ttl_s = json_integer_value(ttl);
	}
	json_decref(doc);
	if (ttl_s > cfg->auth_token_max_ttl_s) {
		snprintf(err, sizeof(err),
			 "'ttl_seconds' %lld is past the maximum of %lld (auth.token_max_ttl)",
			 (long long)ttl_s, (long long)cfg->auth_token_max_ttl_s);
		http_reply_error(r, TN_EINVAL, err);
		return;
	}
	rc = auth_token_create(r->deps->auth, &r->who, ttl_s, token, &expires_ms, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	time_format_iso_ms(expires_ms, when, sizeof(when));
	http_reply_json(r, 201, json_pack("{s:s,s:s,s:s}", "token", token, "expires_at", when,
					  "principal", r->who.name));
}
