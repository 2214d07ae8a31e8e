/*
 * lake.h - a lake directory: creating it, and opening every service of it.
 *
 * `tarn init` calls lake_init; `tarn serve` calls lake_open, then starts
 * the listeners over the services, then lake_close on shutdown.  Offline
 * maintenance commands take the same exclusive lock that serve holds.
 */
#ifndef TN_LAKE_H
#define TN_LAKE_H

#include <stdbool.h>

#include "core/config.h"

struct store;
struct meta;
struct auth;
struct streams;
struct catalog;
struct crawl_sched;
struct query_engine;
struct qservice;
struct policy;
struct audit;
struct tls_pair;

struct lake {
	char *root;            /* absolute path */
	struct tn_config cfg;
	int lock_fd;
	struct store *store;
	struct meta *meta;
	struct auth *auth;
	struct policy *policy;       /* grants, clearances, masks */
	struct audit *audit;         /* log/audit/: the hash-chained trail */
	struct objects *objects;     /* governed object operations (REST, S3) */
	struct catalog *catalog;
	struct crawl_sched *crawls;  /* automatic crawls */
	struct query_engine *engine; /* SQL over the lake */
	struct qservice *queries;    /* query ids, results, history */
	struct streams *streams;
	struct tls_pair *http_tls;   /* http.tls_cert + http.tls_key, loaded; NULL: plain HTTP */
};

/* True if dir holds a lake (tarn.yaml and .tarn/). */
bool lake_exists(const char *dir);

/* Where `tarn init --tls` puts the test pair, relative to the lake. */
#define LAKE_TLS_CERT ".tarn/tls/server.crt"
#define LAKE_TLS_KEY ".tarn/tls/server.key"

/*
 * Creates a lake in dir (which must be absent or empty): the zone layout,
 * a commented tarn.yaml, the metastore, the master key (0600) and the root
 * principal user/password.  With tls, also a self-signed test pair
 * (LAKE_TLS_CERT, LAKE_TLS_KEY; folder 0700, key 0600) named by
 * http.tls_cert / http.tls_key in tarn.yaml, so the lake serves HTTPS.
 * Refuses a non-empty directory (TN_ECONFLICT).
 */
int lake_init(const char *dir, const char *user, const char *password, bool tls, char *err);

/*
 * Opens the lake in dir for serving: reads tarn.yaml, applies the
 * overrides (name=value pairs of settings, NULL-terminated list, may be
 * NULL), takes the exclusive lock (TN_ECONFLICT if another tarn holds
 * it), opens the log, store, metastore, credentials and streams
 * (recovering the WALs) and the catalog.  Root comes from TARN_ROOT_USER /
 * TARN_ROOT_PASSWORD when set.  When http.tls_cert / http.tls_key are set
 * (both or neither; relative paths are inside the lake), the pair is
 * loaded and checked (core/tls.h) into l->http_tls, and any problem with
 * it fails the open.  Caller frees with lake_close().
 */
int lake_open(const char *dir, const char *const *overrides, struct lake **out, char *err);
/* Flushes streams, closes everything, releases the lock. Accepts NULL. */
void lake_close(struct lake *l);

#endif
