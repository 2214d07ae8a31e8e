/*
 * main.c - the tarn command: dispatches to server and client commands.
 *
 * To add a command: write `int cmd_x(int argc, char **argv)` (argv[0] is
 * the command name; return the exit code), declare it in cli/cli.h (client
 * commands) or here (server-side commands), and add a row to commands[].
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "lake/lake.h"
#include "pg/server.h"
#include "query/engine.h"
#include "core/banned.h"

#define TARN_VERSION "0.1.0"

static int cmd_init(int argc, char **argv);
static int cmd_serve(int argc, char **argv);
static int cmd_config(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
} commands[] = {
	{ "init", cmd_init, "init DIR [--tls]", "create a lake in DIR (absent or empty)" },
	{ "serve", cmd_serve, "serve DIR [--http ADDR:PORT] [--set NAME=VALUE]...",
	  "serve the lake in DIR until SIGTERM or SIGINT" },
	{ "config", cmd_config, "config show DIR | config reference",
	  "print the settings in force, or the reference table" },
	{ "ingest", cmd_ingest, "ingest STREAM [FILE]", "send NDJSON records to a stream" },
	{ "streams", cmd_streams, "streams [NAME]", "list streams, or show one" },
	{ "flush", cmd_flush, "flush STREAM", "write a stream's waiting records into objects now" },
	{ "token", cmd_token, "token [--ttl SECONDS]", "issue an API token (prints it)" },
	{ "gen", cmd_gen, "gen immunizations --count N [--seed S]",
	  "print synthetic sample events as NDJSON" },
	{ "crawl", cmd_crawl, "crawl [ZONE|PREFIX] [--full]",
	  "catalog new and changed files now (tables, schemas, PII tags)" },
	{ "tables", cmd_tables, "tables [ZONE]", "list the catalog's tables" },
	{ "describe", cmd_describe, "describe DB.TABLE",
	  "show a table: columns, types, tags, partitions, history" },
	{ "tag", cmd_tag, "tag DB.TABLE.COLUMN pii|none|auto",
	  "decide whether a column is PII (or hand it back to the crawler)" },
	{ "sql", cmd_sql, "sql [--format table|csv|json] \"SQL\"",
	  "run a query over the lake's tables and print the result" },
	{ "user", cmd_user, "user list|add|passwd|disable|enable|remove [NAME]",
	  "manage users (admins)" },
	{ "role", cmd_role, "role list|add|remove|grant|revoke ...",
	  "manage roles and who holds them (admins)" },
	{ "key", cmd_key, "key create USER | disable|enable|delete KEY_ID",
	  "S3/Kinesis access keys of users (admins)" },
	{ "grant", cmd_grant, "grant PRINCIPAL select TARGET [--columns|--exclude|--where] | clearance TAG",
	  "let a user or role read tables (admins)" },
	{ "revoke", cmd_revoke, "revoke GRANT_ID", "remove a grant (admins)" },
	{ "grants", cmd_grants, "grants [PRINCIPAL]", "list grants (admins)" },
	{ "mask", cmd_mask, "mask TAG null|redact|partial|hash", "how a tag's columns read without clearance" },
	{ "audit", cmd_audit, "audit verify|tail DIR", "check or show the lake's audit trail" },
	{ "version", cmd_version, "version", "print the versions of tarn and DuckDB" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "tarn %s - a data lake in one binary\n\nusage: tarn COMMAND [ARGS]\n\n"
		   "commands:\n", TARN_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-52s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\nclient commands talk to TARN_URL (default http://127.0.0.1:7070) with\n"
		   "TARN_TOKEN, or TARN_USER and TARN_PASSWORD; for https, TARN_CACERT names the\n"
		   "certificate to trust (a lake's .tarn/tls/server.crt).  `tarn COMMAND --help`\n"
		   "says more.\n");
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* tarn init DIR [--tls] */
static int cmd_init(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("usage: tarn init DIR [--tls]\n\n"
		       "Creates a lake in DIR (absent or empty): the zone folders, a commented\n"
		       "tarn.yaml, the metastore and the master key.  The root user is\n"
		       "TARN_ROOT_USER / TARN_ROOT_PASSWORD; if they are not set, a password\n"
		       "is generated and printed once.\n\n"
		       "  --tls    also make a self-signed test certificate and key in\n"
		       "           DIR/" LAKE_TLS_CERT " and .key, named in tarn.yaml, so the\n"
		       "           HTTP listener serves HTTPS (clients trust the certificate\n"
		       "           with curl --cacert FILE, or TARN_CACERT=FILE for tarn)\n");
		return 0;
	}
	const char *dir = NULL;
	bool tls = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tls") && !tls) {
			tls = true;
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			fprintf(stderr, "tarn init: unexpected argument '%s'\nusage: tarn init DIR "
				"[--tls]\n", argv[i]);
			return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: tarn init DIR [--tls]\n");
		return 2;
	}
	const char *user = getenv("TARN_ROOT_USER");
	const char *pw = getenv("TARN_ROOT_PASSWORD");
	char genpw[48];
	bool generated = false;
	if (!user || !*user)
		user = "root";
	if (!pw || !*pw) {
		uint8_t rnd[18];
		struct buf b = BUF_INIT(0);
		crypto_random(rnd, sizeof rnd);
		base64_encode(rnd, sizeof rnd, &b);
		for (size_t i = 0; i < b.len; i++)
			if (b.data[i] == '+' || b.data[i] == '/')
				b.data[i] = b.data[i] == '+' ? '-' : '_';
		snprintf(genpw, sizeof genpw, "%s", b.data);
		buf_release(&b);
		pw = genpw;
		generated = true;
	}
	char err[TN_ERRLEN];
	if (lake_init(dir, user, pw, tls, err)) {
		fprintf(stderr, "tarn: %s\n", err);
		return 1;
	}
	printf("created lake in %s\n", dir);
	if (tls) {
		struct tn_config c;
		config_defaults(&c);
		printf("HTTPS: self-signed test certificate %s/%s (key %s/%s)\n"
		       "  for localhost, 127.0.0.1 and ::1; clients must trust it explicitly:\n"
		       "  curl --cacert %s/%s https://%s/healthz\n"
		       "  TARN_URL=https://%s TARN_CACERT=%s/%s tarn sql \"SELECT 1\"\n",
		       dir, LAKE_TLS_CERT, dir, LAKE_TLS_KEY, dir, LAKE_TLS_CERT, c.http_listen,
		       c.http_listen, dir, LAKE_TLS_CERT);
	}
	if (generated)
		printf("root user: %s\nroot password: %s\n"
		       "(shown once; set TARN_ROOT_USER / TARN_ROOT_PASSWORD to choose them)\n",
		       user, pw);
	return 0;
}

