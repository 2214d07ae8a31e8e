/*
 * api_principals.c - users, roles and access keys under /v1 (admins only).
 *
 *   GET    /v1/users                     users: roles held, admin, disabled, keys
 *   POST   /v1/users                     {"name", "password"?} -> 201; without a
 *                                        password one is generated and returned once
 *   PUT    /v1/users/{name}              {"password"?, "disabled"?}
 *   DELETE /v1/users/{name}              with its tokens, keys and memberships
 *   POST   /v1/users/{name}/keys         -> 201 {"key_id", "secret"} (the secret once)
 *   PUT    /v1/keys/{id}                 {"disabled": true|false}
 *   DELETE /v1/keys/{id}
 *   GET    /v1/roles                     roles and the roles they hold
 *   POST   /v1/roles                     {"name"} -> 201
 *   DELETE /v1/roles/{name}
 *   PUT    /v1/roles/{name}/members/{member}     grant the role to a user or role
 *   DELETE /v1/roles/{name}/members/{member}     revoke it
 *   GET    /v1/grants[?principal=]       grants
 *   POST   /v1/grants                    {"principal", "select": "db"|"db.table"|"tag:x",
 *                                        "columns"?: [...], "exclude"?: bool, "row_filter"?: "..."}
 *                                        or {"principal", "clearance": "pii"}
 *                                        or {"principal", "stream": "events"|"*"}
 *                                        or {"principal", "write": "mart"} -> 201 {"id"}
 *   DELETE /v1/grants/{id}
 *   PUT    /v1/masks/{tag}               {"mask": "null"|"redact"|"partial"|"hash"}
 *
 * Thin translation onto auth.h.  Secrets appear only in the one answer
 * that creates them, never in logs.  Handlers run on the loop thread: a
 * password change costs one PBKDF2 (a few ms), as a first Basic login does.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "http/http_int.h"
#include "policy/policy.h"
#include "store/objects.h"
#include "query/query.h"

#include "core/banned.h"

/* Length of a generated password: 24 characters of base64url (18 random bytes). */
#define GENERATED_PASSWORD_BYTES 18

static void generate_password(char out[32])
{
	uint8_t r[GENERATED_PASSWORD_BYTES];
	struct buf b = BUF_INIT(0);
	crypto_random(r, sizeof r);
	base64_encode(r, sizeof r, &b);
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '/')
			b.data[i] = '-';
		else if (b.data[i] == '+')
			b.data[i] = '_';
	snprintf(out, 32, "%s", b.data);
	explicit_bzero(r, sizeof r);
	explicit_bzero(b.data, b.len);
	buf_release(&b);
}

