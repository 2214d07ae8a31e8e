/*
 * api_objects.c - /v1/objects: the lake's objects over REST, governed.
 *
 *   GET    /v1/objects?prefix=&delimiter=/&start_after=&max_keys=N
 *          -> 200 {"objects": [{"key", "size", "modified", "etag"}],
 *                  "prefixes": ["a/b/"], "truncated": bool, "next": "key"}
 *   GET    /v1/objects/KEY   -> the bytes (ETag, Last-Modified, Content-Type)
 *   HEAD   /v1/objects/KEY   -> the headers only
 *   PUT    /v1/objects/KEY   -> 201 {"key", "size", "etag"} (body up to
 *          TN_MAX_OBJECT_BODY; larger objects go through the S3 API)
 *   DELETE /v1/objects/KEY   -> 204
 *
 * The key is the rest of the path (percent-decoded).  Every call goes
 * through store/objects.h with the caller, so object grants, the zone
 * rules and the audit trail are those of the S3 API.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "http/http_int.h"
#include "store/objects.h"

#include "core/banned.h"

#define OBJECTS_PATH "/v1/objects/"

static void caller_of(struct http_req *r, struct obj_caller *c, char *addr, size_t n)
{
	http_peer(r, addr, n);
	*c = (struct obj_caller){ .name = r->who.name, .admin = r->who.is_admin, .source = addr,
				  .request_id = r->request_id, .via = "rest" };
}

static const char *key_of(struct http_req *r)
{
	return r->path + strlen(OBJECTS_PATH);
}

static void http_date(int64_t ns, char *out, size_t n)
{
	time_format_http(ns / 1000000, out, n);
}

static void info_headers(struct http_req *r, const struct obj_info *info)
{
	char date[64];
	http_date(info->mtime_ns, date, sizeof date);
	http_header_add(r, "ETag", "\"%s\"", info->etag);
	http_header_add(r, "Last-Modified", "%s", date);
	http_header_add(r, "Content-Type", "%s", info->content_type);
}

static void object_read(struct http_req *r, bool head)
{
	char err[TN_ERRLEN], addr[64];
	struct obj_caller c;
	struct obj_info info;
	int fd = -1, rc;
	caller_of(r, &c, addr, sizeof addr);
	memset(&info, 0, sizeof info);
	rc = head ? obj_head(r->deps->objects, &c, key_of(r), &info, err)
		  : obj_open(r->deps->objects, &c, key_of(r), UINT64_MAX, &fd, &info, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_reply_fd(r, 200, head ? -1 : fd, 0, info.size, NULL);
	info_headers(r, &info);
	obj_info_release(&info);
}

void api_object_get(struct http_req *r)
{
	object_read(r, false);
}

void api_object_head(struct http_req *r)
{
	object_read(r, true);
}

void api_object_put(struct http_req *r)
{
	char err[TN_ERRLEN], addr[64];
	struct obj_caller c;
	struct obj_writer *w = NULL;
	struct obj_info info;
	const char *ct = http_req_header(r, "Content-Type");
	struct obj_put_opts opts = { .content_type = ct };
	caller_of(r, &c, addr, sizeof addr);
	memset(&info, 0, sizeof info);
	int rc = obj_writer_open(r->deps->objects, &c, key_of(r), &opts, &w, err);
	if (rc == 0 && (rc = obj_writer_write(w, r->body.data, r->body.len, err)))
		obj_writer_abort(w, err);
	else if (rc == 0)
		rc = obj_writer_commit(w, &info, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_header_add(r, "ETag", "\"%s\"", info.etag);
	http_reply_json(r, 201, json_pack("{s:s, s:I, s:s}", "key", key_of(r), "size",
					  (json_int_t)info.size, "etag", info.etag));
	obj_info_release(&info);
}

void api_object_delete(struct http_req *r)
{
	char err[TN_ERRLEN], addr[64];
	struct obj_caller c;
	caller_of(r, &c, addr, sizeof addr);
	int rc = obj_delete(r->deps->objects, &c, key_of(r), err);
	if (rc)
		http_reply_error(r, rc, err);
	else
		http_reply_empty(r, 204);
}

/* A query parameter into out ("" when absent); false (answered) when malformed. */
static bool param(struct http_req *r, const char *name, char *out, size_t n)
{
	int rc = http_query_param(r->raw_query, name, out, n);
	if (rc < 0) {
		char err[TN_ERRLEN];
		tn_fail(err, TN_EINVAL, "query parameter '%s' is too long or holds a NUL", name);
		http_reply_error(r, TN_EINVAL, err);
		return false;
	}
	if (rc == 0)
		out[0] = '\0';
	return true;
}

void api_objects_list(struct http_req *r)
{
	char err[TN_ERRLEN], addr[64], prefix[TN_MAX_KEY + 1], after[TN_MAX_KEY + 1], delim[8],
		maxk[16], etags[8];
	struct obj_caller c;
	struct obj_list l;
	if (!param(r, "prefix", prefix, sizeof prefix) ||
	    !param(r, "start_after", after, sizeof after) ||
	    !param(r, "delimiter", delim, sizeof delim) || !param(r, "max_keys", maxk, sizeof maxk) ||
	    !param(r, "etags", etags, sizeof etags))
		return;
	char *end;
	long max = *maxk ? strtol(maxk, &end, 10) : 1000;
	if ((*maxk && *end) || max < 1 || max > 1000) {
		tn_fail(err, TN_EINVAL, "max_keys '%s': a number from 1 to 1000", maxk);
		http_reply_error(r, TN_EINVAL, err);
		return;
	}
	caller_of(r, &c, addr, sizeof addr);
	int rc = obj_list(r->deps->objects, &c, prefix, delim, after, (size_t)max,
			  strcmp(etags, "false") != 0, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	json_t *objs = json_array(), *pre = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct obj_entry *e = &l.v[i];
		if (e->dir) {
			json_array_append_new(pre, json_string(e->key));
			continue;
		}
		char when[40];
		time_format_iso_ms(e->mtime_ns / 1000000, when, sizeof when);
		json_t *o = json_pack("{s:s, s:I, s:s}", "key", e->key, "size", (json_int_t)e->size,
				      "modified", when);
		if (e->etag[0])
			json_object_set_new(o, "etag", json_string(e->etag));
		json_array_append_new(objs, o);
	}
	json_t *doc = json_pack("{s:o, s:o, s:b}", "objects", objs, "prefixes", pre, "truncated",
				l.truncated);
	if (l.next)
		json_object_set_new(doc, "next", json_string(l.next));
	obj_list_release(&l);
	http_reply_json(r, 200, doc);
}
