/*
 * multipart.c - governed multipart uploads (S3's CreateMultipartUpload,
 * UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads) over the store's staging area (.tarn/uploads/).
 *
 * Design.  An upload is a folder of parts plus upload.json (key, content
 * type, user metadata, initiator).  Each part is written like an object
 * (streamed, atomic, fsync'd) and carries its MD5 in its attribute blob.
 * Completion checks the listed parts against what was uploaded (number
 * and ETag: InvalidPart; every part but the last at least
 * OBJ_MIN_PART_SIZE: EntityTooSmall), then builds the object through an
 * ordinary writer fed by copy_file_range from the part files, so the
 * object appears whole or not at all and the raw-zone rules hold as for
 * any write.  Its ETag is S3's: the MD5 of the parts' binary MD5s, "-N".
 * The upload folder goes once the object is visible.
 *
 * Rules: every step needs the write grant on the key (so a revoke stops
 * the remaining parts); only the upload's own key may complete it.
 * Uploads older than the configured age are removed by obj_mpu_sweep.
 */
#include "store/objects.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "store/objects_int.h"
#include "store/store.h"
#include "core/banned.h"

/* The upload's description, checked against the key the caller names. */
static int upload_load(struct objects *o, const char *key, const char *id, json_t **out,
		       int64_t *created_ns, char *err)
{
	struct buf b = BUF_INIT(0);
	int rc = store_upload_meta(o->s, id, &b, created_ns, err);
	*out = NULL;
	if (rc) {
		buf_release(&b);
		return rc == TN_ENOTFOUND ? tn_fail(err, TN_ENOTFOUND, "upload '%.80s' does not "
						    "exist (completed, aborted or expired?)", id)
					  : rc;
	}
	json_t *doc = json_loadb(b.data, b.len, 0, NULL);
	buf_release(&b);
	const char *k = json_string_value(json_object_get(doc, "key"));
	if (!k || (key && strcmp(k, key))) {
		json_decref(doc);
		return tn_fail(err, TN_ENOTFOUND, "upload '%.80s' does not exist for key '%.200s'",
			       id, key ? key : "");
	}
	*out = doc;
	return 0;
}

void objects_set_upload_age(struct objects *o, int64_t max_age_ms)
{
	o->upload_max_age_ms = max_age_ms;
	atomic_store(&o->last_sweep_ms, time_now_ms());
	if (max_age_ms > 0)
		obj_mpu_sweep(o, max_age_ms);
}

int obj_mpu_create(struct objects *o, const struct obj_caller *c, const char *key,
		   const struct obj_put_opts *opts, char id[OBJ_UPLOAD_ID_LEN + 1], char *err)
{
	int64_t now = time_now_ms(), last = atomic_load(&o->last_sweep_ms);
	if (o->upload_max_age_ms > 0 && now - last > 3600 * 1000 &&
	    atomic_compare_exchange_strong(&o->last_sweep_ms, &last, now))
		obj_mpu_sweep(o, o->upload_max_age_ms);
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	if (rc)
		return audit_fail(o, c, "upload-create", key, rc, err);
	uint8_t rnd[OBJ_UPLOAD_ID_LEN / 2];
	crypto_random(rnd, sizeof rnd);
	hex_encode(rnd, sizeof rnd, id);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "key", key, "type",
				opts && opts->content_type && *opts->content_type
					? opts->content_type : "application/octet-stream",
				"initiator", c->name ? c->name : "", "created_ms",
				(json_int_t)time_now_ms());
	json_t *meta = opts && opts->user_meta ? json_loads(opts->user_meta, 0, NULL) : NULL;
	if (json_is_object(meta))
		json_object_set(doc, "meta", meta);
	json_decref(meta);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	rc = store_upload_create(o->s, id, s, strlen(s), err);
	free(s);
	if (rc)
		return audit_fail(o, c, "upload-create", key, rc, err);
	audit_object(o, c, "upload-create", key, "ok", json_pack("{s:s}", "upload_id", id));
	return 0;
}

