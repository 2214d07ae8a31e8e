/*
 * lake.c - lake creation and the open/close sequence of its services.
 *
 * Layout (DESIGN.md): <lake>/tarn.yaml, <lake>/.tarn/{meta.db, master.key,
 * lock, wal/, tls/ (with `tarn init --tls`)}, and the zone folders.  Open
 * order: config -> the HTTPS pair (checked before anything else is
 * touched) -> lock -> log -> store -> metastore -> credentials -> catalog
 * -> query engine and service -> streams (WAL recovery, flush redo);
 * close runs it backwards, so every durable record is flushed before the
 * metastore closes and the lock is released last.
 */
#include "lake/lake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "catalog/schedule.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/tls.h"
#include "policy/audit.h"
#include "policy/policy.h"
#include "query/pgcat.h"
#include "query/query.h"
#include "query/service.h"
#include "store/objects.h"
#include "store/store.h"
#include "stream/stream.h"
#include "core/banned.h"

#define MASTER_KEY_LEN 32

static void lake_path(const char *root, const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", root, rel);
}

bool lake_exists(const char *dir)
{
	char p[PATH_MAX];
	lake_path(dir, "tarn.yaml", p, sizeof p);
	if (!os_exists(p))
		return false;
	lake_path(dir, ".tarn", p, sizeof p);
	return os_is_dir(p);
}