static void reply_list(struct http_req *r, bool roles)
{
	char err[TN_ERRLEN];
	struct auth_principal_list l;
	int rc = auth_principals(r->deps->auth, roles, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct auth_principal_info *p = &l.v[i];
		json_t *o = json_pack("{s:s, s:b, s:I}", "name", p->name, "admin", p->is_admin,
				      "created_ms", (json_int_t)p->created_ms);
		json_t *held = json_array();
		char *save = NULL, *list = strdup(p->roles);
		for (char *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(held, json_string(t));
		free(list);
		json_object_set_new(o, "roles", held);
		if (!roles) {
			json_object_set_new(o, "root", json_boolean(p->is_root));
			json_object_set_new(o, "disabled", json_boolean(p->disabled));
			json_t *keys = json_array();
			list = strdup(p->keys);
			for (char *t = list ? strtok_r(list, ",", &save) : NULL; t;
			     t = strtok_r(NULL, ",", &save))
				json_array_append_new(keys, json_string(t));
			free(list);
			json_object_set_new(o, "keys", keys);
		}
		json_array_append_new(a, o);
	}
	auth_principal_list_release(&l);
	http_reply_json(r, 200, json_pack("{s:o}", roles ? "roles" : "users", a));
}

void api_users_list(struct http_req *r)
{
	reply_list(r, false);
}

void api_roles_list(struct http_req *r)
{
	reply_list(r, true);
}

/* The body as an object with an optional string "name"; answers on error. */
static json_t *body_object(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = http_body_json(r, err);
	if (!doc)
		http_reply_error(r, TN_EINVAL, err);
	return doc;
}

void api_users_add(struct http_req *r)
{
	char err[TN_ERRLEN], gen[32] = "";
	json_t *doc = body_object(r);
	if (!doc)
		return;
	const char *name = json_string_value(json_object_get(doc, "name"));
	json_t *pw = json_object_get(doc, "password");
	if (!name || (pw && !json_is_null(pw) && !json_is_string(pw))) {
		json_decref(doc);
		http_reply_error(r, TN_EINVAL, "the body needs \"name\" (and may give \"password\", "
				 "a string; without it one is generated)");
		return;
	}
	const char *password = json_string_value(pw);
	if (!password) {
		generate_password(gen);
		password = gen;
	}
	int rc = auth_user_add(r->deps->auth, name, password, err);
	if (rc) {
		http_reply_error(r, rc, err);
	} else {
		http_audit(r, "user", r->who.name, json_pack("{s:s, s:s}", "action", "add", "user", name));
		json_t *o = json_pack("{s:s}", "name", name);
		if (gen[0])
			json_object_set_new(o, "password", json_string(gen));
		http_header_add(r, "Location", "/v1/users/%s", name);
		http_reply_json(r, 201, o);
	}
	explicit_bzero(gen, sizeof gen);
	json_decref(doc);
}

void api_user_put(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = body_object(r);
	if (!doc)
		return;
	json_t *pw = json_object_get(doc, "password"), *dis = json_object_get(doc, "disabled");
	json_t *unlock = json_object_get(doc, "unlock");
	if ((pw && !json_is_string(pw)) || (dis && !json_is_boolean(dis)) ||
	    (unlock && !json_is_true(unlock)) || (!pw && !dis && !unlock)) {
		json_decref(doc);
		http_reply_error(r, TN_EINVAL, "the body gives \"password\" (a string), "
				 "\"disabled\" (true or false) and/or \"unlock\": true");
		return;
	}
	int rc = 0;
	if (unlock) {
		rc = auth_unlock(r->deps->auth, r->param[0], err);
		if (rc == 0)
			http_audit(r, "user", r->who.name,
				   json_pack("{s:s, s:s}", "action", "unlock", "user", r->param[0]));
	}
	if (rc == 0 && pw)
		rc = auth_user_passwd(r->deps->auth, r->param[0], json_string_value(pw), err);
	if (rc == 0 && dis)
		rc = auth_user_enable(r->deps->auth, r->param[0], !json_is_true(dis), err);
	if (rc == 0)
		http_audit(r, "user", r->who.name,
			   json_pack("{s:s, s:s, s:b, s:O?}", "action", "change", "user", r->param[0],
				     "password_changed", pw != NULL, "disabled", dis));
	json_decref(doc);
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_user_delete(struct http_req *r)
{
	char err[TN_ERRLEN];
	int rc = auth_user_remove(r->deps->auth, r->param[0], err);
	if (rc == 0)
		http_audit(r, "user", r->who.name,
			   json_pack("{s:s, s:s}", "action", "remove", "user", r->param[0]));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_user_key_create(struct http_req *r)
{
	char err[TN_ERRLEN], id[AUTH_KEY_ID_LEN + 1], secret[AUTH_KEY_SECRET_LEN + 1];
	int rc = auth_key_create(r->deps->auth, r->param[0], id, secret, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_audit(r, "key", r->who.name,
		   json_pack("{s:s, s:s, s:s}", "action", "create", "user", r->param[0], "key_id", id));
	http_reply_json(r, 201, json_pack("{s:s, s:s, s:s}", "user", r->param[0], "key_id", id,
					  "secret", secret));
	explicit_bzero(secret, sizeof secret);
}

void api_key_put(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = body_object(r);
	if (!doc)
		return;
	json_t *dis = json_object_get(doc, "disabled");
	if (!json_is_boolean(dis)) {
		json_decref(doc);
		http_reply_error(r, TN_EINVAL, "the body gives \"disabled\": true or false");
		return;
	}
	int rc = auth_key_set(r->deps->auth, r->param[0],
			      json_is_true(dis) ? AUTH_KEY_DISABLE : AUTH_KEY_ENABLE, err);
	if (rc == 0)
		http_audit(r, "key", r->who.name,
			   json_pack("{s:s, s:s}", "action", json_is_true(dis) ? "disable" : "enable",
				     "key_id", r->param[0]));
	json_decref(doc);
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_key_delete(struct http_req *r)
{
	char err[TN_ERRLEN];
	int rc = auth_key_set(r->deps->auth, r->param[0], AUTH_KEY_DELETE, err);
	if (rc == 0)
		http_audit(r, "key", r->who.name,
			   json_pack("{s:s, s:s}", "action", "delete", "key_id", r->param[0]));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_roles_add(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = body_object(r);
	if (!doc)
		return;
	const char *name = json_string_value(json_object_get(doc, "name"));
	int rc = name ? auth_role_add(r->deps->auth, name, err)
		      : tn_fail(err, TN_EINVAL, "the body needs \"name\"");
	if (rc) {
		http_reply_error(r, rc, err);
	} else {
		http_audit(r, "role", r->who.name, json_pack("{s:s, s:s}", "action", "add", "role", name));
		http_reply_json(r, 201, json_pack("{s:s}", "name", name));
	}
	json_decref(doc);
}

void api_role_delete(struct http_req *r)
{
	char err[TN_ERRLEN];
	int rc = auth_role_remove(r->deps->auth, r->param[0], err);
	if (rc == 0)
		http_audit(r, "role", r->who.name,
			   json_pack("{s:s, s:s}", "action", "remove", "role", r->param[0]));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

static void member(struct http_req *r, bool grant)
{
	char err[TN_ERRLEN];
	int rc = auth_role_grant(r->deps->auth, r->param[0], r->param[1], grant, err);
	if (rc == 0)
		http_audit(r, "role", r->who.name,
			   json_pack("{s:s, s:s, s:s}", "action", grant ? "grant" : "revoke", "role",
				     r->param[0], "member", r->param[1]));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_role_member_put(struct http_req *r)
{
	member(r, true);
}

void api_role_member_delete(struct http_req *r)
{
	member(r, false);
}

/* ---- grants and masks ---- */

void api_grants_list(struct http_req *r)
{
	char err[TN_ERRLEN], who[TN_MAX_PRINCIPAL + 1];
	int prc = http_query_param(r->raw_query, "principal", who, sizeof who);
	if (prc < 0) {
		http_reply_error(r, TN_EINVAL, "query parameter 'principal' is too long");
		return;
	}
	struct grant_list l;
	int rc = policy_grants(r->deps->policy, prc ? who : NULL, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct grant *g = &l.v[i];
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)g->id,
				      "principal", g->principal, grant_kind_name(g->kind), g->target,
				      "created_ms", (json_int_t)g->created_ms,
				      "created_by", g->created_by ? g->created_by : "");
		if (g->columns) {
			json_t *c = json_loads(g->columns, 0, NULL);
			json_object_set_new(o, g->exclude ? "exclude" : "columns", c ? c : json_null());
		}
		if (g->row_filter)
			json_object_set_new(o, "row_filter", json_string(g->row_filter));
		json_array_append_new(a, o);
	}
	grant_list_release(&l);
	http_reply_json(r, 200, json_pack("{s:o}", "grants", a));
}

void api_grants_add(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = body_object(r);
	if (!doc)
		return;
	const char *principal = json_string_value(json_object_get(doc, "principal"));
	json_t *cols = json_object_get(doc, "columns"), *excl = json_object_get(doc, "exclude");
	json_t *flt = json_object_get(doc, "row_filter");
	int rc = 0, kinds = 0;
	enum grant_kind kind = GRANT_SELECT;
	const char *target = NULL;
	char objtarget[600];
	for (int k = GRANT_SELECT; k <= GRANT_DELETE; k++) {
		const char *t = json_string_value(json_object_get(doc, grant_kind_name(k)));
		if (t) {
			kinds++;
			kind = (enum grant_kind)k;
			target = t;
		}
	}
	if (!principal || kinds != 1)
		rc = tn_fail(err, TN_EINVAL, "the body needs \"principal\" and one of \"select\" "
			     "(db, db.table or tag:NAME), \"clearance\" (a tag), \"stream\" (a stream "
			     "or *), \"write\" (a zone or ZONE/PREFIX: tables and objects), or "
			     "\"read\", \"list\", \"delete\" (objects under a zone or ZONE/PREFIX)");
	else if (kind == GRANT_READ || kind == GRANT_WRITE || kind == GRANT_LIST ||
		 kind == GRANT_DELETE) {
		/* A key prefix in folder form ("04-user-drop-zone/team/") names its zone. */
		obj_grant_target(r->deps->store, target, objtarget, sizeof objtarget);
		target = objtarget;
	}
	if (rc)
		;
	else if (kind != GRANT_SELECT && (cols || excl || (flt && !json_is_null(flt))))
		rc = tn_fail(err, TN_EINVAL, "only select grants take columns and a row filter");
	else if ((cols && !json_is_array(cols)) || (excl && !json_is_array(excl)) ||
		 (cols && excl) || (flt && !json_is_null(flt) && !json_is_string(flt)))
		rc = tn_fail(err, TN_EINVAL, "\"columns\" or \"exclude\" (not both) is a list of "
			     "column names; \"row_filter\" a string");
	json_t *list = cols ? cols : excl;
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		if (rc == 0 && !json_is_string(e))
			rc = tn_fail(err, TN_EINVAL, "column list entry %zu is not a string", i);
	}
	const char *filter = json_string_value(flt);
	if (rc == 0 && filter)
		rc = query_check_filter(r->deps->engine, filter, err);
	if (rc == 0) {
		char *cj = list ? json_dumps(list, JSON_COMPACT) : NULL;
		struct grant g = { .principal = (char *)principal, .kind = kind,
				   .target = (char *)target, .columns = cj,
				   .exclude = excl != NULL, .row_filter = (char *)filter,
				   .created_by = r->who.name };
		rc = policy_grant(r->deps->policy, &g, err);
		if (rc == 0) {
			http_audit(r, "grant", r->who.name,
				   json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?, s:s?}", "action", "grant",
					     "id", (json_int_t)g.id, "to", principal, "kind",
					     grant_kind_name(kind), "target", target,
					     "columns", cj, "row_filter", filter));
			http_reply_json(r, 201, json_pack("{s:I}", "id", (json_int_t)g.id));
		}
		free(cj);
	}
	if (rc)
		http_reply_error(r, rc, err);
	json_decref(doc);
}

void api_grant_delete(struct http_req *r)
{
	char err[TN_ERRLEN], *end;
	long long id = strtoll(r->param[0], &end, 10);
	int rc = *end || id <= 0 ? tn_fail(err, TN_ENOTFOUND, "grant '%.40s' does not exist",
					   r->param[0])
				 : policy_revoke(r->deps->policy, id, err);
	if (rc == 0)
		http_audit(r, "grant", r->who.name,
			   json_pack("{s:s, s:I}", "action", "revoke", "id", (json_int_t)id));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

void api_mask_put(struct http_req *r)
{
	char err[TN_ERRLEN];
	json_t *doc = body_object(r);
	if (!doc)
		return;
	int k = mask_parse(json_string_value(json_object_get(doc, "mask")));
	int rc = k < 0 ? tn_fail(err, TN_EINVAL, "\"mask\" is null, redact, partial or hash")
		       : policy_set_mask(r->deps->policy, r->param[0], (enum mask_kind)k, err);
	if (rc == 0)
		http_audit(r, "mask", r->who.name, json_pack("{s:s, s:s}", "tag", r->param[0], "mask",
							    mask_name((enum mask_kind)k)));
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
	json_decref(doc);
}