int obj_part_open(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  unsigned part, uint64_t size, struct obj_writer **out, char *err)
{
	json_t *doc = NULL;
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	*out = NULL;
	if (rc == 0 && (part < 1 || part > OBJ_MAX_PARTS))
		rc = tn_fail(err, TN_EINVAL, "part number %u: parts are numbered 1 to %u", part,
			     OBJ_MAX_PARTS);
	if (rc == 0)
		rc = upload_load(o, key, id, &doc, NULL, err);
	json_decref(doc);
	if (rc)
		return audit_fail(o, c, "upload-part", key, rc, err);
	struct obj_writer *w = xcalloc(1, sizeof *w);
	w->o = o;
	w->name = dup_or_null(c->name);
	w->source = dup_or_null(c->source);
	w->request_id = dup_or_null(c->request_id);
	w->via = dup_or_null(c->via);
	w->c = (struct obj_caller){ w->name, c->admin, w->source, w->request_id, w->via, c->auth };
	w->key = xstrdup(key);
	w->part = part;
	snprintf(w->info.content_type, sizeof w->info.content_type, "application/octet-stream");
	int flags = writer_hold_or_stream(w, size);
	if ((rc = store_part_writer_open(o->s, id, part, flags, &w->sw, err))) {
		audit_fail(o, c, "upload-part", key, rc, err);
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* The ETag a part's blob records, into etag; false if it has none. */
static bool part_etag(const struct store_part *p, char *etag, size_t n)
{
	struct obj_info info = { .size = p->size };
	struct buf b = { (char *)p->attr, p->attr_len, 0, 0 };
	bool ok;
	info_from_blob(&b, &info, &ok);
	if (ok) /* a part's blob has no mtime: the size alone says which bytes */
		snprintf(etag, n, "%s", info.etag);
	obj_info_release(&info);
	return ok;
}

int obj_mpu_complete(struct objects *o, const struct obj_caller *c, const char *key,
		     const char *id, const struct obj_part_ref *want, size_t nwant,
		     struct obj_info *info, enum obj_mpu_fail *why, char *err)
{
	json_t *doc = NULL;
	struct store_part *have = NULL;
	size_t nhave = 0;
	struct obj_writer *w = NULL;
	struct crypto_digest *etags = NULL;
	uint64_t total = 0;
	*why = OBJ_MPU_OK;
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	if (rc == 0 && (rc = upload_load(o, key, id, &doc, NULL, err)) == TN_ENOTFOUND)
		*why = OBJ_MPU_NO_UPLOAD;
	if (rc == 0)
		rc = store_upload_parts(o->s, id, &have, &nhave, err);
	if (rc == 0 && nwant == 0) {
		*why = OBJ_MPU_BAD_PART;
		rc = tn_fail(err, TN_EINVAL, "a completion lists at least one part");
	}
	etags = crypto_digest_new(CRYPTO_MD5);
	for (size_t i = 0, j = 0; rc == 0 && i < nwant; i++) {
		char etag[OBJ_ETAG_LEN];
		if (i && want[i].number <= want[i - 1].number) {
			*why = OBJ_MPU_ORDER;
			rc = tn_fail(err, TN_EINVAL, "parts must be listed in ascending order "
				     "(part %u after part %u)", want[i].number, want[i - 1].number);
			break;
		}
		while (j < nhave && have[j].number < want[i].number)
			j++;
		if (j == nhave || have[j].number != want[i].number ||
		    !part_etag(&have[j], etag, sizeof etag) || strcmp(etag, want[i].etag)) {
			*why = OBJ_MPU_BAD_PART;
			rc = tn_fail(err, TN_EINVAL, "part %u was not uploaded or its ETag is not "
				     "'%.64s'", want[i].number, want[i].etag);
			break;
		}
		total += have[j].size;
		if (total > OBJ_MAX_OBJECT) {
			*why = OBJ_MPU_TOO_BIG;
			rc = tn_fail(err, TN_ETOOBIG, "the parts add up to more than 5 TiB, the largest "
				     "object");
			break;
		}
		if (i + 1 < nwant && have[j].size < OBJ_MIN_PART_SIZE) {
			*why = OBJ_MPU_TOO_SMALL;
			rc = tn_fail(err, TN_EINVAL, "part %u is %llu bytes: every part but the last "
				     "must be at least %u bytes", want[i].number,
				     (unsigned long long)have[j].size, OBJ_MIN_PART_SIZE);
			break;
		}
		uint8_t md[MD5_LEN];
		size_t got = 0;
		if (hex_decode(etag, strlen(etag), md, sizeof md, &got) || got != MD5_LEN) {
			*why = OBJ_MPU_BAD_PART;
			rc = tn_fail(err, TN_EINVAL, "part %u has a malformed ETag", want[i].number);
			break;
		}
		crypto_digest_update(etags, md, MD5_LEN);
	}
	char final[OBJ_ETAG_LEN] = "";
	if (rc == 0) {
		uint8_t md[MD5_LEN];
		char hex[2 * MD5_LEN + 1];
		crypto_digest_final(etags, md);
		etags = NULL;
		hex_encode(md, MD5_LEN, hex);
		snprintf(final, sizeof final, "%s-%zu", hex, nwant);
		json_t *meta = json_object_get(doc, "meta");
		char *ms = json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
		struct obj_put_opts opts = {
			.content_type = json_string_value(json_object_get(doc, "type")),
			.user_meta = ms, .etag = final };
		rc = obj_writer_open(o, c, key, &opts, &w, err);
		free(ms);
	}
	for (size_t i = 0; rc == 0 && i < nwant; i++)
		rc = store_writer_append_part(w->sw, id, want[i].number, err);
	crypto_digest_free(etags);
	free(have);
	json_decref(doc);
	if (rc) {
		if (w)
			obj_writer_abort(w, err);
		else
			audit_fail(o, c, "upload-complete", key, rc, err);
		return rc;
	}
	if ((rc = obj_writer_commit(w, info, err)))
		return rc;
	char dummy[TN_ERRLEN];
	store_upload_remove(o->s, id, dummy); /* the object is whole: the parts may go */
	audit_object(o, c, "upload-complete", key, "ok",
		     json_pack("{s:s, s:I}", "upload_id", id, "parts", (json_int_t)nwant));
	return 0;
}

int obj_mpu_abort(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  char *err)
{
	json_t *doc = NULL;
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	if (rc == 0)
		rc = upload_load(o, key, id, &doc, NULL, err);
	json_decref(doc);
	if (rc == 0)
		rc = store_upload_remove(o->s, id, err);
	if (rc)
		return audit_fail(o, c, "upload-abort", key, rc, err);
	audit_object(o, c, "upload-abort", key, "ok", json_pack("{s:s}", "upload_id", id));
	return 0;
}

int obj_mpu_parts(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  struct obj_part_list *out, char *err)
{
	json_t *doc = NULL;
	struct store_part *have = NULL;
	size_t n = 0;
	memset(out, 0, sizeof *out);
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	if (rc == 0 && (rc = upload_load(o, key, id, &doc, NULL, err)) == 0)
		rc = store_upload_parts(o->s, id, &have, &n, err);
	if (rc == 0) {
		snprintf(out->initiator, sizeof out->initiator, "%s",
			 json_string_value(json_object_get(doc, "initiator"))
				 ? json_string_value(json_object_get(doc, "initiator")) : "");
		out->v = xcalloc(n + 1, sizeof *out->v);
		for (size_t i = 0; i < n; i++) {
			struct obj_part_info *p = &out->v[out->n];
			if (!part_etag(&have[i], p->etag, sizeof p->etag))
				continue; /* a part whose blob is gone cannot be completed either */
			p->number = have[i].number;
			p->size = have[i].size;
			p->mtime_ns = have[i].mtime_ns;
			out->n++;
		}
	}
	free(have);
	json_decref(doc);
	if (rc)
		return audit_fail(o, c, "upload-list-parts", key, rc, err);
	return 0;
}

struct sweep_ctx {
	struct objects *o;
	const struct obj_caller *c;
	const char *prefix;
	int64_t older_than_ns;   /* sweep: remove uploads created before; else 0 */
	struct obj_upload_list *out;
	unsigned removed;
};

static int each_upload(void *arg, const char *id)
{
	struct sweep_ctx *x = arg;
	json_t *doc = NULL;
	int64_t created = 0;
	char err[TN_ERRLEN];
	if (upload_load(x->o, NULL, id, &doc, &created, err))
		return 0;
	const char *key = json_string_value(json_object_get(doc, "key"));
	if (x->older_than_ns) {
		if (created < x->older_than_ns && store_upload_remove(x->o->s, id, err) == 0)
			x->removed++;
	} else if (!strncmp(key, x->prefix, strlen(x->prefix)) &&
		   obj_allowed(x->o, x->c, OBJ_WRITE, key, err) == 0) {
		struct obj_upload_list *l = x->out;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
		struct obj_upload *u = &l->v[l->n++];
		memset(u, 0, sizeof *u);
		u->key = xstrdup(key);
		snprintf(u->id, sizeof u->id, "%s", id);
		snprintf(u->initiator, sizeof u->initiator, "%s",
			 json_string_value(json_object_get(doc, "initiator"))
				 ? json_string_value(json_object_get(doc, "initiator")) : "");
		u->created_ns = created;
	}
	json_decref(doc);
	return 0;
}

static int upload_cmp(const void *a, const void *b)
{
	const struct obj_upload *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->id, y->id);
}

int obj_mpu_list(struct objects *o, const struct obj_caller *c, const char *prefix,
		 struct obj_upload_list *out, char *err)
{
	memset(out, 0, sizeof *out);
	struct sweep_ctx x = { .o = o, .c = c, .prefix = prefix ? prefix : "", .out = out };
	int rc = store_uploads(o->s, each_upload, &x, err);
	if (rc) {
		obj_upload_list_release(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, upload_cmp);
	return 0;
}

void obj_upload_list_release(struct obj_upload_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void obj_part_list_release(struct obj_part_list *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

unsigned obj_mpu_sweep(struct objects *o, int64_t max_age_ms)
{
	char err[TN_ERRLEN];
	struct obj_caller sys = { .name = "tarn", .admin = true, .via = "sweep" };
	struct sweep_ctx x = { .o = o, .c = &sys,
			       .older_than_ns = (time_now_ms() - max_age_ms) * 1000000 };
	if (x.older_than_ns <= 0)
		return 0;
	store_uploads(o->s, each_upload, &x, err);
	if (x.removed)
		audit_object(o, &sys, "upload-expire", "", "ok",
			     json_pack("{s:I}", "uploads", (json_int_t)x.removed));
	return x.removed;
}
