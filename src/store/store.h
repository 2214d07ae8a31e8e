/*
 * store.h - zones and objects of a lake on local disk.
 *
 * A lake is a directory; every zone is a folder in it (names configurable)
 * and every object is a file whose key is its path relative to the lake
 * root.  Writes are atomic: temp file, fsync, rename, fsync of the
 * directory; a reader never sees half an object.  The raw zone is
 * immutable: no interface may overwrite or delete in it.  The only writer
 * that may replace a raw object is the stream flusher replaying a range
 * after a crash, which rewrites byte-identical content (store_put_system).
 * The internal .tarn/ folder is never an object.
 *
 * Thread-safe: a struct store is shared by every thread of the server.
 */
#ifndef TN_STORE_H
#define TN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum zone {
	ZONE_RAW,        /* "bronze": 01-raw-data-zone */
	ZONE_TRANSIENT,  /* 02-transient-zone */
	ZONE_MASTER,     /* 03-master-data-zone */
	ZONE_DROP,       /* 04-user-drop-zone */
	ZONE_SANDBOX,    /* data/user */
	ZONE_LOG,        /* log */
	ZONE_STAGE,      /* warehouse/stage */
	ZONE_CLEANSE,    /* "silver": warehouse/cleanse */
	ZONE_CORE,       /* warehouse/core */
	ZONE_MART,       /* "gold": warehouse/mart */
	ZONE_REFERENCES, /* references */
	ZONE_COUNT
};

/* Zone folder names relative to the lake root; NULL entries take defaults. */
struct zone_dirs {
	const char *dir[ZONE_COUNT];
};

struct store;

/* The SQL database name of a zone ("raw", "transient", ...). */
const char *zone_db_name(enum zone z);
/* Looks a zone up by database name or alias (bronze, silver, gold); -1 if none. */
int zone_by_name(const char *name);
/* The default folder of a zone ("01-raw-data-zone", ...). */
const char *zone_default_dir(enum zone z);

/* Opens the store over the lake at root. Caller frees with store_close(). */
int store_open(const char *root, const struct zone_dirs *dirs, struct store **out, char *err);
void store_close(struct store *s);
/* Creates every zone folder and the fixed sub-folders of DESIGN.md. */
int store_create_layout(struct store *s, char *err);

/* Lake root (absolute), borrowed. */
const char *store_root(const struct store *s);
/* Folder of zone z relative to the root, borrowed. */
const char *store_zone_dir(const struct store *s, enum zone z);
/* The zone a key lies in, or -1 (outside every zone). */
int store_zone_of(const struct store *s, const char *key);

/*
 * Checks an object key: relative, UTF-8, no NUL, no "." or ".." segment,
 * no empty segment, not under .tarn/, at most TN_MAX_KEY bytes.
 * TN_EINVAL with a message naming what is wrong.
 */
int store_key_check(const char *key, size_t n, char *err);

/* Flags of store_put. */
#define STORE_REPLAY 1   /* flusher replay: may replace an object of its own in raw */
#define STORE_NOSYNC 2   /* atomic but not durable (no fsync): regenerable data such as
			  * query results; after a crash the object may be gone or empty */
