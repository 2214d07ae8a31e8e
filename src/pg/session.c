/*
 * session.c - a PostgreSQL session after authentication: the message
 * loop, the simple and extended query protocols, and the session commands
 * answered without the engine.
 *
 * Message handlers (a table would add little: each protocol message has
 * one handler, dispatched in pg_session_run):
 *   'Q' Query        statements split at top-level ';', each answered in turn
 *   'P' Parse        'B' Bind        'D' Describe     'E' Execute
 *   'C' Close        'H' Flush       'S' Sync         'X' Terminate
 * Anything else is a protocol violation (08P01) that closes the session.
 *
 * Session commands (run here, in the connection thread, through either
 * protocol): BEGIN / START TRANSACTION / COMMIT / END / ROLLBACK / ABORT /
 * SAVEPOINT / RELEASE, SET / RESET / SHOW, DISCARD, DEALLOCATE, and the
 * cursors DECLARE / FETCH / MOVE / CLOSE (portals: see portal.c).  There is
 * no transactional storage: BEGIN..COMMIT only tracks the state
 * PostgreSQL reports in ReadyForQuery ('I', 'T', 'E'), and after an error
 * inside a block every statement but ROLLBACK / COMMIT is refused (25P02),
 * as PostgreSQL does.  Every other statement runs through the query
 * service as the session's principal.
 *
 * Invariants: after an error in the extended protocol, messages are
 * discarded until Sync; a ReadyForQuery ends every simple query and every
 * Sync, and the output is flushed then (and whenever PG_FLUSH_AT bytes of
 * rows wait).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/log.h"
#include "pg/pg_int.h"
#include "query/query.h"
#include "core/banned.h"

/* ---- settings ------------------------------------------------------------------ */

struct known_setting {
	const char *name;
	const char *def;
	bool report;   /* ParameterStatus when it changes (GUC_REPORT) */
};

static const struct known_setting known[] = {
	{ "application_name", "", true },
	{ "client_encoding", "UTF8", true },
	{ "DateStyle", "ISO, MDY", true },
	{ "TimeZone", "UTC", true },
	{ "IntervalStyle", "postgres", true },
	{ "integer_datetimes", "on", true },
	{ "standard_conforming_strings", "on", true },
	{ "server_version", "15.0", true },
	{ "server_version_num", "150000", false },
	{ "server_encoding", "UTF8", true },
	{ "search_path", "\"$user\", public", false },
	{ "extra_float_digits", "1", false },
	{ "statement_timeout", "0", false },
	{ "transaction_isolation", "read committed", false },
	{ "default_transaction_isolation", "read committed", false },
	{ "transaction_read_only", "off", false },
	{ "default_transaction_read_only", "off", true },
	{ "lc_messages", "C", false },
	{ "lc_monetary", "C", false },
	{ "lc_numeric", "C", false },
	{ "lc_time", "C", false },
	{ "bytea_output", "hex", false },
	{ "client_min_messages", "notice", false },
	{ "max_identifier_length", "63", false },
	{ "lock_timeout", "0", false },
	{ "idle_in_transaction_session_timeout", "0", false },
};
#define NKNOWN (sizeof known / sizeof known[0])

static const struct known_setting *known_find(const char *name)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (!strcasecmp(known[i].name, name))
			return &known[i];
	return NULL;
}

const char *pg_session_get(struct pg_conn *c, const char *name)
{
	for (size_t i = 0; i < c->nset; i++)
		if (!strcasecmp(c->set_name[i], name))
			return c->set_value[i];
	if (!strcasecmp(name, "is_superuser"))
		return c->who.is_admin ? "on" : "off";
	if (!strcasecmp(name, "session_authorization"))
		return c->who.name;
	const struct known_setting *k = known_find(name);
	return k ? k->def : NULL;
}

static void setting_put(struct pg_conn *c, const char *name, const char *value)
{
	for (size_t i = 0; i < c->nset; i++)
		if (!strcasecmp(c->set_name[i], name)) {
			free(c->set_value[i]);
			c->set_value[i] = xstrdup(value);
			return;
		}
	if (c->nset >= PG_MAX_SETTINGS)
		return;
	const struct known_setting *k = known_find(name);
	c->set_name[c->nset] = xstrdup(k ? k->name : name);
	c->set_value[c->nset] = xstrdup(value);
	c->nset++;
}

static void setting_reset(struct pg_conn *c, const char *name)
{
	for (size_t i = 0; i < c->nset; i++)
		if (!name || !strcasecmp(c->set_name[i], name)) {
			free(c->set_name[i]);
			free(c->set_value[i]);
			c->set_name[i] = c->set_name[c->nset - 1];
			c->set_value[i] = c->set_value[c->nset - 1];
			c->nset--;
			i--;
		}
}

/* statement_timeout's value in ms ("5000", "5s", "1min", "100ms"); -1 if unreadable. */
static int64_t parse_timeout(const char *v)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || d < 0)
		return -1;
	while (*end == ' ')
		end++;
	double mul = 1;
	if (!*end || !strcasecmp(end, "ms"))
		mul = 1;
	else if (!strcasecmp(end, "s"))
		mul = 1000;
	else if (!strcasecmp(end, "min"))
		mul = 60000;
	else if (!strcasecmp(end, "h"))
		mul = 3600000;
	else if (!strcasecmp(end, "d"))
		mul = 86400000;
	else
		return -1;
	return (int64_t)(d * mul);
}

/* ---- a small lexer for session commands ------------------------------------------------ */

#define MAX_TOK 64

struct tok {
	char *v;      /* lower-cased word, or the text of a string / quoted name */
	char kind;    /* 'w' word, 's' string, 'q' quoted identifier, 'n' number, 'p' punctuation */
};

struct toks {
	struct tok t[MAX_TOK];
	size_t n;
	bool overflow;
};

static void toks_release(struct toks *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->t[i].v);
	k->n = 0;
}

static void tok_add(struct toks *k, char kind, const char *p, size_t n, bool lower)
{
	if (k->n >= MAX_TOK) {
		k->overflow = true;
		return;
	}
	char *v = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		v[i] = lower && p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
	v[n] = 0;
	k->t[k->n].v = v;
	k->t[k->n].kind = kind;
	k->n++;
}

