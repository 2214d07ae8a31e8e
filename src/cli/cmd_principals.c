/*
 * cmd_principals.c - `tarn user`, `tarn role`, `tarn key`, `tarn grant`,
 * `tarn revoke`, `tarn grants`, `tarn mask`: principals and grants over
 * the REST API (admins only).
 *
 *   tarn user list | add NAME | passwd NAME | disable NAME | enable NAME | remove NAME
 *   tarn role list | add NAME | remove NAME | grant ROLE MEMBER | revoke ROLE MEMBER
 *   tarn key create USER | disable KEY_ID | enable KEY_ID | delete KEY_ID
 *
 * A password comes from standard input when it is not a terminal (one
 * line); with none, the server generates one and it is printed once.  A new
 * key's secret is printed once; the server keeps it sealed.
 */
#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/banned.h"

static const char user_usage[] =
	"usage: tarn user list | add NAME | passwd NAME | disable NAME | enable NAME | unlock NAME |\n"
	"                 remove NAME\n"
	"\n"
	"Manages the lake's users (admins only).  add and passwd read the password from\n"
	"standard input when it is not a terminal (the first line); on a terminal, add\n"
	"prints a generated password once.  Removing a user removes its tokens, keys and\n"
	"role memberships; disabling refuses it at once.  After 10 failed logins in 10\n"
	"minutes a user name (or a client address) is locked for 15 minutes; unlock\n"
	"lifts it.\n"
	"\n"
	"examples:\n"
	"  tarn user add analyst                  # prints a generated password\n"
	"  echo 'a-long-secret' | tarn user passwd analyst\n";

static const char role_usage[] =
	"usage: tarn role list | add NAME | remove NAME | grant ROLE MEMBER | revoke ROLE MEMBER\n"
	"\n"
	"Manages roles (admins only).  A member is a user or another role: roles nest.\n"
	"Built in: admin (its members are admins) and raw_reader.\n"
	"\n"
	"example:\n"
	"  tarn role add epidemiology && tarn role grant raw_reader epidemiology\n"
	"  tarn role grant epidemiology epi\n";

static const char key_usage[] =
	"usage: tarn key create USER | disable KEY_ID | enable KEY_ID | delete KEY_ID\n"
	"\n"
	"Access keys for the S3, Kinesis and Firehose APIs (AWS Signature V4), admins\n"
	"only.  create prints the key id and the secret once (the server keeps the\n"
	"secret sealed with the lake's master key); disable and delete take effect at\n"
	"once.\n";

/* A JSON call; prints the server's error.  doc may be NULL. */
static int call(const char *method, const struct buf *path, json_t *body, json_t **doc)
{
	char err[TN_ERRLEN];
	struct client c;
	int rc = 0;
	if (client_init(&c, err) || client_json(&c, method, path->data, body, doc, NULL, err))
		rc = cli_error("%s", err);
	client_release(&c);
	json_decref(body);
	return rc;
}

static void path_of(struct buf *b, const char *a, const char *x, const char *c, const char *y)
{
	buf_puts(b, a);
	if (x)
		client_path_escape(b, x);
	if (c)
		buf_puts(b, c);
	if (y)
		client_path_escape(b, y);
}

/* A password from a non-terminal stdin (its first line); *given false on a terminal or empty input. */
static int stdin_password(char *out, size_t n, bool *given)
{
	*given = false;
	if (isatty(STDIN_FILENO))
		return 0;
	if (!fgets(out, (int)n, stdin))
		return 0;  /* empty input: as on a terminal */
	out[strcspn(out, "\r\n")] = 0;
	*given = out[0] != 0;
	return 0;
}

