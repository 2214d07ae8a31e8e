/*
 * objects.h - the object API every edge calls: store operations checked
 * by policy and written to the audit trail.
 *
 * The S3 API and the REST /v1/objects routes never call store directly
 * for user data: they call these with the authenticated caller, so object
 * grants (read, write, list, delete on a zone or "zone/prefix") hold the
 * same way everywhere.  Rules beyond grants:
 *   - admins may do everything the store allows;
 *   - each user owns sandbox/<name>/ (data/user/<name>/) and
 *     transient/01-athena/<name>/ (their query results): every action;
 *   - the raw zone is immutable (no overwrite, no delete, for anyone);
 *   - the audit trail (log/audit/) is append-only: no object write or
 *     delete there, for anyone;
 *   - keys outside the zones, .tarn/ and temp files are never objects.
 *
 * Every operation, allowed or denied, writes one audit line ("object":
 * action, key, outcome, bytes).  Object attributes (ETag, content type,
 * user metadata) live with the file (store_attr_*); an object written by
 * another part of tarn (the flusher, DuckDB) gets its ETag computed on
 * first use and cached.
 *
 * Threads: every function may be called from any thread; a writer is used
 * by one thread at a time.
 */
#ifndef TN_OBJECTS_H
#define TN_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct policy;
struct audit;
struct objects;

/* Who is asking, and from where (for the audit trail). */
struct obj_caller {
	const char *name;        /* the principal */
	bool admin;
	const char *source;      /* peer address, or NULL */
	const char *request_id;  /* or NULL */
	const char *via;         /* "rest", "s3", ... */
	const char *auth;        /* a static string: how the caller authenticated ("sigv4"),
				    audited with every access when the edge writes no
				    separate authentication line; or NULL */
};

enum obj_action { OBJ_READ, OBJ_WRITE, OBJ_LIST, OBJ_DELETE };
const char *obj_action_name(enum obj_action a);

/* policy and audit may be NULL (tests): then only admins and owners pass, unaudited. */
int objects_open(struct store *s, struct policy *p, struct audit *a, struct objects **out,
		 char *err);
void objects_close(struct objects *o);
/*
 * Calls fn(arg, folder) after every object written or deleted, with the
 * key's folder ("04-user-drop-zone/team/"): the lake hands it to the
 * crawler, so an upload becomes a table moments later.  Set once, before
 * serving.
 */
void objects_on_change(struct objects *o, void (*fn)(void *arg, const char *folder), void *arg);

/*
 * May the caller do a on key?  0, or TN_EDENIED with a message naming the
 * caller, the action and the key; TN_EINVAL for a malformed key.  Not
 * audited (the operations are).
 */
int obj_allowed(struct objects *o, const struct obj_caller *c, enum obj_action a, const char *key,
		char *err);

#define OBJ_ETAG_LEN 48
#define OBJ_TYPE_LEN 256

/* What HEAD shows of an object. */
struct obj_info {
	uint64_t size;
	int64_t mtime_ns;
	char etag[OBJ_ETAG_LEN];       /* hex MD5, or "<hex>-N" after a multipart upload */
	char content_type[OBJ_TYPE_LEN];
	char *user_meta;               /* JSON object text {"name": "value"}, or NULL */
};
void obj_info_release(struct obj_info *i);

/* Options of a write. */
struct obj_put_opts {
	const char *content_type;      /* NULL: application/octet-stream */
	const char *user_meta;         /* JSON object text, or NULL */
	const char *etag;              /* a preset ETag (multipart), or NULL: MD5 of the bytes */
	bool nosync;                   /* atomic but not durable (regenerable data) */
	uint64_t size;                 /* the bytes to come, when known (Content-Length); 0: unknown */
};

/*
 * A streaming write: checks the write grant and the zone rules at open;
 * the object appears whole at commit (MD5 computed on the way) or not at
 * all.  Raw: an existing key is TN_ECONFLICT ("immutable").
 *
 * A write whose size is known (opts->size) and between OBJ_HOLD_MIN and
 * OBJ_HOLD_MAX, within the objects' budget of held bytes, is held in
 * memory: open and write make no file system call and hash nothing, and
 * the commit, on its worker thread, writes the file and hashes the bytes
 * on the hashing thread while the fsync runs (core/md5x.h).  Other sizes
 * stream to the temp file, hashed as they come: below OBJ_HOLD_MIN the
 * hand-offs cost more than the hashing (measured: PUT 4 KiB held went
 * 6 % slower, PUT 1 MiB held 14 % faster, with 8 clients).
 */
#define OBJ_HOLD_MIN (64u << 10)
#define OBJ_HOLD_MAX (8u << 20)
struct obj_writer;
int obj_writer_open(struct objects *o, const struct obj_caller *c, const char *key,
		    const struct obj_put_opts *opts, struct obj_writer **out, char *err);
int obj_writer_write(struct obj_writer *w, const void *p, size_t n, char *err);
uint64_t obj_writer_size(const struct obj_writer *w);
/*
 * The MD5 of every byte written: no write may follow (commit and abort
 * may).  May hash the held bytes now, on the hashing thread: call it off
 * the loop threads.
 */
void obj_writer_md5(struct obj_writer *w, uint8_t out[16]);
/* Makes the object visible, fills info (may be NULL), audits, frees w. */
int obj_writer_commit(struct obj_writer *w, struct obj_info *info, char *err);
/* Drops the upload (nothing visible changes), audits it as aborted, frees w.  Accepts NULL. */
void obj_writer_abort(struct obj_writer *w, const char *why);

/* HEAD: the read grant, then the object's info. */
int obj_head(struct objects *o, const struct obj_caller *c, const char *key, struct obj_info *info,
	     char *err);
