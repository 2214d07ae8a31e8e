/*
 * objects_int.h - what objects.c shares with multipart.c (not an API).
 */
#ifndef TN_OBJECTS_INT_H
#define TN_OBJECTS_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/objects.h"

struct store;
struct store_writer;
struct crypto_digest;
struct md5x_pool;
struct buf;

/* Held writes (objects.c): bytes in chunks of OBJ_CHUNK; at most
 * OBJ_HOLD_BUDGET bytes held by all writers at once; OBJ_SPARE_CHUNKS
 * chunks kept warm (a fresh page costs a fault on first touch). */
#define OBJ_CHUNK (256u << 10)
#define OBJ_HOLD_BUDGET (64u << 20)
#define OBJ_SPARE_CHUNKS 32

/* The attribute cache (objects.c): 4096 entries of about 350 bytes, in sets of 4. */
#define ATTR_SLOTS 4096
#define ATTR_WAYS 4
struct attr_slot {
	bool used;
	uint64_t used_at;                /* objects.attr_tick at the last use */
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	char etag[OBJ_ETAG_LEN];
	char content_type[OBJ_TYPE_LEN];
	char *user_meta;
};

struct objects {
	struct store *s;
	struct policy *p;
	struct audit *a;
	int64_t upload_max_age_ms;       /* 0: uploads never expire */
	_Atomic int64_t last_sweep_ms;   /* obj_mpu_create sweeps at most hourly */
	void (*on_change)(void *arg, const char *folder);
	void *change_arg;
	pthread_mutex_t attr_mu;         /* guards attrs */
	struct attr_slot *attrs;         /* ATTR_SLOTS, by file identity (objects.c) */
	uint64_t attr_tick;
	struct md5x_pool *md5;           /* hashes held uploads at commit (core/md5x.h) */
	pthread_mutex_t hold_mu;         /* guards held, spare */
	uint64_t held;                   /* bytes reserved by writers holding their bytes */
	char *spare[OBJ_SPARE_CHUNKS];   /* chunks kept for the next held writes */
	int nspare;
};

struct obj_writer {
	struct objects *o;
	struct obj_caller c;
	char *name, *source, *request_id, *via;
	char *key;
	struct store_writer *sw;
	struct crypto_digest *md5;       /* streamed bytes: their MD5 so far */
	bool hold;                       /* the bytes are held in chunk[] (OBJ_HOLD_MAX) */
	uint64_t reserved;               /* bytes of the objects' budget this writer holds */
	char *chunk[OBJ_HOLD_MAX / OBJ_CHUNK];
	int nchunk;
	size_t last;                     /* bytes in the last chunk */
	bool have_digest;                /* digest is the MD5 of every byte written */
	uint8_t digest[16];
	struct obj_info info;
	char *preset_etag;
	unsigned part;           /* > 0: a part of a multipart upload (multipart.c) */
};

/* One audit line for an object operation (extra: more fields, stolen, may be NULL). */
void audit_object(struct objects *o, const struct obj_caller *c, const char *action,
		  const char *key, const char *outcome, json_t *extra);
/* Audits a failed operation with its message; returns rc. */
int audit_fail(struct objects *o, const struct obj_caller *c, const char *action,
	       const char *key, int rc, const char *err);
/* Tells the lake that key's folder changed (the crawler). */
void changed(struct objects *o, const char *key);
void writer_free(struct obj_writer *w);
/* Holds w's bytes when size allows (OBJ_HOLD_MIN..MAX, the budget), else starts
 * its streamed MD5; returns the store writer flags this needs (STORE_LAZY or 0). */
int writer_hold_or_stream(struct obj_writer *w, uint64_t size);
char *dup_or_null(const char *s);
/* The attribute blob of info (with_mtime: record the mtime it describes). */
char *blob_of(const struct obj_info *info, bool with_mtime);
/* Fills info's type, metadata and (when it describes these bytes) ETag from a blob. */
void info_from_blob(const struct buf *b, struct obj_info *info, bool *etag_valid);

#endif