static void print_list(json_t *list, bool users)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		printf("%-24s", json_string_value(json_object_get(e, "name")));
		json_t *roles = json_object_get(e, "roles");
		size_t k;
		json_t *r;
		printf(" roles: ");
		if (json_array_size(roles) == 0)
			printf("-");
		json_array_foreach(roles, k, r)
			printf("%s%s", k ? "," : "", json_string_value(r));
		if (json_is_true(json_object_get(e, "admin")))
			printf("  admin");
		if (users) {
			if (json_is_true(json_object_get(e, "root")))
				printf("  root");
			if (json_is_true(json_object_get(e, "disabled")))
				printf("  DISABLED");
			json_t *keys = json_object_get(e, "keys");
			if (json_array_size(keys)) {
				printf("  keys: ");
				json_array_foreach(keys, k, r)
					printf("%s%s", k ? ", " : "", json_string_value(r));
			}
		}
		printf("\n");
	}
}

int cmd_user(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(user_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *verb = argv[1], *name = argc > 2 ? argv[2] : NULL;
	struct buf path = BUF_INIT(0);
	json_t *doc = NULL;
	int rc;
	if (!strcmp(verb, "list") && argc == 2) {
		buf_puts(&path, "/v1/users");
		if ((rc = call("GET", &path, NULL, &doc)) == 0)
			print_list(json_object_get(doc, "users"), true);
	} else if (!name || argc != 3) {
		rc = cli_usage_error(user_usage, "'%s' takes one user name", verb);
	} else if (!strcmp(verb, "add") || !strcmp(verb, "passwd")) {
		char pw[1100];
		bool given;
		if ((rc = stdin_password(pw, sizeof pw, &given)))
			goto out;
		if (!strcmp(verb, "add")) {
			buf_puts(&path, "/v1/users");
			json_t *body = json_pack("{s:s}", "name", name);
			if (given)
				json_object_set_new(body, "password", json_string(pw));
			if ((rc = call("POST", &path, body, &doc)) == 0) {
				const char *gen = json_string_value(json_object_get(doc, "password"));
				if (gen)
					printf("user %s added; password (shown once): %s\n", name, gen);
				else
					printf("user %s added\n", name);
			}
		} else if (!given) {
			rc = cli_error("passwd reads the new password from standard input: "
				       "echo '...' | tarn user passwd %s", name);
		} else {
			path_of(&path, "/v1/users/", name, NULL, NULL);
			rc = call("PUT", &path, json_pack("{s:s}", "password", pw), NULL);
			if (rc == 0)
				printf("password of %s changed; its tokens are revoked\n", name);
		}
		explicit_bzero(pw, sizeof pw);
	} else if (!strcmp(verb, "disable") || !strcmp(verb, "enable")) {
		path_of(&path, "/v1/users/", name, NULL, NULL);
		rc = call("PUT", &path, json_pack("{s:b}", "disabled", !strcmp(verb, "disable")), NULL);
	} else if (!strcmp(verb, "unlock")) {
		path_of(&path, "/v1/users/", name, NULL, NULL);
		rc = call("PUT", &path, json_pack("{s:b}", "unlock", 1), NULL);
	} else if (!strcmp(verb, "remove")) {
		path_of(&path, "/v1/users/", name, NULL, NULL);
		rc = call("DELETE", &path, NULL, NULL);
	} else {
		rc = cli_usage_error(user_usage, "unknown verb '%s'", verb);
	}
out:
	json_decref(doc);
	buf_release(&path);
	return rc;
}

int cmd_role(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(role_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *verb = argv[1];
	struct buf path = BUF_INIT(0);
	json_t *doc = NULL;
	int rc;
	if (!strcmp(verb, "list") && argc == 2) {
		buf_puts(&path, "/v1/roles");
		if ((rc = call("GET", &path, NULL, &doc)) == 0)
			print_list(json_object_get(doc, "roles"), false);
	} else if (!strcmp(verb, "add") && argc == 3) {
		buf_puts(&path, "/v1/roles");
		rc = call("POST", &path, json_pack("{s:s}", "name", argv[2]), NULL);
	} else if (!strcmp(verb, "remove") && argc == 3) {
		path_of(&path, "/v1/roles/", argv[2], NULL, NULL);
		rc = call("DELETE", &path, NULL, NULL);
	} else if ((!strcmp(verb, "grant") || !strcmp(verb, "revoke")) && argc == 4) {
		path_of(&path, "/v1/roles/", argv[2], "/members/", argv[3]);
		rc = call(!strcmp(verb, "grant") ? "PUT" : "DELETE", &path, NULL, NULL);
	} else {
		rc = cli_usage_error(role_usage, "unknown verb or wrong arguments: '%s'", verb);
	}
	json_decref(doc);
	buf_release(&path);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(key_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *verb = argv[1];
	struct buf path = BUF_INIT(0);
	json_t *doc = NULL;
	int rc;
	if (argc != 3) {
		rc = cli_usage_error(key_usage, "'%s' takes one argument", verb);
	} else if (!strcmp(verb, "create")) {
		path_of(&path, "/v1/users/", argv[2], "/keys", NULL);
		if ((rc = call("POST", &path, NULL, &doc)) == 0)
			printf("access key of %s (the secret is shown once)\n"
			       "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n",
			       argv[2], json_string_value(json_object_get(doc, "key_id")),
			       json_string_value(json_object_get(doc, "secret")));
	} else if (!strcmp(verb, "disable") || !strcmp(verb, "enable")) {
		path_of(&path, "/v1/keys/", argv[2], NULL, NULL);
		rc = call("PUT", &path, json_pack("{s:b}", "disabled", !strcmp(verb, "disable")), NULL);
	} else if (!strcmp(verb, "delete")) {
		path_of(&path, "/v1/keys/", argv[2], NULL, NULL);
		rc = call("DELETE", &path, NULL, NULL);
	} else {
		rc = cli_usage_error(key_usage, "unknown verb '%s'", verb);
	}
	json_decref(doc);
	buf_release(&path);
	return rc;
}

/* ---- tarn grant, revoke, grants, mask ---------------------------------------- */

static const char grant_usage[] =
	"usage: tarn grant PRINCIPAL select DB|DB.TABLE|tag:TAG [--columns a,b | --exclude a,b]\n"
	"                  [--where EXPR]\n"
	"       tarn grant PRINCIPAL clearance TAG\n"
	"       tarn grant PRINCIPAL stream STREAM|'*'\n"
	"       tarn grant PRINCIPAL write ZONE|ZONE/PREFIX\n"
	"       tarn grant PRINCIPAL read|list|delete ZONE|ZONE/PREFIX\n"
	"       tarn revoke GRANT_ID\n"
	"       tarn grants [PRINCIPAL]\n"
	"       tarn mask TAG null|redact|partial|hash\n"
	"\n"
	"Grants (admins only; nothing is readable by default).  select lets a user or a\n"
	"role read a whole zone, one table, or every table with a column tagged TAG,\n"
	"optionally only some columns and only the rows where EXPR (SQL over the\n"
	"table's columns) holds.  Grants add up.  Without the clearance of a tag, its\n"
	"columns read masked (pii: '***' unless `tarn mask pii ...` says otherwise).\n"
	"stream lets a principal put records into a stream (any API; '*': every\n"
	"stream).  read, write, list and delete act on objects (REST /v1/objects, S3)\n"
	"under a zone or a key prefix, named by zone (drop/team/) or folder\n"
	"(04-user-drop-zone/team/); write on a whole warehouse zone also lets it\n"
	"CREATE, INSERT and DROP tables there.  Everyone owns data/user/NAME/ and\n"
	"02-transient-zone/01-athena/NAME/; the raw zone is never overwritten.\n"
	"\n"
	"examples:\n"
	"  tarn grant analyst select gold\n"
	"  tarn grant epidemiology select raw.immunizations --where \"state = 'DE'\"\n"
	"  tarn grant steward clearance pii\n"
	"  tarn grant analyst read drop/team/ && tarn grant analyst list drop/team/\n";

/* ["a","b"] from "a,b" */
static json_t *name_list(const char *csv)
{
	json_t *a = json_array();
	const char *p = csv;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + (c ? 1 : 0);
	}
	return a;
}

int cmd_grant(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(grant_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (argc < 4)
		return cli_usage_error(grant_usage, "grant takes PRINCIPAL, a kind and a target");
	const char *who = argv[1], *kind = argv[2], *target = argv[3];
	json_t *body = json_pack("{s:s}", "principal", who);
	if ((!strcmp(kind, "clearance") || !strcmp(kind, "stream") || !strcmp(kind, "write") ||
	     !strcmp(kind, "read") || !strcmp(kind, "list") || !strcmp(kind, "delete")) &&
	    argc == 4) {
		json_object_set_new(body, kind, json_string(target));
	} else if (!strcmp(kind, "select")) {
		json_object_set_new(body, "select", json_string(target));
		for (int i = 4; i < argc; i++) {
			const char *opt = argv[i];
			if (i + 1 >= argc) {
				json_decref(body);
				return cli_usage_error(grant_usage, "%s needs a value", opt);
			}
			if (!strcmp(opt, "--columns") || !strcmp(opt, "--exclude")) {
				json_object_set_new(body, opt + 2, name_list(argv[++i]));
			} else if (!strcmp(opt, "--where")) {
				json_object_set_new(body, "row_filter", json_string(argv[++i]));
			} else {
				json_decref(body);
				return cli_usage_error(grant_usage, "unknown option '%s'", opt);
			}
		}
	} else {
		json_decref(body);
		return cli_usage_error(grant_usage, "the kind is select, clearance, stream, write, "
				       "read, list or delete, "
				       "not '%s'", kind);
	}
	struct buf path = BUF_INIT(0);
	json_t *doc = NULL;
	buf_puts(&path, "/v1/grants");
	int rc = call("POST", &path, body, &doc);
	if (rc == 0)
		printf("grant %lld\n", (long long)json_integer_value(json_object_get(doc, "id")));
	json_decref(doc);
	buf_release(&path);
	return rc;
}

int cmd_revoke(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(grant_usage, argc != 2 ? stderr : stdout);
		return argc != 2 ? 2 : 0;
	}
	struct buf path = BUF_INIT(0);
	path_of(&path, "/v1/grants/", argv[1], NULL, NULL);
	int rc = call("DELETE", &path, NULL, NULL);
	buf_release(&path);
	return rc;
}

int cmd_grants(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
		fputs(grant_usage, argc > 2 ? stderr : stdout);
		return argc > 2 ? 2 : 0;
	}
	struct buf path = BUF_INIT(0);
	json_t *doc = NULL;
	buf_puts(&path, "/v1/grants");
	if (argc == 2) {
		buf_puts(&path, "?principal=");
		client_path_escape(&path, argv[1]);
	}
	int rc = call("GET", &path, NULL, &doc);
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(doc, "grants"), i, g) {
		static const char *const kinds[] = { "select", "clearance", "stream", "write",
						     "read", "list", "delete" };
		const char *kind = "?", *target = "";
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
			if (json_string_value(json_object_get(g, kinds[k]))) {
				kind = kinds[k];
				target = json_string_value(json_object_get(g, kinds[k]));
			}
		printf("%-6lld %-20s %s %s", (long long)json_integer_value(json_object_get(g, "id")),
		       json_string_value(json_object_get(g, "principal")), kind, target);
		json_t *cols = json_object_get(g, "columns"), *excl = json_object_get(g, "exclude");
		if (cols || excl) {
			char *t = json_dumps(cols ? cols : excl, JSON_COMPACT);
			printf("  %s %s", cols ? "columns" : "except", t ? t : "");
			free(t);
		}
		const char *f = json_string_value(json_object_get(g, "row_filter"));
		if (f)
			printf("  where %s", f);
		printf("\n");
	}
	json_decref(doc);
	buf_release(&path);
	return rc;
}

int cmd_mask(int argc, char **argv)
{
	if (argc != 3) {
		fputs(grant_usage, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	struct buf path = BUF_INIT(0);
	path_of(&path, "/v1/masks/", argv[1], NULL, NULL);
	int rc = call("PUT", &path, json_pack("{s:s}", "mask", argv[2]), NULL);
	buf_release(&path);
	return rc;
}
