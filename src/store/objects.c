/*
 * objects.c - governed object operations: policy, store, audit.
 *
 * Design.  A grant target "zone/prefix" becomes the key prefix
 * "<zone folder>/prefix" (a zone alone: "<zone folder>/"), so checks are
 * string prefix tests on keys, with the zone folders taken from the store
 * (they are configurable; grants name zones, not folders, so they survive
 * a change of folder names).  The caller's targets are read from the
 * metastore per operation: a revoke holds for the next request.
 *
 * Attributes.  An object's blob (store_attr_*) is a JSON object:
 *   {"e": ETAG, "s": SIZE, "t": TYPE, "m": MTIME_NS, "u": {user metadata}}
 * with "t" left out for application/octet-stream and "m", "u" when there
 * are none.  Short, so that an object's blob fits in its ext4 inode
 * (values to 60 bytes with 256-byte inodes) instead of an extra block per
 * object written, read and fsynced.  Blobs written before name the same
 * members "etag", "size", "type", "mtime" and "meta"; both are read.
 * "s" (and "m" when known) say which bytes the ETag belongs to: a file
 * appended to in place (the audit trail) or written by a part of tarn that
 * sets no blob is hashed again, and the blob cached, when its size or
 * mtime no longer match.
 *
 * Invariants: every public operation audits exactly once (allowed or
 * denied); nothing here holds a lock across calls.
 */
#include "store/objects.h"
#include "store/objects_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/md5x.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/os.h"
#include "policy/audit.h"
#include "policy/policy.h"
#include "store/store.h"
#include "core/banned.h"



void objects_on_change(struct objects *o, void (*fn)(void *arg, const char *folder), void *arg)
{
	o->on_change = fn;
	o->change_arg = arg;
}

void changed(struct objects *o, const char *key)
{
	char folder[PATH_MAX];
	const char *slash = strrchr(key, '/');
	if (!o->on_change || !slash || (size_t)(slash - key) + 2 > sizeof folder)
		return;
	memcpy(folder, key, (size_t)(slash - key) + 1);
	folder[slash - key + 1] = '\0';
	o->on_change(o->change_arg, folder);
}

static const char *const action_names[] = { "read", "write", "list", "delete" };
static const enum grant_kind action_kinds[] = { GRANT_READ, GRANT_WRITE, GRANT_LIST,
						GRANT_DELETE };

const char *obj_action_name(enum obj_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "read";
}

int objects_open(struct store *s, struct policy *p, struct audit *a, struct objects **out,
		 char *err)
{
	(void)err;
	struct objects *o = xcalloc(1, sizeof *o);
	o->s = s;
	o->p = p;
	o->a = a;
	pthread_mutex_init(&o->attr_mu, NULL);
	o->attrs = xcalloc(ATTR_SLOTS, sizeof *o->attrs);
	pthread_mutex_init(&o->hold_mu, NULL);
	o->md5 = md5x_pool_new();
	*out = o;
	return 0;
}

void objects_close(struct objects *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < ATTR_SLOTS; i++)
		free(o->attrs[i].user_meta);
	free(o->attrs);
	md5x_pool_free(o->md5);
	for (int i = 0; i < o->nspare; i++)
		free(o->spare[i]);
	pthread_mutex_destroy(&o->hold_mu);
	pthread_mutex_destroy(&o->attr_mu);
	free(o);
}

void obj_info_release(struct obj_info *i)
{
	if (i) {
		free(i->user_meta);
		i->user_meta = NULL;
	}
}

void obj_list_release(struct obj_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	free(l->next);
	memset(l, 0, sizeof *l);
}

/* ---- audit ---- */

void audit_object(struct objects *o, const struct obj_caller *c, const char *action,
			 const char *key, const char *outcome, json_t *extra)
{
	if (!o->a) {
		json_decref(extra);
		return;
	}
	json_t *f = extra ? extra : json_object();
	json_object_set_new(f, "action", json_string(action));
	json_object_set_new(f, "key", json_string(key ? key : ""));
	json_object_set_new(f, "outcome", json_string(outcome));
	if (c->via)
		json_object_set_new(f, "via", json_string(c->via));
	if (c->auth)
		json_object_set_new(f, "auth", json_string(c->auth));
	if (c->source)
		json_object_set_new(f, "source", json_string(c->source));
	if (c->request_id)
		json_object_set_new(f, "request_id", json_string(c->request_id));
	audit_log(o->a, "object", c->name ? c->name : "", f);
}