/* Tokenizes s up to the first top-level word after max_words words (rest ignored). */
static void lex(const char *s, struct toks *k, size_t stop_after)
{
	size_t i = 0, n = strlen(s);
	memset(k, 0, sizeof *k);
	while (i < n && k->n < stop_after) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ';') {
			i++;
		} else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
			const char *e = strstr(s + i + 2, "*/");
			i = e ? (size_t)(e - s) + 2 : n;
		} else if (ch == '\'' || ch == '"' ||
			   ((ch == 'E' || ch == 'e') && i + 1 < n && s[i + 1] == '\'')) {
			if (ch != '\'' && ch != '"')
				i++;
			char q = s[i];
			struct buf b = BUF_INIT(0);
			size_t j = i + 1;
			while (j < n) {
				if (s[j] == q && j + 1 < n && s[j + 1] == q) {
					buf_putc(&b, q);
					j += 2;
				} else if (s[j] == q) {
					break;
				} else {
					buf_putc(&b, s[j++]);
				}
			}
			tok_add(k, q == '"' ? 'q' : 's', b.data, b.len, false);
			buf_release(&b);
			i = j + 1;
		} else if ((ch >= '0' && ch <= '9') || ch == '.' ||
			   (ch == '-' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
			size_t j = i + 1;
			while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' ||
					 (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
				j++;
			tok_add(k, 'n', s + i, j - i, false);
			i = j;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			   (unsigned char)ch >= 0x80) {
			size_t j = i;
			while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
					 (s[j] >= '0' && s[j] <= '9') || s[j] == '_' || s[j] == '$' ||
					 s[j] == '.' || (unsigned char)s[j] >= 0x80))
				j++;
			tok_add(k, 'w', s + i, j - i, true);
			i = j;
		} else {
			tok_add(k, 'p', s + i, 1, false);
			i++;
		}
	}
}

static bool is_w(const struct toks *k, size_t i, const char *w)
{
	return i < k->n && k->t[i].kind == 'w' && !strcmp(k->t[i].v, w);
}

/* ---- session commands ------------------------------------------------------------ */

enum cmd {
	CMD_NONE, CMD_BEGIN, CMD_COMMIT, CMD_ROLLBACK, CMD_SAVEPOINT, CMD_RELEASE,
	CMD_ROLLBACK_TO, CMD_SET, CMD_RESET, CMD_SHOW, CMD_DISCARD, CMD_DEALLOCATE, CMD_DECLARE,
	CMD_FETCH, CMD_MOVE, CMD_CLOSE
};

/* Which session command sql is (CMD_NONE: a statement for the engine). */
static enum cmd classify(const char *sql)
{
	struct toks k;
	lex(sql, &k, 4);
	enum cmd c = CMD_NONE;
	if (is_w(&k, 0, "begin") || (is_w(&k, 0, "start") && is_w(&k, 1, "transaction")))
		c = CMD_BEGIN;
	else if (is_w(&k, 0, "commit") || is_w(&k, 0, "end"))
		c = CMD_COMMIT;
	else if ((is_w(&k, 0, "rollback") || is_w(&k, 0, "abort")) &&
		 (is_w(&k, 1, "to") || is_w(&k, 2, "to")))
		c = CMD_ROLLBACK_TO;
	else if (is_w(&k, 0, "rollback") || is_w(&k, 0, "abort"))
		c = CMD_ROLLBACK;
	else if (is_w(&k, 0, "savepoint"))
		c = CMD_SAVEPOINT;
	else if (is_w(&k, 0, "release"))
		c = CMD_RELEASE;
	else if (is_w(&k, 0, "set"))
		c = CMD_SET;
	else if (is_w(&k, 0, "reset"))
		c = CMD_RESET;
	else if (is_w(&k, 0, "show") && k.n >= 2 &&
		 !(is_w(&k, 1, "tables") || is_w(&k, 1, "databases") ||
		   (is_w(&k, 1, "all") && is_w(&k, 2, "tables"))))
		c = CMD_SHOW;
	else if (is_w(&k, 0, "discard"))
		c = CMD_DISCARD;
	else if (is_w(&k, 0, "deallocate"))
		c = CMD_DEALLOCATE;
	else if (is_w(&k, 0, "declare"))
		c = CMD_DECLARE;
	else if (is_w(&k, 0, "fetch"))
		c = CMD_FETCH;
	else if (is_w(&k, 0, "move"))
		c = CMD_MOVE;
	else if (is_w(&k, 0, "close"))
		c = CMD_CLOSE;
	toks_release(&k);
	return c;
}

