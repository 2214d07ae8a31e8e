/*
 * config.c - the settings table, tarn.yaml parsing and generation.
 *
 * Design (Redis config.c static_configs[], nginx ngx_command_t): one row
 * per setting.  Adding a setting = adding a field to struct tn_config and
 * one row here; parsing, `tarn config show`, the commented tarn.yaml of
 * `tarn init` and the README reference follow.  Values with units:
 * sizes accept B, KiB, MiB, GiB (and K, M, G as binary); durations accept
 * ms, s, m, h, d (a bare number is seconds).
 *
 * tarn.yaml is read with libyaml's event parser: nested mappings become
 * dotted names ("streams:\n  buffer_size: 8MiB" sets streams.buffer_size).
 */
#include "core/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/os.h"
#include "core/banned.h"

enum ctype { C_STR, C_INT, C_SIZE, C_DUR, C_MS, C_BOOL };

struct crow {
	const char *name;
	enum ctype type;
	const char *def;
	size_t off;
	size_t size;      /* C_STR: capacity of the char array */
	int64_t min, max; /* numbers: inclusive range (in base units) */
	const char *help;
};

#define STR(f) offsetof(struct tn_config, f), sizeof(((struct tn_config *)0)->f)
#define NUM(f) offsetof(struct tn_config, f), 0