/* Audits a failed operation with its message; returns rc. */
int audit_fail(struct objects *o, const struct obj_caller *c, const char *action,
		      const char *key, int rc, const char *err)
{
	audit_object(o, c, action, key, rc == TN_EDENIED ? "denied" : "error",
		     json_pack("{s:s}", "error", err ? err : ""));
	return rc;
}

/* ---- who may do what where ---- */

/* The key prefix a grant target "zone[/prefix]" covers, into out. */
static bool target_prefix(struct objects *o, const char *target, char *out, size_t n)
{
	char db[64];
	const char *slash = strchr(target, '/');
	size_t dl = slash ? (size_t)(slash - target) : strlen(target);
	if (dl == 0 || dl >= sizeof db)
		return false;
	memcpy(db, target, dl);
	db[dl] = 0;
	int z = zone_by_name(db);
	if (z < 0)
		return false;
	return (size_t)snprintf(out, n, "%s/%s", store_zone_dir(o->s, (enum zone)z),
				slash ? slash + 1 : "") < n;
}

/* The caller's own folders: sandbox/<name>/ and transient/01-athena/<name>/. */
static size_t own_prefixes(struct objects *o, const char *name, char out[2][PATH_MAX])
{
	if (!name || !*name)
		return 0;
	snprintf(out[0], PATH_MAX, "%s/%s/", store_zone_dir(o->s, ZONE_SANDBOX), name);
	snprintf(out[1], PATH_MAX, "%s/01-athena/%s/", store_zone_dir(o->s, ZONE_TRANSIENT), name);
	return 2;
}

/* Key prefixes the caller holds for action a (own folders included). */
struct prefixes {
	char **v;
	size_t n;
};

static void prefixes_release(struct prefixes *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i]);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

static int caller_prefixes(struct objects *o, const struct obj_caller *c, enum obj_action a,
			   struct prefixes *out, char *err)
{
	char **targets = NULL, own[2][PATH_MAX], buf[PATH_MAX];
	size_t nt = 0, no = own_prefixes(o, c->name, own);
	int rc = 0;
	out->v = NULL;
	out->n = 0;
	if (o->p && (rc = policy_object_targets(o->p, c->name, action_kinds[a], &targets, &nt, err)))
		return rc;
	out->v = xcalloc(nt + no + 1, sizeof *out->v);
	for (size_t i = 0; i < no; i++)
		out->v[out->n++] = xstrdup(own[i]);
	for (size_t i = 0; i < nt; i++) {
		if (target_prefix(o, targets[i], buf, sizeof buf))
			out->v[out->n++] = xstrdup(buf);
		free(targets[i]);
	}
	free(targets);
	return 0;
}

static bool covered(const struct prefixes *ps, const char *key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strncmp(key, ps->v[i], strlen(ps->v[i])))
			return true;
	return false;
}

/* The zone rules that hold for everyone, admins included. */
static int zone_rules(struct objects *o, enum obj_action a, const char *key, char *err)
{
	int z = store_zone_of(o->s, key);
	if (z < 0)
		return tn_fail(err, TN_EINVAL, "object key '%.200s': not inside a zone", key);
	if (a == OBJ_DELETE && z == ZONE_RAW)
		return tn_fail(err, TN_EDENIED, "object '%.200s': the raw zone is immutable: its "
			       "objects are never deleted", key);
	if ((a == OBJ_WRITE || a == OBJ_DELETE) && z == ZONE_LOG) {
		char audit[PATH_MAX];
		snprintf(audit, sizeof audit, "%s/audit/", store_zone_dir(o->s, ZONE_LOG));
		if (!strncmp(key, audit, strlen(audit)))
			return tn_fail(err, TN_EDENIED, "object '%.200s': the audit trail is "
				       "append-only", key);
	}
	return 0;
}

int obj_allowed(struct objects *o, const struct obj_caller *c, enum obj_action a, const char *key,
		char *err)
{
	int rc = store_key_check(key, strlen(key), err);
	if (rc || (rc = zone_rules(o, a, key, err)))
		return rc;
	if (c->admin)
		return 0;
	struct prefixes ps;
	if ((rc = caller_prefixes(o, c, a, &ps, err)))
		return rc;
	bool ok = covered(&ps, key);
	prefixes_release(&ps);
	if (!ok)
		return tn_fail(err, TN_EDENIED, "%s may not %s '%.200s' (no %s grant covers it)",
			       c->name, obj_action_name(a), key, obj_action_name(a));
	return 0;
}

