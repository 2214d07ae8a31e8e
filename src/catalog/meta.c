/*
 * meta.c - the SQLite metastore and its schema.
 *
 * One connection, opened in serialized mode and guarded by meta->mu so a
 * subsystem can run several statements (or a transaction) as one unit.
 * journal_mode=WAL lets readers proceed during a write; synchronous=FULL
 * makes every COMMIT durable before it returns, which the flusher's
 * checkpoints and the credential changes rely on.
 *
 * The schema is a list of migrations applied in order; user_version
 * records how many ran.  A migration is never edited once released: add a
 * new one at the end.
 */
#include "catalog/meta.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/banned.h"

struct meta {
	sqlite3 *db;
	pthread_mutex_t mu;
};

static const char *const migrations[] = {
	/* 1: settings, principals and credentials, streams. */
	"CREATE TABLE kv("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE principals("
	"  name TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL DEFAULT 'user',"      /* user | role */
	"  scram TEXT,"                             /* SCRAM-SHA-256 verifier */
	"  is_admin INTEGER NOT NULL DEFAULT 0,"
	"  is_root INTEGER NOT NULL DEFAULT 0,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE access_keys("
	"  key_id TEXT PRIMARY KEY,"
	"  principal TEXT NOT NULL,"
	"  secret_sealed TEXT NOT NULL,"            /* AES-256-GCM under the master key */
	"  created_ms INTEGER NOT NULL,"
	"  disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE tokens("
	"  hash TEXT PRIMARY KEY,"                  /* hex SHA-256 of the token */
	"  principal TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL);"
	"CREATE INDEX tokens_expiry ON tokens(expires_ms);"
	"CREATE TABLE streams("
	"  name TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL,"                     /* native | kinesis | firehose */
	"  created_ms INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"     /* kept so sequence numbers never repeat */
	"  options TEXT NOT NULL,"                  /* JSON of struct stream_opts */
	"  flushed_seq INTEGER NOT NULL DEFAULT 0," /* every record <= this is in an object */
	"  pending_end INTEGER NOT NULL DEFAULT 0," /* flush in progress: (flushed_seq, pending_end] */
	"  records INTEGER NOT NULL DEFAULT 0,"     /* flushed records (incl. quarantined) */
	"  bytes INTEGER NOT NULL DEFAULT 0,"       /* flushed record bytes */
	"  quarantined INTEGER NOT NULL DEFAULT 0,"
	"  objects INTEGER NOT NULL DEFAULT 0,"
	"  last_object TEXT NOT NULL DEFAULT '',"
	"  last_flush_ms INTEGER NOT NULL DEFAULT 0);",
	/*
	 * 2: the data catalog (catalog.h, crawler.c).  A table is keyed by
	 * (db, name); its schema is kept whole in the crawler's form (JSON of
	 * [name, type]) and as one row per column and struct field for
	 * describe, tags and comments.  cat_files is the crawler's memory,
	 * keyed by object key; "unit" is the top-level folder or file of the
	 * zone the file belongs to.  Tags have two layers: source 'crawler'
	 * rows (written only by the crawler) and source 'admin' rows (written
	 * only by catalog_tag); an admin row wins.
	 */
	"CREATE TABLE cat_databases("
	"  name TEXT PRIMARY KEY,"
	"  last_crawl_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE cat_tables("
	"  id INTEGER PRIMARY KEY,"
	"  db TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  location TEXT NOT NULL,"                 /* key prefix "zone/t/", or a file's key */
	"  format TEXT NOT NULL,"                   /* json | csv | parquet */
	"  compression TEXT NOT NULL DEFAULT 'none',"
	"  options TEXT NOT NULL DEFAULT '{}',"     /* reader options (csv dialect) */
	"  classification TEXT NOT NULL DEFAULT 'none'," /* pii | none */
	"  comment TEXT NOT NULL DEFAULT '',"
	"  partition_keys TEXT NOT NULL DEFAULT '[]'," /* [{"name","type","date"}] */
	"  schema TEXT NOT NULL,"                   /* [["col","TYPE"],...] crawler's form */
	"  schema_version INTEGER NOT NULL,"
	"  files INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  rows INTEGER NOT NULL DEFAULT -1,"       /* -1: some file's count unknown */
	"  partitions INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"            /* last schema change */
	"  last_crawl_ms INTEGER NOT NULL,"
	"  UNIQUE(db, name));"
	"CREATE TABLE cat_columns("
	"  table_id INTEGER NOT NULL REFERENCES cat_tables(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"                     /* "col" or "col.field" */
	"  position INTEGER NOT NULL,"
	"  depth INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"                     /* DuckDB syntax */
	"  is_partition INTEGER NOT NULL DEFAULT 0,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  added_version INTEGER NOT NULL,"
	"  PRIMARY KEY(table_id, path));"
	"CREATE TABLE cat_tags("
	"  table_id INTEGER NOT NULL REFERENCES cat_tables(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  source TEXT NOT NULL,"                   /* crawler | admin */
	"  state INTEGER NOT NULL,"                 /* 1 set, 0 cleared (admin) */
	"  detail TEXT NOT NULL DEFAULT '',"        /* detector, or the admin's note */
	"  evidence TEXT NOT NULL DEFAULT '',"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(table_id, path, tag, source));"
	"CREATE TABLE cat_partitions("
	"  id INTEGER PRIMARY KEY,"
	"  table_id INTEGER NOT NULL REFERENCES cat_tables(id) ON DELETE CASCADE,"
	"  vals TEXT NOT NULL,"                     /* JSON array in key order */
	"  spec TEXT NOT NULL,"                     /* "year=2026/month=4" */
	"  files INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  rows INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE(table_id, vals));"
	"CREATE TABLE cat_files("
	"  path TEXT PRIMARY KEY,"                  /* object key */
	"  db TEXT NOT NULL,"
	"  unit TEXT NOT NULL,"
	"  table_name TEXT NOT NULL,"
	"  table_id INTEGER REFERENCES cat_tables(id) ON DELETE SET NULL," /* NULL when bad */
	"  partition_id INTEGER REFERENCES cat_partitions(id) ON DELETE SET NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL,"
	"  etag TEXT NOT NULL,"
	"  format TEXT NOT NULL,"
	"  compression TEXT NOT NULL,"
	"  rows INTEGER NOT NULL DEFAULT -1,"
	"  status TEXT NOT NULL,"                   /* ok | bad */
	"  reason TEXT NOT NULL DEFAULT '',"
	"  options TEXT NOT NULL DEFAULT '{}',"     /* per-file reader options */
	"  crawled_ms INTEGER NOT NULL);"
	"CREATE INDEX cat_files_unit ON cat_files(db, unit, path);"
	"CREATE INDEX cat_files_table ON cat_files(table_id, status);"
	"CREATE INDEX cat_files_partition ON cat_files(partition_id);"
	"CREATE INDEX cat_files_bad ON cat_files(status, crawled_ms);"
	"CREATE INDEX cat_files_name ON cat_files(db, table_name, status);"
	"CREATE TABLE cat_versions("
	"  table_id INTEGER NOT NULL REFERENCES cat_tables(id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  crawl_id INTEGER,"
	"  changes TEXT NOT NULL,"
	"  schema TEXT NOT NULL,"
	"  PRIMARY KEY(table_id, version));"
	"CREATE TABLE cat_crawls("
	"  id INTEGER PRIMARY KEY,"
	"  target TEXT NOT NULL,"
	"  full INTEGER NOT NULL,"
	"  started_ms INTEGER NOT NULL,"
	"  finished_ms INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL,"                   /* running | ok | failed */
	"  report TEXT NOT NULL DEFAULT '{}');",

	/* 3: query history (query/service.c) */
	"CREATE TABLE query_history("
	"  id TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  sql TEXT NOT NULL,"
	"  state TEXT NOT NULL,"                    /* QUEUED | RUNNING | SUCCEEDED | FAILED | CANCELLED */
	"  async INTEGER NOT NULL,"
	"  submitted_ms INTEGER NOT NULL,"
	"  finished_ms INTEGER NOT NULL DEFAULT 0,"
	"  rows INTEGER NOT NULL DEFAULT 0,"
	"  files INTEGER NOT NULL DEFAULT 0,"
	"  files_pruned INTEGER NOT NULL DEFAULT 0,"
	"  tables INTEGER NOT NULL DEFAULT 0,"
	"  bytes_scanned INTEGER NOT NULL DEFAULT 0,"
	"  queued_ms REAL NOT NULL DEFAULT 0,"
	"  planning_ms REAL NOT NULL DEFAULT 0,"
	"  execution_ms REAL NOT NULL DEFAULT 0,"
	"  total_ms REAL NOT NULL DEFAULT 0,"
	"  error_code TEXT NOT NULL DEFAULT '',"
	"  error TEXT NOT NULL DEFAULT '',"
	"  error_pos INTEGER NOT NULL DEFAULT -1,"
	"  result_key TEXT NOT NULL DEFAULT '',"
	"  result_bytes INTEGER NOT NULL DEFAULT 0,"
	"  columns TEXT NOT NULL DEFAULT '[]');"
	"CREATE INDEX query_history_user ON query_history(user, submitted_ms);"
	"CREATE INDEX query_history_time ON query_history(submitted_ms);",

	/*
	 * 4: role membership (auth/principals.c): member (a user or a role)
	 * holds role; nested roles are rows whose member is a role.  The
	 * built-in roles admin (is_admin) and raw_reader.
	 */
	"CREATE TABLE principal_roles("
	"  member TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(member, role));"
	"CREATE INDEX principal_roles_role ON principal_roles(role);"
	"INSERT OR IGNORE INTO principals(name, kind, is_admin, created_ms) "
	"  VALUES('admin', 'role', 1, 0), ('raw_reader', 'role', 0, 0);",

	/* 5: grants and masks (policy/policy.c); raw_reader reads the raw zone */
	"CREATE TABLE policy_grants("
	"  id INTEGER PRIMARY KEY,"
	"  principal TEXT NOT NULL,"                /* a user or a role */
	"  kind TEXT NOT NULL,"                     /* select | clearance */
	"  target TEXT NOT NULL,"                   /* db | db.table | tag:x ; clearance: a tag */
	"  columns TEXT,"                           /* JSON array, NULL: all */
	"  exclude INTEGER NOT NULL DEFAULT 0,"
	"  row_filter TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX policy_grants_principal ON policy_grants(principal);"
	"CREATE TABLE policy_masks("
	"  tag TEXT PRIMARY KEY,"
	"  mask TEXT NOT NULL);"                    /* null | redact | partial | hash */
	"INSERT INTO policy_grants(principal, kind, target, created_ms, created_by) "
	"  VALUES('raw_reader', 'select', 'raw', 0, 'built-in');",
	/* 6: object grants (store/objects.c); raw_reader reads and lists raw's objects */
	"INSERT INTO policy_grants(principal, kind, target, created_ms, created_by) "
	"  VALUES('raw_reader', 'read', 'raw', 0, 'built-in'),"
	"        ('raw_reader', 'list', 'raw', 0, 'built-in');",
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

static int sql_fail(sqlite3 *db, char *err, const char *what)
{
	int code = sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO;
	return tn_fail(err, code, "metastore: %s: %s", what, sqlite3_errmsg(db));
}

static int migrate(struct meta *m, char *err)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sql_fail(m->db, err, "read schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > (int)NMIGRATIONS)
		return tn_fail(err, TN_EUNSUPPORTED,
			       "metastore: schema version %d is newer than this tarn (%zu)", version,
			       NMIGRATIONS);
	for (size_t i = (size_t)version; i < NMIGRATIONS; i++) {
		char sql[64];
		int rc = meta_exec(m, "BEGIN IMMEDIATE", err);
		if (rc)
			return rc;
		rc = meta_exec(m, migrations[i], err);
		snprintf(sql, sizeof sql, "PRAGMA user_version=%zu", i + 1);
		if (rc == 0)
			rc = meta_exec(m, sql, err);
		if (rc == 0)
			rc = meta_exec(m, "COMMIT", err);
		if (rc) {
			meta_exec(m, "ROLLBACK", NULL);
			return rc;
		}
	}
	return 0;
}

int meta_open(const char *path, struct meta **out, char *err)
{
	/* Credentials live here: owner-only, and SQLite gives -wal/-shm the same mode. */
	int fd = os_open(path, O_RDWR | O_CREAT, 0600, err);
	if (fd < 0)
		return fd;
	os_close(fd);
	struct meta *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	int rc = sqlite3_open_v2(path, &m->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		rc = tn_fail(err, TN_EIO, "metastore '%s': %s", path,
			     m->db ? sqlite3_errmsg(m->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(m->db, 5000);
	if ((rc = meta_exec(m, "PRAGMA journal_mode=WAL", err)) ||
	    (rc = meta_exec(m, "PRAGMA synchronous=FULL", err)) ||
	    (rc = meta_exec(m, "PRAGMA foreign_keys=ON", err)))
		goto fail;
	if ((rc = migrate(m, err)))
		goto fail;
	*out = m;
	return 0;
fail:
	meta_close(m);
	return rc;
}

void meta_close(struct meta *m)
{
	if (!m)
		return;
	if (m->db)
		sqlite3_close_v2(m->db);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

struct sqlite3 *meta_db(struct meta *m)
{
	return m->db;
}

void meta_lock(struct meta *m)
{
	pthread_mutex_lock(&m->mu);
}

void meta_unlock(struct meta *m)
{
	pthread_mutex_unlock(&m->mu);
}

int meta_exec(struct meta *m, const char *sql, char *err)
{
	char *msg = NULL;
	if (sqlite3_exec(m->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(m->db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO;
		int rc = tn_fail(err, code, "metastore: %s", msg ? msg : sqlite3_errmsg(m->db));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int meta_kv_get(struct meta *m, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc = TN_ENOTFOUND;
	meta_lock(m);
	if (sqlite3_prepare_v2(m->db, "SELECT value FROM kv WHERE key = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
			rc = 0;
		}
	} else {
		rc = TN_EIO;
	}
	sqlite3_finalize(st);
	meta_unlock(m);
	return rc;
}

int meta_kv_set(struct meta *m, const char *key, const char *value, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(m);
	if (sqlite3_prepare_v2(m->db,
			       "INSERT INTO kv(key, value) VALUES(?, ?) "
			       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sql_fail(m->db, err, "prepare");
	} else {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_fail(m->db, err, "write setting");
	}
	sqlite3_finalize(st);
	meta_unlock(m);
	return rc;
}