static const struct crow rows[] = {
	{ "lake.name", C_STR, "lake", STR(lake_name), 0, 0,
	  "name of the lake: the S3 bucket and the PostgreSQL database" },
	{ "http.listen", C_STR, "127.0.0.1:7070", STR(http_listen), 0, 0,
	  "REST API, Kinesis/Firehose API and console (host:port; port 0 picks one)" },
	{ "s3.listen", C_STR, "127.0.0.1:9000", STR(s3_listen), 0, 0,
	  "S3 API: the lake is one bucket named lake.name (host:port; \"\" turns it off)" },
	{ "s3.domain", C_STR, "", STR(s3_domain), 0, 0,
	  "virtual-host style addressing: requests to <bucket>.<domain> name the bucket by host" },
	{ "s3.upload_max_age", C_DUR, "7d", NUM(s3_upload_max_age_s), 60, 365 * 86400,
	  "incomplete multipart uploads older than this are removed" },
	{ "pg.listen", C_STR, "127.0.0.1:5433", STR(pg_listen), 0, 0,
	  "PostgreSQL wire protocol: database lake.name (host:port; \"\" turns it off)" },
	{ "pg.max_connections", C_INT, "64", NUM(pg_max_connections), 1, 10000,
	  "concurrent PostgreSQL sessions (one thread each); past it 53300 too_many_connections" },
	{ "pg.idle_timeout", C_DUR, "1h", NUM(pg_idle_timeout_s), 1, 30LL * 86400,
	  "a PostgreSQL session idle this long is closed" },
	{ "pg.statement_timeout", C_MS, "0", NUM(pg_statement_timeout_ms), 0, 7LL * 86400 * 1000,
	  "default statement_timeout of PostgreSQL sessions (0: query.timeout)" },
	{ "pg.allow_cleartext", C_BOOL, "false", NUM(pg_allow_cleartext), 0, 1,
	  "offer cleartext password authentication over TLS (else SCRAM-SHA-256 only)" },
	{ "http.max_connections", C_INT, "256", NUM(http_max_connections), 1, 10000,
	  "open connections of each HTTP listener (REST and S3); more are closed at once" },
	{ "http.threads", C_INT, "4", NUM(http_threads), 1, 64,
	  "event-loop threads of each HTTP listener" },
	{ "http.timeout", C_DUR, "60s", NUM(http_timeout_s), 1, 86400,
	  "idle HTTP connection timeout" },
	{ "http.tls_cert", C_STR, "", STR(http_tls_cert), 0, 0,
	  "HTTPS: PEM certificate, then any intermediates (with http.tls_key; relative to the lake)" },
	{ "http.tls_key", C_STR, "", STR(http_tls_key), 0, 0,
	  "HTTPS: PEM private key of http.tls_cert, unencrypted, mode 0600 (empty: plain HTTP)" },
	{ "zones.raw", C_STR, "01-raw-data-zone", STR(zone_dirs[0]), 0, 0,
	  "bronze: exact copies of source data, immutable" },
	{ "zones.transient", C_STR, "02-transient-zone", STR(zone_dirs[1]), 0, 0,
	  "query results, job scratch space, quarantine" },
	{ "zones.master", C_STR, "03-master-data-zone", STR(zone_dirs[2]), 0, 0,
	  "reference data" },
	{ "zones.drop", C_STR, "04-user-drop-zone", STR(zone_dirs[3]), 0, 0,
	  "manually uploaded data" },
	{ "zones.sandbox", C_STR, "data/user", STR(zone_dirs[4]), 0, 0,
	  "per-user sandboxes" },
	{ "zones.log", C_STR, "log", STR(zone_dirs[5]), 0, 0,
	  "server, job and audit logs" },
	{ "zones.stage", C_STR, "warehouse/stage", STR(zone_dirs[6]), 0, 0,
	  "warehouse staging" },
	{ "zones.cleanse", C_STR, "warehouse/cleanse", STR(zone_dirs[7]), 0, 0,
	  "silver: processed and cleaned" },
	{ "zones.core", C_STR, "warehouse/core", STR(zone_dirs[8]), 0, 0,
	  "curated core tables" },
	{ "zones.mart", C_STR, "warehouse/mart", STR(zone_dirs[9]), 0, 0,
	  "gold: ready for consumers" },
	{ "zones.references", C_STR, "references", STR(zone_dirs[10]), 0, 0,
	  "generated data dictionaries" },
	{ "streams.auto_create", C_BOOL, "true", NUM(streams_auto_create), 0, 1,
	  "create a stream on its first write" },
	{ "streams.buffer_size", C_SIZE, "5MiB", NUM(streams_buffer_bytes), TN_MIN_BUFFER_BYTES,
	  TN_MAX_BUFFER_BYTES, "flush a stream into an object once this much waits (size hint)" },
	{ "streams.buffer_interval", C_DUR, "60s", NUM(streams_buffer_s), 0, 900,
	  "flush a stream once its oldest waiting record is this old (0: at once)" },
	{ "streams.wal_segment_size", C_SIZE, "64MiB", NUM(streams_segment_bytes), 1 << 20,
	  1LL << 30, "size of a preallocated write-ahead log segment (a stream keeps one "
	  "released segment more, for reuse)" },
	{ "streams.wal_max_size", C_SIZE, "1GiB", NUM(streams_wal_max_bytes), 1 << 20,
	  1LL << 40, "backpressure: bytes of records per stream in the WAL, not yet in objects, "
	  "before writers get 503" },
	{ "streams.max_flush_lag", C_DUR, "300s", NUM(streams_max_lag_s), 1, 86400,
	  "backpressure: age of the oldest unflushed record before writers get 503" },
	{ "streams.min_free_disk", C_SIZE, "64MiB", NUM(streams_min_free_bytes), 0, 1LL << 40,
	  "backpressure: free disk space kept for flushing before writers get 503" },
	{ "auth.token_ttl", C_DUR, "24h", NUM(auth_token_ttl_s), 60, 365LL * 86400,
	  "default lifetime of API tokens" },
	{ "auth.token_max_ttl", C_DUR, "30d", NUM(auth_token_max_ttl_s), 60, 3650LL * 86400,
	  "longest lifetime a token may ask for" },
	{ "auth.clock_skew", C_DUR, "15m", NUM(auth_clock_skew_s), 1, 86400,
	  "AWS SigV4: largest allowed difference between client and server clocks" },
	{ "catalog.crawl_delay", C_MS, "2s", NUM(catalog_crawl_delay_ms), 0, 3600000,
	  "crawl a folder this long after new objects stop landing in it" },
	{ "catalog.crawl_interval", C_DUR, "1h", NUM(catalog_crawl_interval_s), 0, 30LL * 86400,
	  "crawl every zone incrementally this often (0: never)" },
	{ "query.timeout", C_DUR, "300s", NUM(query_timeout_s), 1, 7LL * 86400,
	  "a query running longer is canceled" },
	{ "query.memory_limit", C_SIZE, "2GiB", NUM(query_memory_bytes), 256LL << 20, 1LL << 50,
	  "memory of the SQL engine (DuckDB), shared by running queries; past it they spill or fail" },
	{ "query.threads", C_INT, "0", NUM(query_threads), 0, 1024,
	  "worker threads of the SQL engine (0: one per core)" },
	{ "query.max_running", C_INT, "4", NUM(query_max_running), 1, 256,
	  "queries that run at once; more wait in the queue" },
	{ "query.max_queued", C_INT, "32", NUM(query_max_queued), 0, 100000,
	  "queries that may wait for a turn; past it a query is refused (busy)" },
	{ "query.max_result_size", C_SIZE, "64MiB", NUM(query_max_result_bytes), 1 << 10, 1LL << 40,
	  "largest answer of a synchronous query (POST /v1/query); use /v1/queries past it" },
	{ "log.level", C_STR, "info", STR(log_level), 0, 0, "debug, info, warn or error" },
};