void obj_grant_target(const struct store *s, const char *input, char *out, size_t n)
{
	char db[64], probe[TN_MAX_KEY + 2];
	const char *slash = strchr(input, '/');
	size_t dl = slash ? (size_t)(slash - input) : strlen(input);
	snprintf(out, n, "%s", input);
	if (dl < sizeof db) {
		memcpy(db, input, dl);
		db[dl] = 0;
		for (size_t i = 0; i < dl; i++)
			if (db[i] >= 'A' && db[i] <= 'Z')
				db[i] = (char)(db[i] - 'A' + 'a');
		if (zone_by_name(db) >= 0)
			return;
	}
	snprintf(probe, sizeof probe, "%s%s", input,
		 *input && input[strlen(input) - 1] != '/' ? "/" : "");
	int z = store_zone_of(s, probe);
	if (z < 0)
		return;
	const char *rest = input + strlen(store_zone_dir(s, (enum zone)z));
	if (*rest == '/')
		rest++;
	snprintf(out, n, "%s%s%s", zone_db_name((enum zone)z), *rest ? "/" : "", rest);
}

/* ---- attributes ---- */

/* The member of a blob by its short name, or by its long one (blobs written before). */
static json_t *blob_get(json_t *doc, const char *brief, const char *name)
{
	json_t *v = json_object_get(doc, brief);
	return v ? v : json_object_get(doc, name);
}

void info_from_blob(const struct buf *b, struct obj_info *info, bool *etag_valid)
{
	json_t *doc = json_loadb(b->data, b->len, 0, NULL);
	*etag_valid = false;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return;
	}
	const char *etag = json_string_value(blob_get(doc, "e", "etag"));
	const char *type = json_string_value(blob_get(doc, "t", "type"));
	json_t *meta = blob_get(doc, "u", "meta");
	json_t *size = blob_get(doc, "s", "size"), *mtime = blob_get(doc, "m", "mtime");
	if (type)
		snprintf(info->content_type, sizeof info->content_type, "%s", type);
	if (json_is_object(meta) && json_object_size(meta))
		info->user_meta = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (etag && *etag && json_is_integer(size) && (uint64_t)json_integer_value(size) == info->size &&
	    (!json_is_integer(mtime) || json_integer_value(mtime) == info->mtime_ns)) {
		snprintf(info->etag, sizeof info->etag, "%s", etag);
		*etag_valid = true;
	}
	json_decref(doc);
}

char *blob_of(const struct obj_info *info, bool with_mtime)
{
	struct buf b = BUF_INIT(0);
	buf_putc(&b, '{');
	if (info->etag[0]) { /* none yet: a reader computes it (info_fill) */
		buf_puts(&b, "\"e\":");
		buf_json_str(&b, info->etag, strlen(info->etag));
		buf_putc(&b, ',');
	}
	buf_printf(&b, "\"s\":%" PRIu64, info->size);
	if (info->content_type[0] && strcmp(info->content_type, "application/octet-stream")) {
		buf_puts(&b, ",\"t\":");
		buf_json_str(&b, info->content_type, strlen(info->content_type));
	}
	if (with_mtime)
		buf_printf(&b, ",\"m\":%" PRId64, info->mtime_ns);
	json_t *meta = info->user_meta ? json_loads(info->user_meta, 0, NULL) : NULL;
	if (json_is_object(meta) && json_object_size(meta)) {
		char *m = json_dumps(meta, JSON_COMPACT);
		buf_printf(&b, ",\"u\":%s", m ? m : "{}");
		free(m);
	}
	json_decref(meta);
	buf_putc(&b, '}');
	return buf_detach(&b, NULL);
}

/* MD5 of an open file's bytes, hex, into etag. */
static int md5_fd(int fd, uint64_t size, const char *key, char *etag, char *err)
{
	struct crypto_digest *d = crypto_digest_new(CRYPTO_MD5);
	uint8_t *chunk = xmalloc(1u << 20), md[MD5_LEN];
	uint64_t off = 0;
	int rc = 0;
	while (off < size) {
		size_t got = 0, want = size - off < (1u << 20) ? (size_t)(size - off) : (1u << 20);
		if ((rc = os_pread(fd, chunk, want, off, &got, key, err)))
			break;
		if (got == 0)
			break;
		crypto_digest_update(d, chunk, got);
		off += got;
	}
	free(chunk);
	if (rc) {
		crypto_digest_free(d);
		return rc;
	}
	crypto_digest_final(d, md);
	hex_encode(md, MD5_LEN, etag);
	return 0;
}