/*
 * GET: the read grant, then an open descriptor (the caller closes it; use
 * pread or sendfile) and the info of that same file.  Audited with the
 * byte count the caller will send (whole object unless ranged: pass it).
 */
int obj_open(struct objects *o, const struct obj_caller *c, const char *key, uint64_t bytes_sent,
	     int *fd, struct obj_info *info, char *err);
/* DELETE: the delete grant; TN_ENOTFOUND if absent; TN_EDENIED in raw and the audit trail. */
int obj_delete(struct objects *o, const struct obj_caller *c, const char *key, char *err);
/*
 * COPY: read on src, write on dst.  opts NULL keeps src's content type and
 * user metadata (S3's COPY directive); else opts replace them.
 */
int obj_copy(struct objects *o, const struct obj_caller *c, const char *src, const char *dst,
	     const struct obj_put_opts *opts, struct obj_info *info, char *err);

/*
 * Writes the canonical object grant target of input into out: "zone" or
 * "zone/prefix" given as such (any zone name or alias) or as a key prefix
 * in folder form ("04-user-drop-zone/team/" -> "drop/team/").  Input that
 * is neither is copied as is (the grant then names what is wrong).
 */
void obj_grant_target(const struct store *s, const char *input, char *out, size_t n);

/*
 * Multipart uploads (multipart.c).  Every call needs the write grant on
 * the key.  Ids are OBJ_UPLOAD_ID_LEN lowercase hex characters.
 */
#define OBJ_UPLOAD_ID_LEN 32
#define OBJ_MAX_PARTS 10000u
#define OBJ_MIN_PART_SIZE (5u << 20)   /* every part but the last, as S3 */
int obj_mpu_create(struct objects *o, const struct obj_caller *c, const char *key,
		   const struct obj_put_opts *opts, char id[OBJ_UPLOAD_ID_LEN + 1], char *err);
/*
 * A writer of one part (1..OBJ_MAX_PARTS); its commit gives the part's ETag
 * (MD5).  size: the part's bytes when known (held as obj_writer_open's
 * are), or 0.  A held part is hashed before its fsync: completing the
 * upload needs its ETag, so it must be as durable as its bytes.
 */
int obj_part_open(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  unsigned part, uint64_t size, struct obj_writer **out, char *err);
struct obj_part_ref {
	unsigned number;
	const char *etag;              /* without quotes */
};
enum obj_mpu_fail { OBJ_MPU_OK, OBJ_MPU_NO_UPLOAD, OBJ_MPU_BAD_PART, OBJ_MPU_TOO_SMALL,
		    OBJ_MPU_ORDER, OBJ_MPU_TOO_BIG };
#define OBJ_MAX_OBJECT (5ull << 40)    /* 5 TiB, S3's largest object */
/*
 * Builds the object from the listed parts (ascending; each as uploaded,
 * with its ETag), then removes the upload.  *why says which S3 error a
 * failure is (NoSuchUpload, InvalidPart, EntityTooSmall, InvalidPartOrder).
 */
int obj_mpu_complete(struct objects *o, const struct obj_caller *c, const char *key,
		     const char *id, const struct obj_part_ref *want, size_t nwant,
		     struct obj_info *info, enum obj_mpu_fail *why, char *err);
int obj_mpu_abort(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  char *err);
struct obj_part_info {
	unsigned number;
	uint64_t size;
	int64_t mtime_ns;
	char etag[OBJ_ETAG_LEN];
};
struct obj_part_list {
	struct obj_part_info *v;       /* by number */
	size_t n;
	char initiator[72];
};
int obj_mpu_parts(struct objects *o, const struct obj_caller *c, const char *key, const char *id,
		  struct obj_part_list *out, char *err);
void obj_part_list_release(struct obj_part_list *l);
struct obj_upload {
	char *key;
	char id[OBJ_UPLOAD_ID_LEN + 1];
	char initiator[72];
	int64_t created_ns;
};
struct obj_upload_list {
	struct obj_upload *v;          /* by key, then id */
	size_t n;
};
/* Uploads in progress under prefix whose key the caller may write. */
int obj_mpu_list(struct objects *o, const struct obj_caller *c, const char *prefix,
		 struct obj_upload_list *out, char *err);
void obj_upload_list_release(struct obj_upload_list *l);
/* Removes uploads started more than max_age_ms ago; returns how many. */
unsigned obj_mpu_sweep(struct objects *o, int64_t max_age_ms);
/*
 * Uploads older than max_age_ms expire: swept now, and then at most hourly
 * as new uploads start (0: never).
 */
void objects_set_upload_age(struct objects *o, int64_t max_age_ms);

/* One page of a listing. */
struct obj_entry {
	char *key;                     /* an object, or a common prefix (dir) */
	bool dir;
	uint64_t size;
	int64_t mtime_ns;
	char etag[OBJ_ETAG_LEN];
};
struct obj_list {
	struct obj_entry *v;
	size_t n;
	bool truncated;                /* more after the last entry */
	char *next;                    /* where the next page starts (the last key), or NULL */
};
void obj_list_release(struct obj_list *l);

/*
 * Lists keys under prefix after start_after, up to max entries (objects
 * and common prefixes together, S3's max-keys).  delimiter NULL or "":
 * every key; "/" rolls folders up into common prefixes; another
 * delimiter is TN_EUNSUPPORTED.  Non-admins see only keys their list
 * grants (and own folders) cover, and the folders leading to them.
 * with_etags false skips ETags (and their computation).
 */
int obj_list(struct objects *o, const struct obj_caller *c, const char *prefix,
	     const char *delimiter, const char *start_after, size_t max, bool with_etags,
	     struct obj_list *out, char *err);

#endif