#define NROWS (sizeof rows / sizeof rows[0])

static const struct crow *find_row(const char *name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static int parse_num(const char *v, enum ctype t, int64_t *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || errno)
		return TN_EINVAL;
	while (*end == ' ')
		end++;
	double mul = 1;
	if (t == C_SIZE) {
		if (!strcasecmp(end, "") || !strcasecmp(end, "b")) mul = 1;
		else if (!strcasecmp(end, "k") || !strcasecmp(end, "kib") || !strcasecmp(end, "kb")) mul = 1024.0;
		else if (!strcasecmp(end, "m") || !strcasecmp(end, "mib") || !strcasecmp(end, "mb")) mul = 1048576.0;
		else if (!strcasecmp(end, "g") || !strcasecmp(end, "gib") || !strcasecmp(end, "gb")) mul = 1073741824.0;
		else if (!strcasecmp(end, "t") || !strcasecmp(end, "tib") || !strcasecmp(end, "tb")) mul = 1099511627776.0;
		else return TN_EINVAL;
	} else if (t == C_DUR || t == C_MS) {
		if (!strcmp(end, "") || !strcmp(end, "s")) mul = 1;
		else if (!strcmp(end, "ms")) mul = 0.001;
		else if (!strcmp(end, "m")) mul = 60;
		else if (!strcmp(end, "h")) mul = 3600;
		else if (!strcmp(end, "d")) mul = 86400;
		else return TN_EINVAL;
	} else if (*end) {
		return TN_EINVAL;
	}
	double r = d * mul * (t == C_MS ? 1000 : 1);
	if (r < -9e18 || r > 9e18 || (t == C_INT && d != (double)(int64_t)d))
		return TN_EINVAL;
	*out = (int64_t)r;
	return 0;
}

static int set_row(struct tn_config *c, const struct crow *r, const char *v, char *err)
{
	char *field = (char *)c + r->off;
	switch (r->type) {
	case C_STR:
		if (strlen(v) >= r->size)
			return tn_fail(err, TN_EINVAL, "setting '%s': value longer than %zu bytes",
				       r->name, r->size - 1);
		snprintf(field, r->size, "%s", v);
		return 0;
	case C_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)field = true;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") ||
			 !strcmp(v, "0"))
			*(bool *)field = false;
		else
			return tn_fail(err, TN_EINVAL, "setting '%s': '%s' is not true or false",
				       r->name, v);
		return 0;
	default: {
		int64_t n;
		if (parse_num(v, r->type, &n))
			return tn_fail(err, TN_EINVAL, "setting '%s': '%s' is not a %s", r->name, v,
				       r->type == C_SIZE ? "size (e.g. 8MiB)" :
				       r->type == C_DUR || r->type == C_MS ? "duration (e.g. 30s, 5m)" :
				       "number");
		if (n < r->min || n > r->max)
			return tn_fail(err, TN_EINVAL,
				       "setting '%s': %s is out of range [%lld, %lld]", r->name, v,
				       (long long)r->min, (long long)r->max);
		*(int64_t *)field = n;
		return 0;
	}
	}
	return TN_EINTERNAL;
}