/*
 * The attribute cache: what info_from_blob made of a file's attributes, by
 * the file's identity (device, inode).  An entry serves only the same
 * inode with the same size, mtime and ctime: a new version of an object is
 * a new inode (written beside, renamed over), and any change to the
 * attributes in place moves the ctime.  It saves a read of the attributes
 * (fgetxattr, a JSON parse) per GET, HEAD or listed ETag.
 */
/* The first of the ATTR_WAYS slots a file may use. */
static struct attr_slot *attr_set_of(struct objects *o, const struct store_stat *st)
{
	uint64_t h = (st->ino * 0x9e3779b97f4a7c15ull) ^ (st->dev * 0xc2b2ae3d27d4eb4full);
	return &o->attrs[(h >> 40) % (ATTR_SLOTS / ATTR_WAYS) * ATTR_WAYS];
}

static bool attr_same(const struct attr_slot *a, const struct store_stat *st)
{
	return a->used && a->dev == st->dev && a->ino == st->ino && a->size == st->size &&
	       a->mtime_ns == st->mtime_ns && a->ctime_ns == st->ctime_ns;
}

/* The file's slot in its set, or NULL (o->attr_mu held). */
static struct attr_slot *attr_find(struct objects *o, const struct store_stat *st)
{
	struct attr_slot *set = attr_set_of(o, st);
	for (int i = 0; i < ATTR_WAYS; i++)
		if (set[i].used && set[i].dev == st->dev && set[i].ino == st->ino)
			return &set[i];
	return NULL;
}

static bool attr_get(struct objects *o, const struct store_stat *st, struct obj_info *info)
{
	if (!st->ino)
		return false;
	pthread_mutex_lock(&o->attr_mu);
	struct attr_slot *a = attr_find(o, st);
	bool hit = a && attr_same(a, st);
	if (hit) {
		a->used_at = ++o->attr_tick;
		memcpy(info->etag, a->etag, sizeof info->etag);
		memcpy(info->content_type, a->content_type, sizeof info->content_type);
		info->user_meta = a->user_meta ? xstrdup(a->user_meta) : NULL;
	}
	pthread_mutex_unlock(&o->attr_mu);
	return hit;
}

static void attr_put(struct objects *o, const struct store_stat *st, const struct obj_info *info)
{
	if (!st->ino)
		return;
	char *meta = info->user_meta ? xstrdup(info->user_meta) : NULL;
	pthread_mutex_lock(&o->attr_mu);
	struct attr_slot *a = attr_find(o, st);
	if (!a) { /* a free slot of the set, or the one used longest ago */
		a = attr_set_of(o, st);
		for (struct attr_slot *s = a + 1; s < attr_set_of(o, st) + ATTR_WAYS; s++)
			if (a->used && (!s->used || s->used_at < a->used_at))
				a = s;
	}
	char *old = a->user_meta;
	a->used = true;
	a->used_at = ++o->attr_tick;
	a->dev = st->dev;
	a->ino = st->ino;
	a->size = st->size;
	a->mtime_ns = st->mtime_ns;
	a->ctime_ns = st->ctime_ns;
	memcpy(a->etag, info->etag, sizeof a->etag);
	memcpy(a->content_type, info->content_type, sizeof a->content_type);
	a->user_meta = meta;
	pthread_mutex_unlock(&o->attr_mu);
	free(old);
}

/* Fills info of key from its open descriptor (st from the same file). */
static int info_fill(struct objects *o, const char *key, int fd, const struct store_stat *st,
		     struct obj_info *info, char *err)
{
	struct buf b;
	bool valid = false;
	memset(info, 0, sizeof *info);
	info->size = st->size;
	info->mtime_ns = st->mtime_ns;
	if (attr_get(o, st, info))
		return 0;
	snprintf(info->content_type, sizeof info->content_type, "application/octet-stream");
	buf_init(&b, 0);
	if (store_attr_get_fd(fd, key, &b, err) == 0)
		info_from_blob(&b, info, &valid);
	buf_release(&b);
	if (valid) {
		attr_put(o, st, info);
		return 0;
	}
	int rc = md5_fd(fd, st->size, key, info->etag, err);
	if (rc)
		return rc;
	char *blob = blob_of(info, true);
	char dummy[TN_ERRLEN];
	store_attr_set(o->s, key, blob, strlen(blob), dummy); /* a cache: failure is harmless */
	free(blob);
	return 0;
}