static int dir_empty(const char *dir, bool *empty, char *err)
{
	DIR *d = opendir(dir);
	*empty = true;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return tn_fail(err, tn_from_errno(errno), "'%s': %s", dir, strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(d);
	return 0;
}

static void zone_dirs_from(const struct tn_config *c, struct zone_dirs *z)
{
	for (int i = 0; i < ZONE_COUNT; i++)
		z->dir[i] = c->zone_dirs[i];
}

static int read_master_key(const char *root, uint8_t key[MASTER_KEY_LEN], char *err)
{
	char p[PATH_MAX];
	lake_path(root, ".tarn/master.key", p, sizeof p);
	struct buf b = BUF_INIT(4096);
	int rc = os_read_file(p, 4096, &b, err);
	if (rc == 0 && b.len != MASTER_KEY_LEN)
		rc = tn_fail(err, TN_ECORRUPT, "master key '%s': %zu bytes, expected %d", p, b.len,
			     MASTER_KEY_LEN);
	if (rc == 0)
		memcpy(key, b.data, MASTER_KEY_LEN);
	buf_release(&b);
	return rc;
}

/* Makes the self-signed test pair of `tarn init --tls` and names it in cfg. */
static int init_tls(const char *dir, struct tn_config *cfg, char *err)
{
	char crt[PATH_MAX], key[PATH_MAX];
	int rc;

	lake_path(dir, ".tarn/tls", crt, sizeof crt);
	if ((rc = os_mkdir_p(crt, 0700, err)))
		return rc;
	lake_path(dir, LAKE_TLS_CERT, crt, sizeof crt);
	lake_path(dir, LAKE_TLS_KEY, key, sizeof key);
	if ((rc = tls_generate(crt, key, NULL, err)))
		return rc;
	/* Relative: the lake folder can move and keep its certificate. */
	snprintf(cfg->http_tls_cert, sizeof cfg->http_tls_cert, "%s", LAKE_TLS_CERT);
	snprintf(cfg->http_tls_key, sizeof cfg->http_tls_key, "%s", LAKE_TLS_KEY);
	return 0;
}

int lake_init(const char *dir, const char *user, const char *password, bool tls, char *err)
{
	if (lake_exists(dir))
		return tn_fail(err, TN_ECONFLICT, "'%s' is already a lake", dir);
	bool empty;
	int rc = dir_empty(dir, &empty, err);
	if (rc)
		return rc;
	if (!empty)
		return tn_fail(err, TN_ECONFLICT,
			       "'%s' is not empty and not a lake; choose an empty or new directory",
			       dir);
	char p[PATH_MAX];
	if ((rc = os_mkdir_p(dir, 0750, err)))
		return rc;
	lake_path(dir, ".tarn/wal", p, sizeof p);
	if ((rc = os_mkdir_p(p, 0700, err)))
		return rc;

	struct tn_config cfg;
	config_defaults(&cfg);
	char abs[PATH_MAX];
	if (realpath(dir, abs)) {
		const char *base = strrchr(abs, '/');
		base = base && base[1] ? base + 1 : "lake";
		/* The lake name is a bucket name: lowercase letters, digits, '-'. */
		char name[64];
		size_t k = 0;
		for (size_t i = 0; base[i] && k < sizeof name - 1; i++) {
			char c = base[i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
				name[k++] = c;
		}
		name[k] = '\0';
		if (k >= 3)
			snprintf(cfg.lake_name, sizeof cfg.lake_name, "%s", name);
	}

	struct store *store = NULL;
	struct zone_dirs zd;
	zone_dirs_from(&cfg, &zd);
	if ((rc = store_open(dir, &zd, &store, err)))
		return rc;
	rc = store_create_layout(store, err);
	store_close(store);
	if (rc)
		return rc;

	uint8_t key[MASTER_KEY_LEN];
	crypto_random(key, sizeof key);
	lake_path(dir, ".tarn/master.key", p, sizeof p);
	if ((rc = os_write_file_atomic(p, key, sizeof key, 0600, err)))
		return rc;

	struct meta *meta = NULL;
	struct auth *auth = NULL;
	lake_path(dir, ".tarn/meta.db", p, sizeof p);
	if ((rc = meta_open(p, &meta, err)))
		return rc;
	if ((rc = auth_open(meta, key, &auth, err)) == 0)
		rc = auth_set_root(auth, user, password, err);
	auth_close(auth);
	if (rc == 0)
		rc = meta_kv_set(meta, "format", "1", err);
	meta_close(meta);
	if (rc)
		return rc;
	if (tls && (rc = init_tls(dir, &cfg, err)))
		return rc;

	/* tarn.yaml last: its presence marks a complete lake. */
	struct buf y = BUF_INIT(0);
	buf_puts(&y, "# tarn.yaml - configuration of this lake.\n"
		     "# Every setting is shown with its default; `tarn config show DIR` prints\n"
		     "# the values in force.  Sizes take B/KiB/MiB/GiB, durations s/m/h/d.\n"
		     "# Flags of `tarn serve` override these (e.g. --http 127.0.0.1:7070).\n"
		     "# HTTPS: set http.tls_cert and http.tls_key (`tarn init --tls` makes a\n"
		     "# self-signed pair for testing; use a real certificate otherwise).\n\n");
	config_dump(&cfg, true, &y);
	lake_path(dir, "tarn.yaml", p, sizeof p);
	rc = os_write_file_atomic(p, y.data, y.len, 0600, err);
	buf_release(&y);
	return rc;
}

static int take_lock(struct lake *l, char *err)
{
	char p[PATH_MAX];
	lake_path(l->root, ".tarn/lock", p, sizeof p);
	int fd = os_open(p, O_RDWR | O_CREAT, 0600, err);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		os_close(fd);
		return tn_fail(err, TN_ECONFLICT, "lake '%s' is in use by another tarn (pid %s)",
			       l->root, pid[0] ? pid : "unknown");
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0)
		log_warn("lake", "cannot record the pid in the lock file");
	l->lock_fd = fd;
	return 0;
}

/* An object written or deleted (REST, S3): crawl its folder once things are quiet. */
static void on_object(void *arg, const char *folder)
{
	struct lake *l = arg;
	crawl_sched_touch(l->crawls, folder);
}

/* New objects in a stream's folder: crawl it once things are quiet. */
static void on_flush(void *arg, const char *stream, const char *prefix)
{
	struct lake *l = arg;
	(void)stream;
	crawl_sched_touch(l->crawls, prefix);
}

/*
 * Refuses a lake whose configuration or internal folder others can read:
 * .tarn/ holds the master key and the credentials.
 */
static int private_mode(const char *root, const char *name, char *err)
{
	char p[PATH_MAX];
	struct stat st;
	lake_path(root, name, p, sizeof p);
	if (stat(p, &st) != 0)
		return tn_fail(err, TN_ENOTFOUND, "'%s': %s", p, strerror(errno));
	if (st.st_mode & S_IRWXO)
		return tn_fail(err, TN_EDENIED, "'%s' is open to every user of this machine (mode "
			       "%04o): chmod %s %s", p, (unsigned)(st.st_mode & 07777),
			       S_ISDIR(st.st_mode) ? "700" : "600", p);
	return 0;
}

/*
 * Loads the HTTP listener's certificate and key when tarn.yaml names them
 * (paths relative to the lake root unless absolute).
 */
static int load_http_tls(struct lake *l, char *err)
{
	const char *c = l->cfg.http_tls_cert, *k = l->cfg.http_tls_key;
	char cp[PATH_MAX], kp[PATH_MAX];

	if (!c[0] && !k[0])
		return 0;
	if (!c[0] || !k[0])
		return tn_fail(err, TN_EINVAL, "setting '%s' is set but '%s' is not: HTTPS needs "
			       "both a certificate and its key", c[0] ? "http.tls_cert" :
			       "http.tls_key", c[0] ? "http.tls_key" : "http.tls_cert");
	if (c[0] == '/')
		snprintf(cp, sizeof cp, "%s", c);
	else
		lake_path(l->root, c, cp, sizeof cp);
	if (k[0] == '/')
		snprintf(kp, sizeof kp, "%s", k);
	else
		lake_path(l->root, k, kp, sizeof kp);
	return tls_pair_load(cp, kp, &l->http_tls, err);
}

int lake_open(const char *dir, const char *const *overrides, struct lake **out, char *err)
{
	if (!lake_exists(dir))
		return tn_fail(err, TN_ENOTFOUND, "'%s' is not a lake (run `tarn init %s` first)",
			       dir, dir);
	char abs[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	if (!realpath(dir, abs))
		return tn_fail(err, TN_ENOTFOUND, "'%s': %s", dir, strerror(errno));
	struct lake *l = xcalloc(1, sizeof *l);
	l->root = xstrdup(abs);
	l->lock_fd = -1;
	config_defaults(&l->cfg);
	lake_path(abs, "tarn.yaml", p, sizeof p);
	int rc = private_mode(abs, "tarn.yaml", err);
	if (rc == 0)
		rc = private_mode(abs, ".tarn", err);
	if (rc == 0)
		rc = config_load(&l->cfg, p, err);
	for (size_t i = 0; rc == 0 && overrides && overrides[i]; i++) {
		const char *eq = strchr(overrides[i], '=');
		char name[128];
		if (!eq || (size_t)(eq - overrides[i]) >= sizeof name) {
			rc = tn_fail(err, TN_EINVAL, "bad override '%s'", overrides[i]);
			break;
		}
		snprintf(name, sizeof name, "%.*s", (int)(eq - overrides[i]), overrides[i]);
		rc = config_set(&l->cfg, name, eq + 1, err);
	}
	if (rc)
		goto fail;
	int lvl = log_level_parse(l->cfg.log_level);
	if (lvl < 0) {
		rc = tn_fail(err, TN_EINVAL, "setting 'log.level': '%s' is not debug, info, warn or error",
			     l->cfg.log_level);
		goto fail;
	}
	log_set_level((enum log_level)lvl);
	if ((rc = load_http_tls(l, err)))
		goto fail;
	if ((rc = take_lock(l, err)))
		goto fail;
	struct zone_dirs zd;
	zone_dirs_from(&l->cfg, &zd);
	if ((rc = store_open(abs, &zd, &l->store, err)))
		goto fail;
	if ((rc = store_create_layout(l->store, err)))
		goto fail;
	snprintf(p, sizeof p, "%s/%s/server/tarn.log", abs, store_zone_dir(l->store, ZONE_LOG));
	if ((rc = log_open(p, err)))
		goto fail;
	if (l->http_tls) {
		int64_t left = tls_pair_not_after(l->http_tls) - time_now_ms() / 1000;
		char until[40];
		time_format_iso_ms(tls_pair_not_after(l->http_tls) * 1000, until, sizeof until);
		log_msg(left < 30 * 86400 ? LOG_WARN : LOG_INFO, "tls",
			"https: certificate '%s' (%s), valid until %s (%lld days)",
			tls_pair_cert_path(l->http_tls), tls_pair_subject(l->http_tls), until,
			(long long)(left / 86400));
	}
	snprintf(p, sizeof p, "%s/%s/audit", abs, store_zone_dir(l->store, ZONE_LOG));
	lake_path(abs, ".tarn/audit.journal", q, sizeof q);
	if ((rc = audit_open(p, q, &l->audit, err)))
		goto fail;
	lake_path(abs, ".tarn/meta.db", p, sizeof p);
	if ((rc = meta_open(p, &l->meta, err)))
		goto fail;
	uint8_t key[MASTER_KEY_LEN];
	if ((rc = read_master_key(abs, key, err)))
		goto fail;
	rc = auth_open(l->meta, key, &l->auth, err);
	if (rc == 0)
		rc = policy_open(l->meta, key, &l->policy, err);
	explicit_bzero(key, sizeof key);
	if (rc == 0)
		rc = objects_open(l->store, l->policy, l->audit, &l->objects, err);
	if (rc)
		goto fail;
	const char *ru = getenv("TARN_ROOT_USER"), *rp = getenv("TARN_ROOT_PASSWORD");
	if (ru && *ru && rp && *rp)
		rc = auth_set_root(l->auth, ru, rp, err);
	else if (!auth_has_root(l->auth))
		rc = tn_fail(err, TN_EAUTH, "lake has no root user: set TARN_ROOT_USER and "
			     "TARN_ROOT_PASSWORD");
	if (rc)
		goto fail;
	if ((rc = catalog_open(l->store, l->meta, &l->catalog, err)))
		goto fail;
	if ((rc = crawl_sched_start(l->catalog, l->cfg.catalog_crawl_delay_ms,
				    l->cfg.catalog_crawl_interval_s * 1000, &l->crawls, err)))
		goto fail;
	objects_on_change(l->objects, on_object, l);
	objects_set_upload_age(l->objects, l->cfg.s3_upload_max_age_s * 1000);
	struct query_limits ql = {
		.timeout_ms = l->cfg.query_timeout_s * 1000,
		.memory_bytes = l->cfg.query_memory_bytes,
		.threads = (unsigned)l->cfg.query_threads,
		.max_running = (unsigned)l->cfg.query_max_running,
		.max_queued = (unsigned)l->cfg.query_max_queued,
	};
	if ((rc = query_engine_open(l->store, l->catalog, l->policy, &ql, &l->engine, err)))
		goto fail;
	if ((rc = query_engine_set_name(l->engine, l->cfg.lake_name, err)))
		goto fail;
	if ((rc = qservice_open(l->engine, l->store, l->meta, l->catalog, l->audit, l->policy, &l->queries, err)))
		goto fail;
	struct streams_config sc = {
		.auto_create = l->cfg.streams_auto_create,
		.segment_bytes = (uint64_t)l->cfg.streams_segment_bytes,
		.wal_max_bytes = (uint64_t)l->cfg.streams_wal_max_bytes,
		.max_lag_ms = (uint32_t)(l->cfg.streams_max_lag_s * 1000),
		.min_free_bytes = (uint64_t)l->cfg.streams_min_free_bytes,
	};
	sc.defaults.buffer_bytes = (uint64_t)l->cfg.streams_buffer_bytes;
	sc.defaults.buffer_ms = (uint32_t)(l->cfg.streams_buffer_s * 1000);
	sc.defaults.partition = PART_ARRIVAL;
	sc.on_flush = on_flush;
	sc.on_flush_arg = l;
	lake_path(abs, ".tarn/wal", p, sizeof p);
	if ((rc = streams_open(&sc, l->store, l->meta, p, &l->streams, err)))
		goto fail;
	*out = l;
	return 0;
fail:
	lake_close(l);
	return rc;
}

void lake_close(struct lake *l)
{
	if (!l)
		return;
	qservice_close(l->queries);  /* cancels background queries */
	query_engine_close(l->engine);
	streams_close(l->streams);   /* its last flushes may still touch the scheduler */
	crawl_sched_stop(l->crawls);
	catalog_close(l->catalog);
	objects_close(l->objects);
	policy_close(l->policy);
	auth_close(l->auth);
	meta_close(l->meta);
	audit_close(l->audit);
	store_close(l->store);
	tls_pair_free(l->http_tls);
	if (l->lock_fd >= 0) {
		flock(l->lock_fd, LOCK_UN);
		os_close(l->lock_fd);
	}
	free(l->root);
	free(l);
}
