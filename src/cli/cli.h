/*
 * cli.h - client commands of the tarn binary.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` where argv[0] is
 * the command name; it returns the process exit code (0 ok, 1 failure,
 * 2 usage).  Client commands talk to the server's REST API at TARN_URL
 * (default http://127.0.0.1:7070) with TARN_TOKEN, or TARN_USER and
 * TARN_PASSWORD; they print one clear line to stderr on failure.
 * src/main.c holds the table that dispatches to them.
 */
#ifndef TN_CLI_H
#define TN_CLI_H

int cmd_ingest(int argc, char **argv);   /* tarn ingest STREAM [FILE] */
int cmd_streams(int argc, char **argv);  /* tarn streams [NAME] */
int cmd_flush(int argc, char **argv);    /* tarn flush STREAM */
int cmd_token(int argc, char **argv);    /* tarn token [--ttl SECONDS] */
int cmd_gen(int argc, char **argv);      /* tarn gen immunizations --count N [--seed S] */
int cmd_crawl(int argc, char **argv);    /* tarn crawl [ZONE|PREFIX] [--full] */
int cmd_tables(int argc, char **argv);   /* tarn tables [ZONE] */
int cmd_describe(int argc, char **argv); /* tarn describe DB.TABLE */
int cmd_tag(int argc, char **argv);      /* tarn tag DB.TABLE.COLUMN pii|none|auto */
int cmd_sql(int argc, char **argv);      /* tarn sql [--format F] "SQL" */
int cmd_user(int argc, char **argv);     /* tarn user list|add|passwd|... */
int cmd_role(int argc, char **argv);     /* tarn role list|add|remove|grant|revoke */
int cmd_key(int argc, char **argv);      /* tarn key create|disable|enable|delete */
int cmd_grant(int argc, char **argv);    /* tarn grant PRINCIPAL select|clearance ... */
int cmd_revoke(int argc, char **argv);   /* tarn revoke GRANT_ID */
int cmd_grants(int argc, char **argv);   /* tarn grants [PRINCIPAL] */
int cmd_mask(int argc, char **argv);     /* tarn mask TAG KIND */
int cmd_audit(int argc, char **argv);    /* tarn audit verify|tail DIR */

#endif