/* ---- operations ---- */



/* ---- held writes ---- */

/* Reserves n bytes of the held budget; false when they do not fit. */
static bool hold_reserve(struct objects *o, uint64_t n)
{
	pthread_mutex_lock(&o->hold_mu);
	bool ok = o->held + n <= OBJ_HOLD_BUDGET;
	if (ok)
		o->held += n;
	pthread_mutex_unlock(&o->hold_mu);
	return ok;
}

static char *chunk_get(struct objects *o)
{
	char *c = NULL;
	pthread_mutex_lock(&o->hold_mu);
	if (o->nspare)
		c = o->spare[--o->nspare];
	pthread_mutex_unlock(&o->hold_mu);
	return c ? c : xmalloc(OBJ_CHUNK);
}

/* Gives w's chunks back and its reservation up. */
static void hold_release(struct obj_writer *w)
{
	struct objects *o = w->o;
	pthread_mutex_lock(&o->hold_mu);
	while (w->nchunk && o->nspare < OBJ_SPARE_CHUNKS)
		o->spare[o->nspare++] = w->chunk[--w->nchunk];
	o->held -= w->reserved;
	pthread_mutex_unlock(&o->hold_mu);
	while (w->nchunk)
		free(w->chunk[--w->nchunk]);
	w->reserved = 0;
	w->hold = false;
}

/* w's held bytes as pieces (every one but the last OBJ_CHUNK long). */
static int hold_iov(const struct obj_writer *w, struct iovec *iov)
{
	for (int i = 0; i < w->nchunk; i++)
		iov[i] = (struct iovec){ w->chunk[i], i + 1 < w->nchunk ? OBJ_CHUNK : w->last };
	return w->nchunk;
}

/*
 * The bytes outgrew the reservation (a body longer than announced): they
 * go to the temp file and are hashed as they stream from now on.
 */
static int hold_spill(struct obj_writer *w, char *err)
{
	struct iovec iov[OBJ_HOLD_MAX / OBJ_CHUNK];
	int n = hold_iov(w, iov), rc = 0;
	w->md5 = crypto_digest_new(CRYPTO_MD5);
	for (int i = 0; i < n && rc == 0; i++) {
		crypto_digest_update(w->md5, iov[i].iov_base, iov[i].iov_len);
		rc = store_writer_write(w->sw, iov[i].iov_base, iov[i].iov_len, err);
	}
	hold_release(w);
	return rc;
}

static uint64_t held_size(const struct obj_writer *w)
{
	return w->nchunk ? (uint64_t)(w->nchunk - 1) * OBJ_CHUNK + w->last : 0;
}

static void hold_append(struct obj_writer *w, const char *p, size_t n)
{
	while (n) {
		if (!w->nchunk || w->last == OBJ_CHUNK) {
			w->chunk[w->nchunk++] = chunk_get(w->o);
			w->last = 0;
		}
		size_t k = n < OBJ_CHUNK - w->last ? n : OBJ_CHUNK - w->last;
		memcpy(w->chunk[w->nchunk - 1] + w->last, p, k);
		w->last += k;
		p += k;
		n -= k;
	}
}

int writer_hold_or_stream(struct obj_writer *w, uint64_t size)
{
	if (size >= OBJ_HOLD_MIN && size <= OBJ_HOLD_MAX && hold_reserve(w->o, size)) {
		w->hold = true;
		w->reserved = size;
		return STORE_LAZY;
	}
	w->md5 = crypto_digest_new(CRYPTO_MD5);
	return 0;
}

void writer_free(struct obj_writer *w)
{
	if (w->hold)
		hold_release(w);
	crypto_digest_free(w->md5);
	obj_info_release(&w->info);
	free(w->preset_etag);
	free(w->name);
	free(w->source);
	free(w->request_id);
	free(w->via);
	free(w->key);
	free(w);
}

char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