static struct pg_portal *portal_find(struct pg_conn *c, const char *name)
{
	for (struct pg_portal *p = c->portals; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static void portal_drop(struct pg_conn *c, struct pg_portal *p)
{
	for (struct pg_portal **pp = &c->portals; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			c->nportals--;
			break;
		}
	pg_portal_free(p);
}

static void portal_add(struct pg_conn *c, struct pg_portal *p)
{
	p->next = c->portals;
	c->portals = p;
	c->nportals++;
}

/* At the end of a transaction block: cursors without HOLD are closed. */
static void end_block(struct pg_conn *c)
{
	for (struct pg_portal *p = c->portals, *nx; p; p = nx) {
		nx = p->next;
		if (p->cursor && !p->hold)
			portal_drop(c, p);
	}
}

static struct pg_stmt *stmt_find(struct pg_conn *c, const char *name)
{
	for (struct pg_stmt *s = c->stmts; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static void stmt_free(struct pg_stmt *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncols; i++)
		free(s->cols[i].name);
	free(s->cols);
	free(s->name);
	free(s->sql);
	free(s->oids);
	free(s);
}

static void stmt_drop(struct pg_conn *c, struct pg_stmt *s)
{
	for (struct pg_stmt **pp = &c->stmts; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			c->nstmts--;
			break;
		}
	stmt_free(s);
}

/* A session command's failure: ErrorResponse; returns -1. */
static int cmd_fail(struct pg_conn *c, const char *sqlstate, const char *msg)
{
	pg_conn_error(c, "ERROR", sqlstate, msg, 0);
	return -1;
}

static void show_row(struct pg_conn *c, const char *col, const char *value, bool describe)
{
	if (describe) {
		struct pg_field f = { .name = col, .type_oid = PG_OID_TEXT, .typlen = -1,
				      .typmod = -1 };
		pg_put_row_description(&c->out, &f, 1);
	}
	struct pg_value v = { (const uint8_t *)value, (int32_t)strlen(value) };
	pg_put_data_row(&c->out, &v, 1);
}

/* The value text of SET's arguments from token i on (lists joined with ", "). */
static void set_value(const struct toks *k, size_t i, struct buf *out)
{
	for (; i < k->n; i++) {
		if (k->t[i].kind == 'p' && k->t[i].v[0] == ',') {
			buf_puts(out, ", ");
			continue;
		}
		if (k->t[i].kind == 'p')
			continue;
		buf_puts(out, k->t[i].v);
	}
}

static int do_set(struct pg_conn *c, const struct toks *k)
{
	size_t i = 1;
	char msg[TN_ERRLEN];
	if (is_w(k, i, "session") && is_w(k, i + 1, "characteristics"))
		return 0;
	if (is_w(k, i, "session") || is_w(k, i, "local"))
		i++;
	if (is_w(k, i, "transaction") || is_w(k, i, "session") || is_w(k, i, "constraints"))
		return 0;  /* isolation levels, read only: nothing to isolate */
	if (i >= k->n)
		return cmd_fail(c, "42601", "syntax error in SET: a parameter name is needed");
	const char *name = k->t[i].v;
	char namebuf[64];
	if (is_w(k, i, "time") && is_w(k, i + 1, "zone")) {
		name = "TimeZone";
		i += 2;
	} else if (is_w(k, i, "names")) {
		name = "client_encoding";
		i++;
	} else if (is_w(k, i, "authorization") || is_w(k, i, "role")) {
		name = "session_authorization";
		i++;
	} else {
		snprintf(namebuf, sizeof namebuf, "%s", k->t[i].v);
		name = namebuf;
		i++;
		if (i < k->n && (is_w(k, i, "to") || (k->t[i].kind == 'p' && k->t[i].v[0] == '=')))
			i++;
	}
	struct buf v = BUF_INIT(4096);
	set_value(k, i, &v);
	bool reset = is_w(k, i, "default") || is_w(k, i, "local");
	const struct known_setting *ks = known_find(name);
	int rc = 0;
	if (!strcasecmp(name, "client_encoding") && !reset) {
		if (strcasecmp(v.data, "UTF8") && strcasecmp(v.data, "UTF-8") &&
		    strcasecmp(v.data, "unicode")) {
			snprintf(msg, sizeof msg, "client_encoding \"%.64s\" is not supported: only UTF8",
				 v.data);
			rc = cmd_fail(c, "0A000", msg);
			goto out;
		}
		buf_reset(&v);
		buf_puts(&v, "UTF8");
	} else if (!strcasecmp(name, "TimeZone") && !reset) {
		static const char *const utc[] = { "utc", "gmt", "etc/utc", "etc/gmt", "z",
						   "zulu", "utc0", "0", "+00", "+00:00", "universal" };
		bool ok = false;
		for (size_t j = 0; j < sizeof utc / sizeof utc[0]; j++)
			ok |= !strcasecmp(v.data, utc[j]);
		if (!ok) {
			snprintf(msg, sizeof msg, "time zone \"%.64s\" is not supported: this server "
				 "works in UTC (timestamptz values are shown in UTC)", v.data);
			pg_conn_notice(c, "0A000", msg);
		}
		buf_reset(&v);
		buf_puts(&v, "UTC");
	} else if (!strcasecmp(name, "DateStyle") && !reset) {
		if (!strcasestr(v.data, "iso")) {
			snprintf(msg, sizeof msg, "DateStyle \"%.64s\" is not supported: dates are "
				 "shown as ISO", v.data);
			pg_conn_notice(c, "0A000", msg);
		}
		buf_reset(&v);
		buf_puts(&v, "ISO, MDY");
	} else if (!strcasecmp(name, "IntervalStyle") && !reset && strcasecmp(v.data, "postgres")) {
		pg_conn_notice(c, "0A000", "IntervalStyle: only postgres is supported");
		buf_reset(&v);
		buf_puts(&v, "postgres");
	} else if (!strcasecmp(name, "statement_timeout")) {
		int64_t ms = reset ? 0 : parse_timeout(v.data);
		if (ms < 0) {
			snprintf(msg, sizeof msg, "invalid value for parameter \"statement_timeout\": "
				 "\"%.64s\"", v.data);
			rc = cmd_fail(c, "22023", msg);
			goto out;
		}
		c->stmt_timeout_ms = ms ? ms : c->srv->d.cfg->pg_statement_timeout_ms;
		buf_reset(&v);
		buf_printf(&v, "%lld", (long long)ms);
	} else if (!strcasecmp(name, "session_authorization") || !strcasecmp(name, "role")) {
		if (!reset && strcmp(v.data, c->who.name) && strcasecmp(v.data, "none")) {
			rc = cmd_fail(c, "42501", "permission denied to set session authorization");
			goto out;
		}
		goto out;
	}
	if (reset) {
		setting_reset(c, name);
		if (!strcasecmp(name, "statement_timeout"))
			c->stmt_timeout_ms = c->srv->d.cfg->pg_statement_timeout_ms;
	} else {
		setting_put(c, name, v.data);
	}
	if (ks && ks->report)
		pg_put_parameter_status(&c->out, ks->name, pg_session_get(c, name));
out:
	buf_release(&v);
	return rc;
}

/* FETCH / MOVE [direction] [FROM | IN] name.  Count into *n (0: all). */
static int fetch_args(const struct toks *k, int64_t *n, const char **name, char *msg)
{
	size_t i = 1;
	*n = 1;
	if (is_w(k, i, "next")) {
		i++;
	} else if (is_w(k, i, "forward")) {
		i++;
		if (is_w(k, i, "all")) {
			*n = 0;
			i++;
		} else if (i < k->n && k->t[i].kind == 'n') {
			*n = strtoll(k->t[i].v, NULL, 10);
			i++;
		}
	} else if (is_w(k, i, "all")) {
		*n = 0;
		i++;
	} else if (i < k->n && k->t[i].kind == 'n') {
		*n = strtoll(k->t[i].v, NULL, 10);
		i++;
	} else if (is_w(k, i, "prior") || is_w(k, i, "first") || is_w(k, i, "last") ||
		   is_w(k, i, "absolute") || is_w(k, i, "relative") || is_w(k, i, "backward")) {
		snprintf(msg, TN_ERRLEN, "cursor can only scan forward");
		return -1;
	}
	if (*n < 0) {
		snprintf(msg, TN_ERRLEN, "cursor can only scan forward");
		return -1;
	}
	if (is_w(k, i, "from") || is_w(k, i, "in"))
		i++;
	if (i >= k->n || (k->t[i].kind != 'w' && k->t[i].kind != 'q')) {
		snprintf(msg, TN_ERRLEN, "syntax error: a cursor name is needed");
		return -1;
	}
	*name = k->t[i].v;
	return 0;
}

/* The query text after DECLARE name ... FOR (NULL if not found). */
static const char *declare_query(const char *sql)
{
	size_t i = 0, n = strlen(sql);
	/* find the top-level word FOR: scan words, skipping the cursor's name */
	while (i < n) {
		while (i < n && !((sql[i] >= 'a' && sql[i] <= 'z') || (sql[i] >= 'A' && sql[i] <= 'Z')))
			i++;
		size_t j = i;
		while (j < n && ((sql[j] >= 'a' && sql[j] <= 'z') || (sql[j] >= 'A' && sql[j] <= 'Z') ||
				 sql[j] == '_' || (sql[j] >= '0' && sql[j] <= '9')))
			j++;
		if (j - i == 3 && !strncasecmp(sql + i, "for", 3) && i > 0)
			return sql + j;
		if (i < n && sql[i] == '"') {
			const char *e = strchr(sql + i + 1, '"');
			j = e ? (size_t)(e - sql) + 1 : n;
		}
		i = j > i ? j : i + 1;
	}
	return NULL;
}

/*
 * Runs a session command.  describe: a simple query (SHOW and FETCH send
 * their RowDescription).  Returns 0, or -1 with the ErrorResponse written.
 */
static int run_command(struct pg_conn *c, enum cmd cmd, const char *sql, bool simple)
{
	struct toks k;
	char msg[TN_ERRLEN];
	int rc = 0;
	lex(sql, &k, cmd == CMD_DECLARE ? 12 : MAX_TOK);
	if (k.overflow && cmd == CMD_SET) {
		toks_release(&k);
		return cmd_fail(c, "54000", "SET: too many words");
	}
	switch (cmd) {
	case CMD_BEGIN:
		if (c->tx != PG_TX_IDLE)
			pg_conn_notice(c, "25001", "there is already a transaction in progress");
		else
			c->tx = PG_TX_BLOCK;
		pg_put_command_complete(&c->out, is_w(&k, 0, "start") ? "START TRANSACTION" : "BEGIN");
		break;
	case CMD_COMMIT: {
		bool failed = c->tx == PG_TX_FAILED;
		if (c->tx == PG_TX_IDLE)
			pg_conn_notice(c, "25P01", "there is no transaction in progress");
		c->tx = PG_TX_IDLE;
		end_block(c);
		pg_put_command_complete(&c->out, failed ? "ROLLBACK" : "COMMIT");
		break;
	}
	case CMD_ROLLBACK:
		if (c->tx == PG_TX_IDLE)
			pg_conn_notice(c, "25P01", "there is no transaction in progress");
		c->tx = PG_TX_IDLE;
		end_block(c);
		pg_put_command_complete(&c->out, "ROLLBACK");
		break;
	case CMD_ROLLBACK_TO:
		if (c->tx == PG_TX_IDLE) {
			rc = cmd_fail(c, "25P01", "ROLLBACK TO SAVEPOINT can only be used in transaction "
					      "blocks");
			break;
		}
		c->tx = PG_TX_BLOCK;
		pg_put_command_complete(&c->out, "ROLLBACK");
		break;
	case CMD_SAVEPOINT:
	case CMD_RELEASE:
		if (c->tx == PG_TX_IDLE) {
			rc = cmd_fail(c, "25P01", cmd == CMD_SAVEPOINT
							  ? "SAVEPOINT can only be used in transaction blocks"
							  : "RELEASE SAVEPOINT can only be used in transaction blocks");
			break;
		}
		pg_put_command_complete(&c->out, cmd == CMD_SAVEPOINT ? "SAVEPOINT" : "RELEASE");
		break;
	case CMD_SET:
		rc = do_set(c, &k);
		if (rc == 0)
			pg_put_command_complete(&c->out, "SET");
		break;
	case CMD_RESET:
		if (is_w(&k, 1, "all")) {
			setting_reset(c, NULL);
			c->stmt_timeout_ms = c->srv->d.cfg->pg_statement_timeout_ms;
		} else if (k.n >= 2) {
			setting_reset(c, k.t[1].v);
			if (!strcasecmp(k.t[1].v, "statement_timeout"))
				c->stmt_timeout_ms = c->srv->d.cfg->pg_statement_timeout_ms;
		}
		pg_put_command_complete(&c->out, "RESET");
		break;
	case CMD_SHOW:
		if (is_w(&k, 1, "all")) {
			struct pg_field f[3] = {
				{ .name = "name", .type_oid = PG_OID_TEXT, .typlen = -1, .typmod = -1 },
				{ .name = "setting", .type_oid = PG_OID_TEXT, .typlen = -1, .typmod = -1 },
				{ .name = "description", .type_oid = PG_OID_TEXT, .typlen = -1, .typmod = -1 },
			};
			if (simple)
				pg_put_row_description(&c->out, f, 3);
			size_t rows = 0;
			for (size_t i = 0; i < NKNOWN; i++) {
				const char *v = pg_session_get(c, known[i].name);
				struct pg_value vals[3] = {
					{ (const uint8_t *)known[i].name, (int32_t)strlen(known[i].name) },
					{ (const uint8_t *)v, (int32_t)strlen(v) },
					{ (const uint8_t *)"", 0 } };
				pg_put_data_row(&c->out, vals, 3);
				rows++;
			}
			for (size_t i = 0; i < c->nset; i++) {
				if (known_find(c->set_name[i]))
					continue;
				struct pg_value vals[3] = {
					{ (const uint8_t *)c->set_name[i], (int32_t)strlen(c->set_name[i]) },
					{ (const uint8_t *)c->set_value[i], (int32_t)strlen(c->set_value[i]) },
					{ (const uint8_t *)"", 0 } };
				pg_put_data_row(&c->out, vals, 3);
				rows++;
			}
			pg_put_command_complete(&c->out, "SHOW");
			break;
		}
		{
			const char *name = k.t[1].v;
			if (is_w(&k, 1, "time") && is_w(&k, 2, "zone"))
				name = "TimeZone";
			else if (is_w(&k, 1, "transaction") && is_w(&k, 2, "isolation"))
				name = "transaction_isolation";
			const char *v = pg_session_get(c, name);
			if (!v) {
				snprintf(msg, sizeof msg, "unrecognized configuration parameter \"%.64s\"",
					 name);
				rc = cmd_fail(c, "42704", msg);
				break;
			}
			const struct known_setting *ks = known_find(name);
			char low[64];
			snprintf(low, sizeof low, "%s", ks ? ks->name : name);
			for (char *p = low; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
			show_row(c, low, v, simple);
			pg_put_command_complete(&c->out, "SHOW");
		}
		break;
	case CMD_DISCARD:
		for (struct pg_portal *p = c->portals, *nx; p; p = nx) {
			nx = p->next;
			portal_drop(c, p);
		}
		if (is_w(&k, 1, "all")) {
			while (c->stmts)
				stmt_drop(c, c->stmts);
			setting_reset(c, NULL);
			c->stmt_timeout_ms = c->srv->d.cfg->pg_statement_timeout_ms;
		}
		pg_put_command_complete(&c->out, is_w(&k, 1, "all") ? "DISCARD ALL" : "DISCARD");
		break;
	case CMD_DEALLOCATE: {
		size_t i = is_w(&k, 1, "prepare") ? 2 : 1;
		if (is_w(&k, i, "all")) {
			while (c->stmts)
				stmt_drop(c, c->stmts);
			pg_put_command_complete(&c->out, "DEALLOCATE ALL");
			break;
		}
		struct pg_stmt *s = i < k.n ? stmt_find(c, k.t[i].v) : NULL;
		if (!s) {
			snprintf(msg, sizeof msg, "prepared statement \"%.64s\" does not exist",
				 i < k.n ? k.t[i].v : "");
			rc = cmd_fail(c, "26000", msg);
			break;
		}
		stmt_drop(c, s);
		pg_put_command_complete(&c->out, "DEALLOCATE");
		break;
	}
	case CMD_DECLARE: {
		/* DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL] CURSOR [WITH|WITHOUT HOLD] FOR query */
		const char *q = declare_query(sql);
		bool hold = false, cursor_kw = false;
		for (size_t i = 2; i < k.n; i++) {
			if (is_w(&k, i, "binary")) {
				rc = cmd_fail(c, "0A000", "binary cursors are not supported");
				goto done;
			}
			if (is_w(&k, i, "scroll") && !is_w(&k, i - 1, "no")) {
				rc = cmd_fail(c, "0A000", "scrollable cursors are not supported");
				goto done;
			}
			if (is_w(&k, i, "with") && is_w(&k, i + 1, "hold"))
				hold = true;
			if (is_w(&k, i, "cursor"))
				cursor_kw = true;
			if (is_w(&k, i, "for"))
				break;
		}
		if (k.n < 2 || !cursor_kw || !q) {
			rc = cmd_fail(c, "42601", "syntax error in DECLARE: DECLARE name CURSOR FOR query");
			break;
		}
		{
			/* a cursor reads: never let DECLARE run a write */
			struct toks qk;
			lex(q, &qk, 1);
			bool read = qk.n == 1 &&
				    (is_w(&qk, 0, "select") || is_w(&qk, 0, "with") ||
				     is_w(&qk, 0, "values") || is_w(&qk, 0, "table") ||
				     is_w(&qk, 0, "from") || (qk.t[0].kind == 'p' && qk.t[0].v[0] == '('));
			toks_release(&qk);
			if (!read) {
				rc = cmd_fail(c, "42601", "DECLARE CURSOR: the query must be a SELECT");
				break;
			}
		}
		if (!hold && c->tx == PG_TX_IDLE) {
			rc = cmd_fail(c, "25P01", "DECLARE CURSOR can only be used in transaction blocks");
			break;
		}
		if (portal_find(c, k.t[1].v)) {
			snprintf(msg, sizeof msg, "cursor \"%.64s\" already exists", k.t[1].v);
			rc = cmd_fail(c, "42P03", msg);
			break;
		}
		if (c->nportals >= PG_MAX_PORTALS) {
			rc = cmd_fail(c, "54000", "too many open cursors and portals");
			break;
		}
		struct pg_portal *p = pg_portal_new(c, k.t[1].v, q);
		p->cursor = true;
		p->hold = hold;
		p->text_only = true;
		if (pg_portal_columns(p)) {
			pg_portal_error(p, 0, p->sql);
			pg_portal_free(p);
			rc = -1;
			break;
		}
		portal_add(c, p);
		pg_put_command_complete(&c->out, "DECLARE CURSOR");
		break;
	}
	case CMD_FETCH:
	case CMD_MOVE: {
		int64_t n;
		const char *name;
		if (fetch_args(&k, &n, &name, msg)) {
			rc = cmd_fail(c, strstr(msg, "forward") ? "55000" : "42601", msg);
			break;
		}
		struct pg_portal *p = portal_find(c, name);
		if (!p || !p->cursor) {
			snprintf(msg, sizeof msg, "cursor \"%.64s\" does not exist", name);
			rc = cmd_fail(c, "34000", msg);
			break;
		}
		if (cmd == CMD_FETCH && simple)
			pg_portal_describe(p);
		if (pg_portal_execute(p, n, cmd == CMD_FETCH ? PG_TAG_FETCH : PG_TAG_MOVE))
			rc = -1;
		break;
	}
	case CMD_CLOSE:
		if (is_w(&k, 1, "all")) {
			for (struct pg_portal *p = c->portals, *nx; p; p = nx) {
				nx = p->next;
				if (p->cursor)
					portal_drop(c, p);
			}
		} else {
			struct pg_portal *p = k.n >= 2 ? portal_find(c, k.t[1].v) : NULL;
			if (!p || !p->cursor) {
				snprintf(msg, sizeof msg, "cursor \"%.64s\" does not exist",
					 k.n >= 2 ? k.t[1].v : "");
				rc = cmd_fail(c, "34000", msg);
				break;
			}
			portal_drop(c, p);
		}
		pg_put_command_complete(&c->out, "CLOSE CURSOR");
		break;
	case CMD_NONE:
		break;
	}
done:
	toks_release(&k);
	return rc;
}

/* In a failed block only these end it. */
static bool allowed_in_failed(enum cmd cmd)
{
	return cmd == CMD_ROLLBACK || cmd == CMD_COMMIT || cmd == CMD_ROLLBACK_TO;
}

static void refuse_failed(struct pg_conn *c)
{
	pg_conn_error(c, "ERROR", "25P02",
		      "current transaction is aborted, commands ignored until end of transaction "
		      "block", 0);
}

/* ---- simple query --------------------------------------------------------------- */

static void proto_fail(struct pg_conn *c, const char *msg);

static void on_error(struct pg_conn *c)
{
	if (c->tx == PG_TX_BLOCK)
		c->tx = PG_TX_FAILED;
}

/* Runs one statement of a simple query (sql is a NUL-terminated copy).  0 or -1. */
static int simple_statement(struct pg_conn *c, const char *sql, size_t base, const char *whole)
{
	enum cmd cmd = classify(sql);
	if (c->tx == PG_TX_FAILED && !allowed_in_failed(cmd)) {
		refuse_failed(c);
		return -1;
	}
	if (cmd != CMD_NONE)
		return run_command(c, cmd, sql, true);
	struct pg_portal *p = pg_portal_new(c, "", sql);
	p->text_only = true;
	p->whole = whole;
	p->base = base;
	int rc = pg_portal_columns(p);
	if (rc) {
		pg_portal_error(p, base, whole);
		pg_portal_free(p);
		return -1;
	}
	if (p->ncols > 0)
		pg_portal_describe(p);
	rc = pg_portal_execute(p, 0, PG_TAG_QUERY);
	pg_portal_free(p);
	return rc ? -1 : 0;
}

static void simple_query(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_query q;
	char err[TN_ERRLEN];
	if (pg_parse_query(m, &q, err)) {
		proto_fail(c, err);
		return;
	}
	/* the message buffer is the reader's: copy the text */
	char *whole = xmalloc(q.len + 1);
	memcpy(whole, q.sql, q.len);
	whole[q.len] = 0;
	size_t pos = 0;
	bool any = false;
	while (pos < q.len && !c->io_failed) {
		size_t st, en;
		size_t next = query_next_statement(whole + pos, q.len - pos, &st, &en);
		if (st < en) {
			any = true;
			char *stmt = xmalloc(en - st + 1);
			memcpy(stmt, whole + pos + st, en - st);
			stmt[en - st] = 0;
			int rc = simple_statement(c, stmt, pos + st, whole);
			free(stmt);
			if (rc) {
				on_error(c);
				break;
			}
		}
		if (next == 0)
			break;
		pos += next;
	}
	if (!any)
		pg_put_empty_query(&c->out);
	free(whole);
	pg_put_ready(&c->out, c->tx);
	pg_conn_flush(c);
}

/* ---- extended protocol ---------------------------------------------------------- */

/* A malformed protocol message: FATAL 08P01, and the session ends. */
static void proto_fail(struct pg_conn *c, const char *msg)
{
	pg_conn_error(c, "FATAL", "08P01", msg, 0);
	pg_conn_flush(c);
	c->io_failed = true;
}

static int ext_fail(struct pg_conn *c, const char *sqlstate, const char *msg)
{
	pg_conn_error(c, "ERROR", sqlstate, msg, 0);
	c->skip_to_sync = true;
	on_error(c);
	return -1;
}

/*
 * A describe that failed on a type (42883, 42804, 22P02, 22018) with
 * parameters whose type neither the client nor the statement gives
 * (`SELECT $1 + 1`: DuckDB probes them as text, and + has no text
 * candidate): PostgreSQL infers integer there.  Runs
 * the describe again with those typed INTEGER (NULL values; the others
 * as declared or described).  Returns the new describe portal with
 * as_int[i] set for the parameters typed so (caller frees both), or NULL
 * (then the first describe's error stands).
 */
static struct pg_portal *describe_open_as_int(struct pg_conn *c, struct pg_portal *d,
					      const struct pg_parse *ps, const char *sql,
					      bool **as_int)
{
	size_t np = d->ndescribed, nopen = 0;
	/* only a type error (no candidate function, a mismatch, a failed cast) */
	const char *state = pg_portal_sqlstate(d);
	if (np == 0 || atomic_load(&d->cancel) ||
	    (strcmp(state, "42883") && strcmp(state, "42804") && strcmp(state, "22P02") &&
	     strcmp(state, "22018")))
		return NULL;
	bool *open = xcalloc(np, sizeof *open);
	struct query_param *params = xcalloc(np, sizeof *params);
	for (size_t i = 0; i < np; i++) {
		uint32_t oid = i < ps->nparams ? pg_parse_oid(ps, i) : 0;
		if (oid) {
			params[i].type = pgtype_duckdb_name(oid);
		} else if (!strcmp(d->described[i], "UNKNOWN")) {
			params[i].type = "INTEGER";
			open[i] = true;
			nopen++;
		} else {
			params[i].type = d->described[i];
		}
	}
	struct pg_portal *d2 = NULL;
	if (nopen) {
		d2 = pg_portal_new(c, "", sql);
		d2->params = params;
		d2->nparams = np;
		params = NULL;
		if (pg_portal_describe_only(d2)) {
			pg_portal_free(d2);
			d2 = NULL;
		}
	}
	free(params);
	if (d2) {
		*as_int = open;
		return d2;
	}
	free(open);
	return NULL;
}

static void ext_parse(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_parse ps;
	char err[TN_ERRLEN];
	if (pg_parse_parse(m, &ps, err)) {
		proto_fail(c, err);
		return;
	}
	struct pg_stmt *old = stmt_find(c, ps.name);
	if (old && ps.name[0]) {
		char msg[TN_ERRLEN];
		snprintf(msg, sizeof msg, "prepared statement \"%.64s\" already exists", ps.name);
		ext_fail(c, "42P05", msg);
		return;
	}
	if (!old && c->nstmts >= PG_MAX_STMTS) {
		ext_fail(c, "54000", "too many prepared statements: deallocate some");
		return;
	}
	size_t st, en;
	size_t next = query_next_statement(ps.sql, ps.sql_len, &st, &en);
	if (next < ps.sql_len) {
		size_t st2, en2;
		query_next_statement(ps.sql + next, ps.sql_len - next, &st2, &en2);
		if (st2 < en2) {
			ext_fail(c, "42601", "cannot insert multiple commands into a prepared statement");
			return;
		}
	}
	char *sql = xmalloc(en - st + 1);
	memcpy(sql, ps.sql + st, en - st);
	sql[en - st] = 0;
	struct pg_stmt *s = xcalloc(1, sizeof *s);
	s->name = xstrdup(ps.name);
	s->sql = sql;
	s->session_cmd = classify(sql) != CMD_NONE || !sql[0];
	size_t np = ps.nparams;
	struct pg_portal *d = NULL;
	bool *as_int = NULL;  /* parameters typed INTEGER by describe_open_as_int */
	if (!s->session_cmd) {
		/* a describe run: errors surface at Parse, and Describe has the answer */
		d = pg_portal_new(c, "", sql);
		struct pg_portal *d2 = NULL;
		if (pg_portal_describe_only(d) &&
		    (d2 = describe_open_as_int(c, d, &ps, sql, &as_int)) != NULL) {
			pg_portal_free(d);
			d = d2;
		}
		if (d->rc) {
			pg_portal_error(d, st, ps.sql);
			pg_portal_free(d);
			stmt_free(s);
			c->skip_to_sync = true;
			on_error(c);
			return;
		}
		if (d->ndescribed > np)
			np = d->ndescribed;
		s->described = true;
		if (d->have_cols) {
			s->cols = d->cols;
			s->ncols = d->ncols;
			d->cols = NULL;
			d->ncols = 0;
		}
	}
	if (np > 65535) {
		pg_portal_free(d);
		free(as_int);
		stmt_free(s);
		ext_fail(c, "54000", "more than 65535 parameters");
		return;
	}
	s->nparams = (uint16_t)np;
	s->oids = xcalloc(np ? np : 1, sizeof *s->oids);
	for (size_t i = 0; i < np; i++) {
		s->oids[i] = i < ps.nparams ? pg_parse_oid(&ps, i) : 0;
		if (s->oids[i] == 0 && d && i < d->ndescribed && strcmp(d->described[i], "UNKNOWN")) {
			struct pg_typeinfo t;
			pgtype_from_duckdb_name(d->described[i], &t);
			s->oids[i] = t.oid;
		}
		if (s->oids[i] == 0 && as_int && d && i < d->ndescribed && as_int[i])
			s->oids[i] = 23;  /* int4, as PostgreSQL infers for $1 + 1 */
	}
	free(as_int);
	pg_portal_free(d);
	if (old)
		stmt_drop(c, old);
	s->next = c->stmts;
	c->stmts = s;
	c->nstmts++;
	pg_put_parse_complete(&c->out);
}

/* DuckDB's blob text ("ab\x00") -> the raw bytes, in place; the new length. */
static size_t blob_text_decode(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		int h1, h2;
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		    (h1 = hex_digit(s[i + 2])) >= 0 && (h2 = hex_digit(s[i + 3])) >= 0) {
			s[o++] = (char)(h1 << 4 | h2);
			i += 4;
		} else {
			s[o++] = s[i++];
		}
	}
	return o;
}

/* The value of parameter i of a Bind as the query layer takes it. */
static int bind_value(const struct pg_bind *b, size_t i, uint32_t oid, struct query_param *qp,
		      char *msg)
{
	char err[TN_ERRLEN];
	struct buf v = BUF_INIT(PG_SESSION_MAX_MESSAGE * 2u);
	int rc;
	qp->type = pgtype_duckdb_name(oid);
	if (b->params[i].len < 0)
		return 0;
	if (pg_bind_param_format(b, i) == PG_FMT_BINARY) {
		if (oid == 0) {
			snprintf(msg, TN_ERRLEN, "parameter $%zu: binary format needs a declared type",
				 i + 1);
			return TN_EINVAL;
		}
		rc = pgtype_binary_in(oid, b->params[i].p, (size_t)b->params[i].len, &v, err);
	} else {
		rc = pgtype_text_in(oid, (const char *)b->params[i].p, (size_t)b->params[i].len, &v,
				    err);
	}
	if (rc) {
		snprintf(msg, TN_ERRLEN, "parameter $%zu: %s", i + 1, err);
		buf_release(&v);
		return rc;
	}
	size_t n;
	char *p = buf_detach(&v, &n);
	if (oid == PG_OID_BYTEA)
		n = blob_text_decode(p, n);  /* BLOB parameters are raw bytes */
	qp->p = p;
	qp->n = n;
	return 0;
}

static void ext_bind(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_bind b;
	char err[TN_ERRLEN], msg[TN_ERRLEN];
	if (pg_parse_bind(m, &b, err)) {
		proto_fail(c, err);
		return;
	}
	struct pg_stmt *s = stmt_find(c, b.stmt);
	struct query_param *qp = NULL;
	if (!s) {
		snprintf(msg, sizeof msg, "prepared statement \"%.64s\" does not exist", b.stmt);
		ext_fail(c, "26000", msg);
		goto out;
	}
	if (b.nparams != s->nparams) {
		snprintf(msg, sizeof msg, "bind message supplies %u parameters, but prepared "
			 "statement \"%.64s\" requires %u", b.nparams, b.stmt, s->nparams);
		ext_fail(c, "08P01", msg);
		goto out;
	}
	struct pg_portal *old = portal_find(c, b.portal);
	if (old && b.portal[0]) {
		snprintf(msg, sizeof msg, "portal \"%.64s\" already exists", b.portal);
		ext_fail(c, "42P03", msg);
		goto out;
	}
	if (!old && c->nportals >= PG_MAX_PORTALS) {
		ext_fail(c, "54000", "too many open portals and cursors");
		goto out;
	}
	if (s->session_cmd && b.nparams) {
		ext_fail(c, "0A000", "session commands (SET, BEGIN, ...) take no parameters");
		goto out;
	}
	qp = xcalloc(b.nparams ? b.nparams : 1, sizeof *qp);
	for (size_t i = 0; i < b.nparams; i++) {
		int rc = bind_value(&b, i, s->oids[i], &qp[i], msg);
		if (rc) {
			ext_fail(c, rc == TN_EUNSUPPORTED ? "0A000" : "22P02", msg);
			goto out;
		}
	}
	if (s->ncols && b.nresfmt > 1 && b.nresfmt != s->ncols) {
		snprintf(msg, sizeof msg, "bind message has %u result formats but query has %zu "
			 "columns", b.nresfmt, s->ncols);
		ext_fail(c, "08P01", msg);
		goto out;
	}
	if (old)
		portal_drop(c, old);
	struct pg_portal *p = pg_portal_new(c, b.portal, s->sql);
	p->params = qp;
	p->nparams = b.nparams;
	qp = NULL;
	p->nresfmt = b.nresfmt;
	p->resfmt = xcalloc(b.nresfmt ? b.nresfmt : 1, sizeof *p->resfmt);
	for (size_t i = 0; i < b.nresfmt; i++) {
		int f;
		pg_bind_result_format(&b, i, b.nresfmt, &f, err);
		p->resfmt[i] = (int16_t)f;
	}
	p->session_cmd = s->session_cmd;
	portal_add(c, p);
	pg_put_bind_complete(&c->out);
out:
	if (qp)
		for (size_t i = 0; i < b.nparams; i++)
			free((char *)qp[i].p);
	free(qp);
	pg_bind_release(&b);
}

static void describe_show(struct pg_conn *c, const char *sql)
{
	if (classify(sql) == CMD_SHOW) {
		struct pg_field f = { .name = "setting", .type_oid = PG_OID_TEXT, .typlen = -1,
				      .typmod = -1 };
		pg_put_row_description(&c->out, &f, 1);
	} else {
		pg_put_no_data(&c->out);
	}
}

static void ext_describe(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_target t;
	char err[TN_ERRLEN], msg[TN_ERRLEN];
	if (pg_parse_describe(m, &t, err)) {
		proto_fail(c, err);
		return;
	}
	if (t.kind == 'S') {
		struct pg_stmt *s = stmt_find(c, t.name);
		if (!s) {
			snprintf(msg, sizeof msg, "prepared statement \"%.64s\" does not exist", t.name);
			ext_fail(c, "26000", msg);
			return;
		}
		uint32_t *oids = xcalloc(s->nparams ? s->nparams : 1, sizeof *oids);
		for (size_t i = 0; i < s->nparams; i++)
			oids[i] = s->oids[i] ? s->oids[i] : PG_OID_TEXT;
		pg_put_parameter_description(&c->out, oids, s->nparams);
		free(oids);
		if (s->session_cmd) {
			describe_show(c, s->sql);
			return;
		}
		if (s->ncols == 0) {
			pg_put_no_data(&c->out);
			return;
		}
		struct pg_field *f = xcalloc(s->ncols, sizeof *f);
		for (size_t i = 0; i < s->ncols; i++) {
			f[i].name = s->cols[i].name;
			f[i].type_oid = s->cols[i].t.oid;
			f[i].typlen = s->cols[i].t.typlen;
			f[i].typmod = s->cols[i].t.typmod;
			f[i].format = PG_FMT_TEXT;
		}
		pg_put_row_description(&c->out, f, s->ncols);
		free(f);
		return;
	}
	struct pg_portal *p = portal_find(c, t.name);
	if (!p) {
		snprintf(msg, sizeof msg, "portal \"%.64s\" does not exist", t.name);
		ext_fail(c, "34000", msg);
		return;
	}
	if (p->session_cmd) {
		describe_show(c, p->sql);
		return;
	}
	if (c->tx == PG_TX_FAILED) {
		refuse_failed(c);
		c->skip_to_sync = true;
		return;
	}
	if (pg_portal_columns(p)) {
		pg_portal_error(p, 0, p->sql);
		c->skip_to_sync = true;
		on_error(c);
		return;
	}
	pg_portal_describe(p);
}

static void ext_execute(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_execute e;
	char err[TN_ERRLEN], msg[TN_ERRLEN];
	if (pg_parse_execute(m, &e, err)) {
		proto_fail(c, err);
		return;
	}
	struct pg_portal *p = portal_find(c, e.portal);
	if (!p) {
		snprintf(msg, sizeof msg, "portal \"%.64s\" does not exist", e.portal);
		ext_fail(c, "34000", msg);
		return;
	}
	if (p->session_cmd && !p->sql[0]) {
		pg_put_empty_query(&c->out);
		return;
	}
	if (p->session_cmd) {
		enum cmd cmd = classify(p->sql);
		if (c->tx == PG_TX_FAILED && !allowed_in_failed(cmd)) {
			refuse_failed(c);
			c->skip_to_sync = true;
			return;
		}
		char *sql = xstrdup(p->sql);
		/* the command may drop portals (DISCARD, CLOSE, COMMIT): p is not used after */
		if (run_command(c, cmd, sql, false)) {
			c->skip_to_sync = true;
			on_error(c);
		}
		free(sql);
		return;
	}
	if (c->tx == PG_TX_FAILED) {
		refuse_failed(c);
		c->skip_to_sync = true;
		return;
	}
	if (pg_portal_execute(p, e.max_rows, PG_TAG_QUERY)) {
		c->skip_to_sync = true;
		on_error(c);
	}
}

static void ext_close(struct pg_conn *c, const struct pg_msg *m)
{
	struct pg_target t;
	char err[TN_ERRLEN];
	if (pg_parse_close(m, &t, err)) {
		proto_fail(c, err);
		return;
	}
	if (t.kind == 'S') {
		struct pg_stmt *s = stmt_find(c, t.name);
		if (s)
			stmt_drop(c, s);
	} else {
		struct pg_portal *p = portal_find(c, t.name);
		if (p)
			portal_drop(c, p);
	}
	pg_put_close_complete(&c->out);
}

static void ext_sync(struct pg_conn *c)
{
	c->skip_to_sync = false;
	if (c->tx == PG_TX_IDLE) {
		/* the implicit transaction ends: its portals go (cursors WITH HOLD stay) */
		for (struct pg_portal *p = c->portals, *nx; p; p = nx) {
			nx = p->next;
			if (!p->cursor)
				portal_drop(c, p);
		}
	}
	pg_put_ready(&c->out, c->tx);
	pg_conn_flush(c);
}

/* ---- the loop --------------------------------------------------------------------- */

void pg_session_run(struct pg_conn *c)
{
	const struct tn_config *cfg = c->srv->d.cfg;
	int64_t idle_ms = cfg->pg_idle_timeout_s * 1000;
	char err[TN_ERRLEN], msg[TN_ERRLEN];
	struct pg_msg m;
	while (!c->io_failed) {
		int rc = pg_conn_next(c, &m, idle_ms > 0x7fffffff ? 0x7fffffff : (int)idle_ms, err);
		if (rc == 0) {
			pg_conn_error(c, "FATAL", "57P05",
				      "terminating connection due to idle-session timeout", 0);
			pg_conn_flush(c);
			return;
		}
		if (rc == PG_CONN_CLOSED)
			return;
		if (rc < 0) {
			pg_conn_error(c, "FATAL", rc == TN_ETOOBIG ? "54000" : "08P01", err, 0);
			pg_conn_flush(c);
			return;
		}
		if (c->skip_to_sync && m.type != PG_FE_SYNC && m.type != PG_FE_TERMINATE)
			continue;
		switch (m.type) {
		case PG_FE_QUERY:
			simple_query(c, &m);
			break;
		case PG_FE_PARSE:
			ext_parse(c, &m);
			break;
		case PG_FE_BIND:
			ext_bind(c, &m);
			break;
		case PG_FE_DESCRIBE:
			ext_describe(c, &m);
			break;
		case PG_FE_EXECUTE:
			ext_execute(c, &m);
			break;
		case PG_FE_CLOSE:
			ext_close(c, &m);
			break;
		case PG_FE_FLUSH:
		case PG_FE_SYNC:
			if (pg_parse_empty(&m, err)) {
				proto_fail(c, err);
				break;
			}
			if (m.type == PG_FE_SYNC)
				ext_sync(c);
			else
				pg_conn_flush(c);
			break;
		case PG_FE_TERMINATE:
			return;
		case PG_FE_COPY_DATA:
		case PG_FE_COPY_DONE:
		case PG_FE_COPY_FAIL:
			/* outside COPY: ignored, as PostgreSQL does */
			break;
		case PG_FE_FUNCTION_CALL:
			pg_conn_error(c, "ERROR", "0A000", "the function call protocol is not supported",
				      0);
			on_error(c);
			pg_put_ready(&c->out, c->tx);
			pg_conn_flush(c);
			break;
		default:
			snprintf(msg, sizeof msg, "invalid frontend message type %d",
				 (unsigned char)m.type);
			pg_conn_error(c, "FATAL", "08P01", msg, 0);
			pg_conn_flush(c);
			return;
		}
	}
}

void pg_session_release(struct pg_conn *c)
{
	while (c->portals)
		portal_drop(c, c->portals);
	while (c->stmts)
		stmt_drop(c, c->stmts);
	setting_reset(c, NULL);
}
