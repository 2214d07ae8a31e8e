/*
 * meta.h - the metastore: one SQLite database at <lake>/.tarn/meta.db.
 *
 * WAL journal mode, synchronous=FULL: a committed transaction is durable,
 * which the stream flusher relies on for its checkpoints.  The schema of
 * every subsystem is created here, in one migration list, so the whole
 * metastore can be read in one place (meta.c); each subsystem keeps its own
 * queries next to its code and runs them through meta_db() while holding
 * meta_lock() (one connection, serialized: SQLite writes are single-writer
 * anyway, and the hot paths keep what they need in memory).
 *
 * Tables (see meta.c for columns): kv, principals, access_keys, tokens,
 * streams, cat_* (the catalog), query_history.
 */
#ifndef TN_META_H
#define TN_META_H

#include <stddef.h>
#include <stdint.h>

struct meta;
struct sqlite3;

/* Opens (creating and migrating) the metastore at path. Caller closes. */
int meta_open(const char *path, struct meta **out, char *err);
void meta_close(struct meta *m);

/*
 * The connection, for subsystems' own queries.  Hold meta_lock() from
 * prepare to finalize (and across BEGIN..COMMIT).  Any thread.
 */
struct sqlite3 *meta_db(struct meta *m);
void meta_lock(struct meta *m);
void meta_unlock(struct meta *m);

/* Runs SQL without results (under the caller's lock). TN_EIO + message on failure. */
int meta_exec(struct meta *m, const char *sql, char *err);

/* Small key/value settings (lake id, format version, ...). Take the lock themselves. */
int meta_kv_get(struct meta *m, const char *key, char *out, size_t outlen);
int meta_kv_set(struct meta *m, const char *key, const char *value, char *err);

#endif