void config_defaults(struct tn_config *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NROWS; i++)
		if (set_row(c, &rows[i], rows[i].def, NULL))
			TN_BUG("default of '%s' does not parse", rows[i].name);
}

int config_set(struct tn_config *c, const char *name, const char *value, char *err)
{
	const struct crow *r = find_row(name);
	if (!r)
		return tn_fail(err, TN_EINVAL, "unknown setting '%s'", name);
	return set_row(c, r, value, err);
}

int config_load(struct tn_config *c, const char *path, char *err)
{
	struct buf text = BUF_INIT(TN_MAX_CONFIG_BYTES);
	int rc = os_read_file(path, TN_MAX_CONFIG_BYTES, &text, err);
	if (rc) {
		buf_release(&text);
		return rc;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text.data, text.len);
	/* keys[depth] is the mapping key in force at each nesting level. */
	char keys[8][64];
	int depth = 0;        /* mapping nesting */
	int want_key[9] = { 1 };
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = tn_fail(err, TN_EINVAL, "%s:%zu: %s", path, p.problem_mark.line + 1,
				     p.problem ? p.problem : "invalid YAML");
			break;
		}
		int line = (int)ev.start_mark.line + 1;
		int done = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_MAPPING_START_EVENT) {
			if (depth >= 8) {
				rc = tn_fail(err, TN_EINVAL, "%s:%d: nested too deep", path, line);
			} else {
				depth++;
				want_key[depth] = 1;
			}
		} else if (ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
			if (depth > 0)
				want_key[depth] = 1;
		} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
			rc = tn_fail(err, TN_EINVAL, "%s:%d: lists are not settings here", path, line);
		} else if (ev.type == YAML_SCALAR_EVENT && depth > 0) {
			const char *v = (const char *)ev.data.scalar.value;
			if (want_key[depth]) {
				snprintf(keys[depth - 1], sizeof keys[0], "%s", v);
				want_key[depth] = 0;
			} else {
				char name[256] = "";
				size_t off = 0;
				for (int i = 0; i < depth; i++)
					off += (size_t)snprintf(name + off, sizeof name - off, "%s%s",
								i ? "." : "", keys[i]);
				char msg[TN_ERRLEN];
				if (config_set(c, name, v, msg))
					rc = tn_fail(err, TN_EINVAL, "%s:%d: %s", path, line, msg);
				want_key[depth] = 1;
			}
		}
		yaml_event_delete(&ev);
		if (rc || done)
			break;
	}
	yaml_parser_delete(&p);
	buf_release(&text);
	return rc;
}

static void value_str(const struct tn_config *c, const struct crow *r, char *out, size_t n)
{
	const char *field = (const char *)c + r->off;
	int64_t v;
	switch (r->type) {
	case C_STR:
		snprintf(out, n, "%s", field);
		return;
	case C_BOOL:
		snprintf(out, n, "%s", *(const bool *)field ? "true" : "false");
		return;
	case C_SIZE:
		v = *(const int64_t *)field;
		if (v && v % (1LL << 30) == 0) snprintf(out, n, "%lldGiB", (long long)(v >> 30));
		else if (v && v % (1LL << 20) == 0) snprintf(out, n, "%lldMiB", (long long)(v >> 20));
		else if (v && v % 1024 == 0) snprintf(out, n, "%lldKiB", (long long)(v >> 10));
		else snprintf(out, n, "%lld", (long long)v);
		return;
	case C_MS:
		v = *(const int64_t *)field;
		if (v % 1000)
			snprintf(out, n, "%lldms", (long long)v);
		else
			snprintf(out, n, "%llds", (long long)(v / 1000));
		return;
	case C_DUR:
		v = *(const int64_t *)field;
		if (v && v % 86400 == 0) snprintf(out, n, "%lldd", (long long)(v / 86400));
		else if (v && v % 3600 == 0) snprintf(out, n, "%lldh", (long long)(v / 3600));
		else if (v && v % 60 == 0) snprintf(out, n, "%lldm", (long long)(v / 60));
		else snprintf(out, n, "%llds", (long long)v);
		return;
	case C_INT:
		snprintf(out, n, "%lld", (long long)*(const int64_t *)field);
		return;
	}
}