/*
 * "name=value" for a flag of tarn serve.  A file named on the command line
 * is relative to the current directory (in tarn.yaml, to the lake).
 */
static char *flag_setting(const char *name, const char *v)
{
	char cwd[4096];
	if (strncmp(name, "http.tls_", 9) == 0 && v[0] && v[0] != '/' && getcwd(cwd, sizeof cwd))
		return xasprintf("%s=%s/%s", name, cwd, v);
	return xasprintf("%s=%s", name, v);
}

/* tarn serve DIR [--http ADDR] [--set NAME=VALUE]... */
static int cmd_serve(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("usage: tarn serve DIR [options]\n\n"
		       "  --http ADDR:PORT     REST, Kinesis and Firehose API (default 127.0.0.1:7070)\n"
		       "  --s3 ADDR:PORT       S3 API (default 127.0.0.1:9000; \"\" turns it off)\n"
		       "  --pg ADDR:PORT       PostgreSQL wire protocol (default 127.0.0.1:5433; \"\" turns it off)\n"
		       "  --tls-cert FILE      serve HTTPS with this PEM certificate (http.tls_cert)\n"
		       "  --tls-key FILE       and this PEM private key, mode 0600 (http.tls_key)\n"
		       "  --set NAME=VALUE     override a tarn.yaml setting (tarn config reference)\n"
		       "  --log-level LEVEL    debug, info, warn or error\n\n"
		       "Stops on SIGTERM or SIGINT: stops accepting, makes the WAL durable,\n"
		       "flushes every stream, exits 0.\n");
		return 0;
	}
	const char *dir = NULL;
	const char *over[64];
	char *owned[64];
	size_t no = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *name = NULL;
		if (!strcmp(a, "--http"))
			name = "http.listen";
		else if (!strcmp(a, "--s3"))
			name = "s3.listen";
		else if (!strcmp(a, "--pg"))
			name = "pg.listen";
		else if (!strcmp(a, "--log-level"))
			name = "log.level";
		else if (!strcmp(a, "--tls-cert"))
			name = "http.tls_cert";
		else if (!strcmp(a, "--tls-key"))
			name = "http.tls_key";
		if ((name || !strcmp(a, "--set")) && i + 1 < argc && no < 63) {
			owned[no] = name ? flag_setting(name, argv[++i]) : xstrdup(argv[++i]);
			over[no] = owned[no];
			no++;
		} else if (a[0] != '-' && !dir) {
			dir = a;
		} else {
			fprintf(stderr, "tarn serve: unexpected argument '%s'\n", a);
			return 2;
		}
	}
	over[no] = NULL;
	if (!dir) {
		fprintf(stderr, "usage: tarn serve DIR [--http ADDR:PORT]\n");
		return 2;
	}
	/* Block the stop signals in every thread; the main thread waits for them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char err[TN_ERRLEN];
	struct lake *l = NULL;
	int rc = lake_open(dir, over, &l, err);
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	if (rc) {
		fprintf(stderr, "tarn: %s\n", err);
		return 1;
	}
	struct http_deps deps = {
		.streams = l->streams,
		.auth = l->auth,
		.store = l->store,
		.catalog = l->catalog,
		.queries = l->queries,
		.engine = l->engine,
		.policy = l->policy,
		.audit = l->audit,
		.objects = l->objects,
		.cfg = &l->cfg,
		.tls = l->http_tls,
		.started_ms = time_now_ms(),
	};
	/* the PostgreSQL listener first: once /healthz answers, every listener is up */
	struct pg_deps pgdeps = {
		.auth = l->auth,
		.queries = l->queries,
		.audit = l->audit,
		.cfg = &l->cfg,
		.tls = l->http_tls,
	};
	struct pg_server *pg = NULL;
	if (l->cfg.pg_listen[0] && pg_server_start(l->cfg.pg_listen, &pgdeps, &pg, err)) {
		fprintf(stderr, "tarn: pg: %s\n", err);
		lake_close(l);
		return 1;
	}
	struct http_server *http = NULL;
	if (http_start(l->cfg.http_listen, &deps, &http, err)) {
		fprintf(stderr, "tarn: %s\n", err);
		pg_server_stop(pg);
		lake_close(l);
		return 1;
	}
	struct http_deps s3deps = deps;
	struct http_server *s3 = NULL;
	s3deps.s3 = true;
	if (l->cfg.s3_listen[0] && http_start(l->cfg.s3_listen, &s3deps, &s3, err)) {
		fprintf(stderr, "tarn: s3: %s\n", err);
		http_stop(http);
		pg_server_stop(pg);
		lake_close(l);
		return 1;
	}
	char host[TN_MAX_ADDR];
	int port = 0;
	if (pg) {
		config_parse_addr(l->cfg.pg_listen, host, sizeof host, &port, NULL);
		log_info("serve", "PostgreSQL: %s%s%s:%d (database '%s'%s)", strchr(host, ':') ? "[" : "",
			 host, strchr(host, ':') ? "]" : "", pg_server_port(pg), l->cfg.lake_name,
			 pgdeps.tls ? ", TLS" : "");
	}
	if (s3) {
		config_parse_addr(l->cfg.s3_listen, host, sizeof host, &port, NULL);
		log_info("serve", "S3 API: %s://%s%s%s:%d (bucket '%s')",
			 s3deps.tls ? "https" : "http", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", http_port(s3),
			 l->cfg.lake_name);
	}
	config_parse_addr(l->cfg.http_listen, host, sizeof host, &port, NULL);
	log_info("serve", "lake '%s' (%s) ready: %s://%s%s%s:%d", l->cfg.lake_name, l->root,
		 l->http_tls ? "https" : "http", strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", http_port(http));
	int sig = 0;
	sigwait(&set, &sig);
	log_info("serve", "%s: stopping (no new requests; flushing streams)",
		 sig == SIGTERM ? "SIGTERM" : "SIGINT");
	pg_server_stop(pg);
	http_stop(s3);
	http_stop(http);
	lake_close(l);
	log_info("serve", "stopped cleanly");
	log_close();
	return 0;
}

/* tarn config show DIR | tarn config reference */
static int cmd_config(int argc, char **argv)
{
	struct buf out = BUF_INIT(0);
	int rc = 0;
	if (argc == 2 && !strcmp(argv[1], "reference")) {
		config_reference(&out);
	} else if (argc == 3 && !strcmp(argv[1], "show")) {
		struct tn_config c;
		char err[TN_ERRLEN], p[4096];
		config_defaults(&c);
		snprintf(p, sizeof p, "%s/tarn.yaml", argv[2]);
		if (config_load(&c, p, err)) {
			fprintf(stderr, "tarn: %s\n", err);
			rc = 1;
		} else {
			config_dump(&c, false, &out);
		}
	} else {
		fprintf(wants_help(argc, argv) ? stdout : stderr,
			"usage: tarn config show DIR | tarn config reference\n");
		rc = wants_help(argc, argv) ? 0 : 2;
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_release(&out);
	return rc;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("tarn %s (DuckDB %s)\n", TARN_VERSION, engine_version());
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "tarn: unknown command '%s' (tarn --help lists them)\n", argv[1]);
	return 2;
}
