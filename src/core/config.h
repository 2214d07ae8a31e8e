/*
 * config.h - tarn.yaml: one table of settings.
 *
 * Every setting is a row of the table in config.c: its dotted name (the
 * path in tarn.yaml), type, default, offset into struct tn_config, and a
 * one-line help text.  Parsing, validation, `tarn config show`, the
 * commented tarn.yaml written by `tarn init` and the README's reference are
 * all generated from that table.  Command-line flags of `tarn serve` set
 * the same rows by name (--http sets http.listen).
 */
#ifndef TN_CONFIG_H
#define TN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define TN_MAX_ADDR 128
#define TN_MAX_DIRNAME 128
#define TN_MAX_CFG_PATH 1024  /* a file path setting (http.tls_cert) */

struct tn_config {
	char lake_name[64];              /* lake.name: bucket name, pg database name */
	char http_listen[TN_MAX_ADDR];   /* http.listen */
	char s3_listen[TN_MAX_ADDR];     /* s3.listen: the S3 API ("" turns it off) */
	int64_t s3_upload_max_age_s;     /* s3.upload_max_age: incomplete multipart uploads */
	char s3_domain[TN_MAX_ADDR];     /* s3.domain: virtual-host style "<bucket>.<domain>" */
	char pg_listen[TN_MAX_ADDR];     /* pg.listen: PostgreSQL wire protocol ("" turns it off) */
	int64_t pg_max_connections;      /* pg.max_connections */
	int64_t pg_idle_timeout_s;       /* pg.idle_timeout */
	int64_t pg_statement_timeout_ms; /* pg.statement_timeout (0: query.timeout) */
	bool pg_allow_cleartext;         /* pg.allow_cleartext: password over TLS */
	int64_t http_max_connections;    /* http.max_connections */
	int64_t http_threads;            /* http.threads */
	int64_t http_timeout_s;          /* http.timeout: idle connection timeout */
	char http_tls_cert[TN_MAX_CFG_PATH]; /* http.tls_cert: "" is plain HTTP */
	char http_tls_key[TN_MAX_CFG_PATH];  /* http.tls_key */
	char zone_dirs[11][TN_MAX_DIRNAME]; /* zones.<db>: folder of each zone (enum zone order) */
	bool streams_auto_create;        /* streams.auto_create */
	int64_t streams_buffer_bytes;    /* streams.buffer_size */
	int64_t streams_buffer_s;        /* streams.buffer_interval */
	int64_t streams_segment_bytes;   /* streams.wal_segment_size */
	int64_t streams_wal_max_bytes;   /* streams.wal_max_size */
	int64_t streams_max_lag_s;       /* streams.max_flush_lag */
	int64_t streams_min_free_bytes;  /* streams.min_free_disk */
	int64_t auth_token_ttl_s;        /* auth.token_ttl: default lifetime of API tokens */
	int64_t auth_token_max_ttl_s;    /* auth.token_max_ttl */
	int64_t auth_clock_skew_s;       /* auth.clock_skew: SigV4 allowed skew */
	int64_t catalog_crawl_delay_ms;  /* catalog.crawl_delay: quiet time before an automatic crawl */
	int64_t catalog_crawl_interval_s;/* catalog.crawl_interval: scheduled crawl of every zone */
	int64_t query_timeout_s;         /* query.timeout */
	int64_t query_memory_bytes;      /* query.memory_limit */
	int64_t query_threads;           /* query.threads */
	int64_t query_max_running;       /* query.max_running */
	int64_t query_max_queued;        /* query.max_queued */
	int64_t query_max_result_bytes;  /* query.max_result_size */
	char log_level[16];              /* log.level */
};

/* Fills c with every default. */
void config_defaults(struct tn_config *c);
/*
 * Reads a tarn.yaml over the current values of c.  Unknown keys and bad
 * values fail with TN_EINVAL and a message naming the key and line.
 */
int config_load(struct tn_config *c, const char *path, char *err);
/* Sets one setting by dotted name from a string ("http.listen", "127.0.0.1:0"). */
int config_set(struct tn_config *c, const char *name, const char *value, char *err);
/* Appends every setting as YAML (`tarn config show`); commented=true adds help lines. */
int config_dump(const struct tn_config *c, bool commented, struct buf *out);
/* Appends the Markdown reference table (name, default, meaning). */
int config_reference(struct buf *out);

/* Splits "host:port" / "[::1]:port"; port 0 lets the OS choose. */
int config_parse_addr(const char *addr, char *host, size_t hostlen, int *port, char *err);

#endif
