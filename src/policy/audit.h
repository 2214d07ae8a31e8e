/*
 * audit.h - the audit trail: who did what, tamper-evident.
 *
 * One JSON object per line in <lake>/log/audit/YYYY/MM/DD/audit.jsonl (the
 * log zone; the crawler makes it the table log.audit, which only admins
 * may read):
 *   {"ts": "2026-11-22T05:40:39.123Z", "seq": 42, "event": "query",
 *    "principal": "analyst", ...fields..., "prev": "<sha256 hex>"}
 * "prev" is the SHA-256 of the previous line's bytes (without its
 * newline), across days and restarts; the first line's is 64 zeros.  So
 * editing, inserting or deleting any line breaks the chain at the next
 * one, which audit_verify names.  Lines are never rewritten.  An event is
 * in the journal (a shared file mapping, so a killed process keeps it)
 * when audit_log returns; a writer thread appends the lines to the day
 * files within about a millisecond, and the next open appends any the
 * files lack.  Secrets never go in: callers pass names, ids, SQL and
 * outcomes, not passwords, tokens or key secrets.
 *
 * Threads: audit_log and audit_flush may be called from any thread.
 */
#ifndef TN_AUDIT_H
#define TN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct audit;
struct buf;

/*
 * Opens the trail under dir (the absolute audit folder, created if
 * missing), continuing the chain from its last line, with its journal at
 * the path journal (created if missing; <lake>/.tarn/audit.journal).
 * Lines the journal holds past the last one of the files are appended
 * first; a torn last line is cut if the journal holds it.  TN_ECORRUPT if
 * the last line does not parse, or is torn and not in the journal (the
 * chain would be continued from garbage).  Starts the writer thread.
 */
int audit_open(const char *dir, const char *journal, struct audit **out, char *err);
/* Writes every line, fsyncs, empties the journal and closes.  Accepts NULL. */
void audit_close(struct audit *a);

/*
 * Returns once every line appended before the call is in its day file
 * (readers of the files see it), or TN_ETIMEDOUT after 1 s (the disk
 * refuses the writes).  a may be NULL.
 */
int audit_flush(struct audit *a, char *err);

/* Holds the writer back (lines stay in the journal only) or lets it go: tests. */
void audit_hold(struct audit *a, bool hold);

/*
 * Appends one event: event is a short name ("auth", "query", "grant",
 * ...); principal may be "" (an unauthenticated caller); fields (may be
 * NULL) is an object whose members are added, and is stolen.  An event
 * that cannot be recorded (the writer a whole journal half behind for
 * 1 s) is logged and counted, never fatal to the caller.  a may be
 * NULL (then nothing happens).
 */
void audit_log(struct audit *a, const char *event, const char *principal, json_t *fields);

/* Lines written by this process that could not be written (disk full, ...). */
uint64_t audit_failures(struct audit *a);

/*
 * Checks the whole chain under dir, file by file in date order.  Returns
 * 0 with *lines counted, or TN_ECORRUPT naming the first bad line
 * ("log/audit/2026/11/22/audit.jsonl line 7: prev does not match line 6").
 */
int audit_verify(const char *dir, uint64_t *lines, char *err);

/* Appends the last n lines of the trail (newest last) to out. */
int audit_tail(const char *dir, size_t n, struct buf *out, char *err);

#endif