/*
 * A value as YAML: plain when that reads back unchanged, else double-quoted
 * (an empty string, a path with spaces, '#', quotes or other indicators).
 */
static int put_value(struct buf *out, const struct crow *r, const char *v)
{
	bool plain = r->type != C_STR || (v[0] && strchr("-?:,[]{}#&*!|>'\"%@`~ ", v[0]) == NULL);
	for (const char *q = v; plain && r->type == C_STR && *q; q++)
		plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			(*q >= '0' && *q <= '9') || strchr("_./:-+@", *q);
	if (plain)
		return buf_puts(out, v);
	int rc = buf_putc(out, '"');
	for (const unsigned char *q = (const unsigned char *)v; rc == 0 && *q; q++) {
		if (*q == '"' || *q == '\\')
			rc = buf_printf(out, "\\%c", *q);
		else if (*q < 0x20 || *q == 0x7f)
			rc = buf_printf(out, "\\x%02x", *q);
		else
			rc = buf_putc(out, (char)*q);
	}
	return rc ? rc : buf_putc(out, '"');
}

int config_dump(const struct tn_config *c, bool commented, struct buf *out)
{
	char section[64] = "";
	int rc = 0;
	for (size_t i = 0; i < NROWS && rc == 0; i++) {
		const char *dot = strchr(rows[i].name, '.');
		size_t sl = (size_t)(dot - rows[i].name);
		if (strlen(section) != sl || strncmp(section, rows[i].name, sl)) {
			snprintf(section, sizeof section, "%.*s", (int)sl, rows[i].name);
			rc = buf_printf(out, "%s%s:\n", i ? "\n" : "", section);
		}
		char v[TN_MAX_CFG_PATH + 64];
		value_str(c, &rows[i], v, sizeof v);
		if (commented)
			rc = rc ? rc : buf_printf(out, "  # %s\n", rows[i].help);
		rc = rc ? rc : buf_printf(out, "  %s: ", dot + 1);
		rc = rc ? rc : put_value(out, &rows[i], v);
		rc = rc ? rc : buf_putc(out, '\n');
	}
	return rc;
}

int config_reference(struct buf *out)
{
	struct tn_config c;
	config_defaults(&c);
	int rc = buf_puts(out, "| setting | default | meaning |\n|---|---|---|\n");
	for (size_t i = 0; i < NROWS && rc == 0; i++) {
		char v[TN_MAX_CFG_PATH + 64];
		value_str(&c, &rows[i], v, sizeof v);
		rc = buf_printf(out, "| `%s` | `", rows[i].name);
		rc = rc ? rc : put_value(out, &rows[i], v);
		rc = rc ? rc : buf_printf(out, "` | %s |\n", rows[i].help);
	}
	return rc;
}

int config_parse_addr(const char *addr, char *host, size_t hostlen, int *port, char *err)
{
	const char *colon;
	const char *h = addr;
	size_t hl;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return tn_fail(err, TN_EINVAL, "address '%s': expected [host]:port", addr);
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return tn_fail(err, TN_EINVAL, "address '%s': expected host:port", addr);
		hl = (size_t)(colon - addr);
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return tn_fail(err, TN_EINVAL, "address '%s': bad port", addr);
	if (hl == 0 || hl >= hostlen)
		return tn_fail(err, TN_EINVAL, "address '%s': bad host", addr);
	snprintf(host, hostlen, "%.*s", (int)hl, h);
	*port = (int)p;
	return 0;
}