int obj_writer_open(struct objects *o, const struct obj_caller *c, const char *key,
		    const struct obj_put_opts *opts, struct obj_writer **out, char *err)
{
	int rc = obj_allowed(o, c, OBJ_WRITE, key, err);
	*out = NULL;
	if (rc)
		return audit_fail(o, c, "write", key, rc, err);
	if (opts && opts->user_meta) {
		json_t *m = json_loads(opts->user_meta, 0, NULL);
		bool ok = json_is_object(m);
		json_decref(m);
		if (!ok)
			return audit_fail(o, c, "write", key,
					  tn_fail(err, TN_EINVAL, "user metadata is not a JSON object"),
					  err);
	}
	struct obj_writer *w = xcalloc(1, sizeof *w);
	w->o = o;
	w->name = dup_or_null(c->name);
	w->source = dup_or_null(c->source);
	w->request_id = dup_or_null(c->request_id);
	w->via = dup_or_null(c->via);
	w->c = (struct obj_caller){ w->name, c->admin, w->source, w->request_id, w->via, c->auth };
	w->key = xstrdup(key);
	snprintf(w->info.content_type, sizeof w->info.content_type, "%s",
		 opts && opts->content_type && *opts->content_type ? opts->content_type
								  : "application/octet-stream");
	w->info.user_meta = opts ? dup_or_null(opts->user_meta) : NULL;
	w->preset_etag = opts ? dup_or_null(opts->etag) : NULL;
	int flags = (opts && opts->nosync ? STORE_NOSYNC : 0) |
		    writer_hold_or_stream(w, opts ? opts->size : 0);
	if ((rc = store_writer_open(o->s, key, flags, &w->sw, err))) {
		audit_fail(o, c, "write", key, rc, err);
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int obj_writer_write(struct obj_writer *w, const void *p, size_t n, char *err)
{
	int rc;
	if (w->have_digest)
		TN_BUG("obj_writer_write after obj_writer_md5");
	if (w->hold && held_size(w) + n > w->reserved && (rc = hold_spill(w, err)))
		return rc;
	if (w->hold) {
		hold_append(w, p, n);
		return 0;
	}
	crypto_digest_update(w->md5, p, n);
	return store_writer_write(w->sw, p, n, err);
}

uint64_t obj_writer_size(const struct obj_writer *w)
{
	return store_writer_size(w->sw) + (w->hold ? held_size(w) : 0);
}

void obj_writer_md5(struct obj_writer *w, uint8_t out[16])
{
	if (!w->have_digest && w->hold) {
		struct iovec iov[OBJ_HOLD_MAX / OBJ_CHUNK];
		int n = hold_iov(w, iov);
		md5x_wait(w->o->md5, md5x_start(w->o->md5, iov, n), w->digest);
	} else if (!w->have_digest) {
		crypto_digest_final(w->md5, w->digest);
		w->md5 = NULL;
	}
	w->have_digest = true;
	memcpy(out, w->digest, MD5_LEN);
}

static int set_blob(struct obj_writer *w, char *err)
{
	char *blob = blob_of(&w->info, false);
	int rc = store_writer_set_attr(w->sw, blob, strlen(blob), err);
	free(blob);
	return rc;
}

/*
 * A held write's commit: the file is created and written here, on the
 * commit's thread; the hashing thread hashes the held bytes while the
 * fsync runs.  The blob made durable by the fsync has no ETag yet; the one
 * attached after it has, and if a crash loses it a reader recomputes the
 * ETag from the bytes (info_fill), which the fsync did make durable.  A
 * part's ETag is waited for before the fsync: nothing recomputes it.
 */
static int commit_held(struct obj_writer *w, char *err)
{
	struct iovec iov[OBJ_HOLD_MAX / OBJ_CHUNK];
	int n = hold_iov(w, iov), rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = store_writer_write(w->sw, iov[i].iov_base, iov[i].iov_len, err);
	if (rc)
		return rc;
	struct md5x_job *job = NULL;
	if (!w->preset_etag && !w->have_digest)
		job = md5x_start(w->o->md5, iov, n);
	if (job && w->part) { /* a part's ETag is made durable with its bytes */
		md5x_wait(w->o->md5, job, w->digest);
		w->have_digest = true;
		job = NULL;
	}
	if (!job && !w->preset_etag)
		hex_encode(w->digest, MD5_LEN, w->info.etag);
	if ((rc = set_blob(w, err)) == 0)
		rc = store_writer_sync(w->sw, err);
	if (job) {
		md5x_wait(w->o->md5, job, w->digest); /* the job borrows the chunks: always waited */
		w->have_digest = true;
		hex_encode(w->digest, MD5_LEN, w->info.etag);
		if (rc == 0)
			rc = set_blob(w, err);
	}
	return rc;
}

int obj_writer_commit(struct obj_writer *w, struct obj_info *info, char *err)
{
	int rc;
	w->info.size = obj_writer_size(w);
	if (w->preset_etag)
		snprintf(w->info.etag, sizeof w->info.etag, "%s", w->preset_etag);
	if (w->hold) {
		rc = commit_held(w, err);
	} else {
		uint8_t md[MD5_LEN];
		obj_writer_md5(w, md);
		if (!w->preset_etag)
			hex_encode(md, MD5_LEN, w->info.etag);
		rc = set_blob(w, err);
	}
	if (rc)
		store_writer_abort(w->sw);
	else
		rc = store_writer_commit(w->sw, err);
	w->sw = NULL;
	const char *action = w->part ? "upload-part" : "write";
	if (rc) {
		audit_fail(w->o, &w->c, action, w->key, rc, err);
	} else {
		audit_object(w->o, &w->c, action, w->key, "ok",
			     json_pack("{s:I, s:s, s:I}", "bytes", (json_int_t)w->info.size, "etag",
				       w->info.etag, "part", (json_int_t)w->part));
		if (!w->part)
			changed(w->o, w->key);
		if (info) {
			*info = w->info;
			w->info.user_meta = NULL;
		}
	}
	writer_free(w);
	return rc;
}

void obj_writer_abort(struct obj_writer *w, const char *why)
{
	if (!w)
		return;
	store_writer_abort(w->sw);
	audit_object(w->o, &w->c, w->part ? "upload-part" : "write", w->key, "aborted",
		     json_pack("{s:s, s:I}", "error", why ? why : "", "bytes",
			       (json_int_t)0));
	writer_free(w);
}

int obj_head(struct objects *o, const struct obj_caller *c, const char *key, struct obj_info *info,
	     char *err)
{
	int fd = -1;
	struct store_stat st;
	int rc = obj_allowed(o, c, OBJ_READ, key, err);
	if (rc == 0)
		rc = store_open_read(o->s, key, &fd, &st, err);
	if (rc == 0) {
		rc = info_fill(o, key, fd, &st, info, err);
		close(fd);
	}
	if (rc)
		return audit_fail(o, c, "head", key, rc, err);
	audit_object(o, c, "head", key, "ok", NULL);
	return 0;
}

int obj_open(struct objects *o, const struct obj_caller *c, const char *key, uint64_t bytes_sent,
	     int *fd, struct obj_info *info, char *err)
{
	struct store_stat st;
	int rc = obj_allowed(o, c, OBJ_READ, key, err);
	*fd = -1;
	if (rc == 0)
		rc = store_open_read(o->s, key, fd, &st, err);
	if (rc == 0 && (rc = info_fill(o, key, *fd, &st, info, err))) {
		close(*fd);
		*fd = -1;
	}
	if (rc)
		return audit_fail(o, c, "read", key, rc, err);
	audit_object(o, c, "read", key, "ok",
		     json_pack("{s:I}", "bytes", (json_int_t)(bytes_sent == UINT64_MAX ? st.size
										     : bytes_sent)));
	return 0;
}

int obj_delete(struct objects *o, const struct obj_caller *c, const char *key, char *err)
{
	int rc = obj_allowed(o, c, OBJ_DELETE, key, err);
	if (rc == 0)
		rc = store_delete(o->s, key, err);
	if (rc)
		return audit_fail(o, c, "delete", key, rc, err);
	audit_object(o, c, "delete", key, "ok", NULL);
	changed(o, key);
	return 0;
}

int obj_copy(struct objects *o, const struct obj_caller *c, const char *src, const char *dst,
	     const struct obj_put_opts *opts, struct obj_info *info, char *err)
{
	struct obj_info si;
	int fd = -1, rc;
	struct obj_writer *w = NULL;
	memset(&si, 0, sizeof si);
	if ((rc = obj_open(o, c, src, UINT64_MAX, &fd, &si, err)))
		return rc;
	struct obj_put_opts keep = { .content_type = si.content_type, .user_meta = si.user_meta };
	if ((rc = obj_writer_open(o, c, dst, opts ? opts : &keep, &w, err))) {
		close(fd);
		obj_info_release(&si);
		return rc;
	}
	uint8_t *chunk = xmalloc(1u << 20);
	uint64_t off = 0;
	while (rc == 0 && off < si.size) {
		size_t got = 0, want = si.size - off < (1u << 20) ? (size_t)(si.size - off)
								   : (1u << 20);
		if ((rc = os_pread(fd, chunk, want, off, &got, src, err)) == 0) {
			if (got == 0)
				rc = tn_fail(err, TN_EIO, "object '%.200s' shrank while copied", src);
			else
				rc = obj_writer_write(w, chunk, got, err);
			off += got;
		}
	}
	free(chunk);
	close(fd);
	obj_info_release(&si);
	if (rc) {
		obj_writer_abort(w, err);
		return rc;
	}
	return obj_writer_commit(w, info, err);
}

/* ---- listing ---- */

struct list_ctx {
	struct objects *o;
	struct obj_list *out;
	const struct prefixes *ps;  /* NULL: admin, everything */
	size_t max;
	bool with_etags;
	char *err;
	int rc;
};

/* A folder is shown when a granted prefix lies inside it or it lies inside one. */
static bool folder_visible(const struct prefixes *ps, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < ps->n; i++) {
		size_t pl = strlen(ps->v[i]);
		if (!strncmp(key, ps->v[i], pl < kl ? pl : kl))
			return true;
	}
	return false;
}

static int list_one(void *arg, const char *key, bool dir, const struct store_stat *st)
{
	struct list_ctx *x = arg;
	struct obj_list *l = x->out;
	if (x->ps && !(dir ? folder_visible(x->ps, key) : covered(x->ps, key)))
		return 0;
	if (l->n == x->max) {
		l->truncated = true;
		return 1;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	struct obj_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof *e);
	e->key = xstrdup(key);
	e->dir = dir;
	e->size = st->size;
	e->mtime_ns = st->mtime_ns;
	if (!dir && x->with_etags) {
		int fd;
		struct store_stat st2;
		struct obj_info info;
		char dummy[TN_ERRLEN];
		if (store_open_read(x->o->s, key, &fd, &st2, dummy) == 0) {
			if (info_fill(x->o, key, fd, &st2, &info, dummy) == 0) {
				snprintf(e->etag, sizeof e->etag, "%s", info.etag);
				e->size = st2.size;
				e->mtime_ns = st2.mtime_ns;
			}
			obj_info_release(&info);
			close(fd);
		}
	}
	return 0;
}

int obj_list(struct objects *o, const struct obj_caller *c, const char *prefix,
	     const char *delimiter, const char *start_after, size_t max, bool with_etags,
	     struct obj_list *out, char *err)
{
	struct prefixes ps = { NULL, 0 };
	int rc = 0;
	memset(out, 0, sizeof *out);
	prefix = prefix ? prefix : "";
	if (delimiter && *delimiter && strcmp(delimiter, "/"))
		rc = tn_fail(err, TN_EUNSUPPORTED, "delimiter '%.20s': only \"/\" is supported",
			     delimiter);
	else if (strlen(prefix) > TN_MAX_KEY)
		rc = tn_fail(err, TN_EINVAL, "prefix of %zu bytes, over the %u-byte key limit",
			     strlen(prefix), TN_MAX_KEY);
	else if (!c->admin)
		rc = caller_prefixes(o, c, OBJ_LIST, &ps, err);
	if (rc)
		return audit_fail(o, c, "list", prefix, rc, err);
	struct list_ctx x = { .o = o, .out = out, .ps = c->admin ? NULL : &ps,
			      .max = max ? max : 1000, .with_etags = with_etags, .err = err };
	rc = store_list(o->s, prefix, start_after, delimiter && *delimiter, list_one, &x, err);
	prefixes_release(&ps);
	if (rc) {
		obj_list_release(out);
		return audit_fail(o, c, "list", prefix, rc, err);
	}
	if (out->truncated && out->n)
		out->next = xstrdup(out->v[out->n - 1].key);
	audit_object(o, c, "list", prefix, "ok", json_pack("{s:I}", "entries", (json_int_t)out->n));
	return 0;
}