#define STORE_UNCACHED 4 /* bulk writes the writer will not read back (the flusher):
			  * sent to the disk 1 MiB at a time as they are written (a
			  * WAL's fdatasync never waits behind a whole object), and
			  * dropped from the page cache once durable */
#define STORE_LAZY 8     /* store_writer_open: the temp file (and the object's folder)
			  * is created by the first write that reaches the disk, or by
			  * the sync or commit, on the thread that makes it: a writer
			  * opened on an event loop creates nothing there (creating
			  * waits on the folder's lock behind other writers' renames) */

/*
 * Writes the object key from the iovecs atomically.  Refuses to replace an
 * existing object in the raw zone (TN_ECONFLICT, "zone is immutable")
 * unless STORE_REPLAY.  Creates parent folders.  TN_ENOSPC when the disk is
 * full (nothing visible is changed).  Any thread.
 */
int store_put(struct store *s, const char *key, const struct iovec *iov, int iovcnt, int flags,
	      char *err);

/*
 * A streaming write of one object, for data too large to hold (query
 * results, uploads): bytes go to a hidden temp file next to the object,
 * and commit makes the object appear whole (fsync, rename, fsync of the
 * folder) or not at all.  The raw-zone rule of store_put applies (checked
 * at open, enforced again at commit).  One thread at a time per writer.
 */
struct store_writer;
int store_writer_open(struct store *s, const char *key, int flags, struct store_writer **out,
		      char *err);
/* Appends n bytes (buffered).  TN_EIO / TN_ENOSPC from the disk. */
int store_writer_write(struct store_writer *w, const void *p, size_t n, char *err);
/* Bytes written so far. */
uint64_t store_writer_size(const struct store_writer *w);
/*
 * Makes the bytes written and the blob set so far durable (fsync of the
 * temp file), not yet visible.  Optional: commit does it when not done.
 * A blob set after it is attached by the commit but not made durable:
 * only for what a reader can recompute from the bytes (an ETag).
 */
int store_writer_sync(struct store_writer *w, char *err);
/* Makes the object visible and frees w, whatever the outcome. */
int store_writer_commit(struct store_writer *w, char *err);
/* Drops the temp file and frees w.  Accepts NULL. */
void store_writer_abort(struct store_writer *w);

/* Size of an object; TN_ENOTFOUND if absent. */
int store_head(struct store *s, const char *key, uint64_t *size, char *err);
/* Reads a whole object of at most max bytes into out. */
struct buf;
int store_get(struct store *s, const char *key, size_t max, struct buf *out, char *err);
/*
 * Appends up to max bytes of an object from byte off to out (fewer at its
 * end, none past it) and sets *size to the object's size.
 */
int store_read_at(struct store *s, const char *key, uint64_t off, size_t max, struct buf *out,
		  uint64_t *size, char *err);
/*
 * The absolute path of key (checked as store_key_check does), for a
 * trusted writer the store cannot stream itself (DuckDB's COPY into a
 * hidden temp folder, then store_move_tree).
 */
int store_path(struct store *s, const char *key, char *out, size_t n, char *err);
/*
 * Moves every file under folder from_key to the same relative place under
 * to_key (never replacing a file: TN_ECONFLICT), then removes from_key.
 * Each file appears whole (rename); *moved counts them.  Refused into raw.
 */
int store_move_tree(struct store *s, const char *from_key, const char *to_key, unsigned *moved,
		    char *err);
/*
 * Deletes the object or folder key with everything below it (a table's
 * folder, DROP TABLE).  Refused in raw, outside zones and for a whole
 * zone folder.  *removed counts the files.
 */
int store_delete_tree(struct store *s, const char *key, unsigned *removed, char *err);
/*
 * What is at key: STORE_ABSENT, STORE_EMPTY (a folder holding nothing or
 * only hidden entries), STORE_VISIBLE (an object, or a folder with a
 * visible entry); or a negative TN code.
 */
enum { STORE_ABSENT, STORE_EMPTY, STORE_VISIBLE };
int store_folder_state(struct store *s, const char *key, char *err);
/* Deletes an object (refused in raw). */
int store_delete(struct store *s, const char *key, char *err);

/*
 * Object attributes: one small opaque blob kept with the file (an extended
 * attribute), so it travels with the object atomically -- set on the temp
 * file before the rename -- and vanishes when the object is replaced.  The
 * object API keeps its ETag, content type and user metadata there.  A
 * file system without user xattrs gives TN_EUNSUPPORTED; callers then
 * recompute what they can.
 */
#define STORE_MAX_ATTR 8192
/* Sets the blob the commit will attach to the object (copied). */
int store_writer_set_attr(struct store_writer *w, const void *p, size_t n, char *err);
/* Appends the object's blob to out; TN_ENOTFOUND if it has none, or no such object. */
int store_attr_get(struct store *s, const char *key, struct buf *out, char *err);
/*
 * The same from a descriptor of the object open for reading (store_open_read):
 * no second walk of the path, and the blob of the very file whose bytes
 * are served even if the key is replaced meanwhile.  key names it in messages.
 */
int store_attr_get_fd(int fd, const char *key, struct buf *out, char *err);
/* Replaces the blob of an existing object (a cache, so not fsync'd). */
int store_attr_set(struct store *s, const char *key, const void *p, size_t n, char *err);

/* What a reader sees of one object. */
struct store_stat {
	uint64_t size;
	int64_t mtime_ns;   /* last modification, ns since the epoch */
	/* filled by store_open_read only (0 elsewhere): the file's identity and
	 * its last change of any kind (data, attributes, rename), ns */
	uint64_t dev, ino;
	int64_t ctime_ns;
};
/*
 * Opens an object for reading (pread, sendfile) and fills st from the
 * same open file.  The caller closes the descriptor.  TN_ENOTFOUND for a
 * missing object or a folder.
 */
int store_open_read(struct store *s, const char *key, int *fd, struct store_stat *st, char *err);

/*
 * Multipart uploads: staged under .tarn/uploads/<id>/ (never objects, never
 * listed), an id being 16..64 lowercase hex characters (anything else is
 * TN_ENOTFOUND: ids never reach a path unchecked).  upload.json holds the
 * caller's description; each part is a file written like an object
 * (atomic, fsync'd) with its own attribute blob.
 */
int store_upload_create(struct store *s, const char *id, const void *meta, size_t n, char *err);
/* Appends upload.json to out; *created_ns (may be NULL) its time.  TN_ENOTFOUND if none. */
int store_upload_meta(struct store *s, const char *id, struct buf *out, int64_t *created_ns,
		      char *err);
/*
 * Temp files of writes that never committed (a crash) are hidden from
 * listings and never become objects; this removes the one at path (an
 * absolute path) if it is such a file last written before this store was
 * opened, less STORE_STALE_TEMP_MS for a clock that steps back: every
 * write in progress began after the open.  True when removed.  Any thread.
 */
#define STORE_STALE_TEMP_MS 60000
bool store_drop_stale_temp(const struct store *s, const char *path);

/* A writer of part number part (replacing an earlier upload of it at commit); flags:
 * STORE_LAZY or 0. */
int store_part_writer_open(struct store *s, const char *id, unsigned part, int flags,
			   struct store_writer **out, char *err);
struct store_part {
	unsigned number;
	uint64_t size;
	int64_t mtime_ns;
	char attr[512];      /* its attribute blob (NUL-terminated), "" if none */
	size_t attr_len;
};
/* The parts uploaded so far, by number (caller frees *out). */
int store_upload_parts(struct store *s, const char *id, struct store_part **out, size_t *n,
		       char *err);
/* Appends part's bytes to a writer (copy_file_range: in the kernel). */
int store_writer_append_part(struct store_writer *w, const char *id, unsigned part, char *err);
/* Removes an upload and its parts.  TN_ENOTFOUND if there is none. */
int store_upload_remove(struct store *s, const char *id, char *err);
/* Calls fn(arg, id) for each upload; fn returns nonzero to stop (negative: an error). */
typedef int (*store_upload_fn)(void *arg, const char *id);
int store_uploads(struct store *s, store_upload_fn fn, void *arg, char *err);

/*
 * Lists objects in key order (bytewise, as S3 does), calling fn for each
 * key that starts with prefix and sorts after start_after (NULL or "":
 * from the first).  With folders true, a folder below prefix's last "/"
 * is reported once as a common prefix ending in "/" (dir true, st
 * zeroed), without walking it: listing with delimiter "/".  Only zones are
 * listed (prefix "" starts at the lake root: tarn.yaml and .tarn/ never
 * appear); temp files, symbolic links and other special files are
 * skipped.  fn returns nonzero to stop (store_list then returns 0).
 */
typedef int (*store_list_fn)(void *arg, const char *key, bool dir, const struct store_stat *st);
int store_list(struct store *s, const char *prefix, const char *start_after, bool folders,
	       store_list_fn fn, void *arg, char *err);

#endif
