/*
 * test_audit.c - the hash-chained audit trail: appends, verification,
 * continuation across reopenings, and every kind of tampering detected at
 * the right line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "policy/audit.h"
#include "harness.h"

static void write_events(const char *dir, int n, int base)
{
	struct audit *a;
	char err[TN_ERRLEN];
	int rc = audit_open(dir, &a, err);
	if (rc)
		fprintf(stderr, "open: %s\n", err);
	CHECK_INT(rc, 0);
	for (int i = 0; i < n; i++)
		audit_log(a, "query", "alice", json_pack("{s:i, s:s}", "n", base + i, "sql",
							 "SELECT 1"));
	CHECK_INT((int)audit_failures(a), 0);
	audit_close(a);
}

/* The path of today's file under dir. */
static void today(const char *dir, char *out, size_t n)
{
	struct utc u;
	time_utc(time_now_ms(), &u);
	snprintf(out, n, "%s/%04d/%02d/%02d/audit.jsonl", dir, u.year, u.month, u.day);
}

static void rewrite(const char *path, const char *from, const char *to)
{
	struct buf b = BUF_INIT(0), o = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(os_read_file(path, 1 << 20, &b, err), 0);
	char *hit = strstr(b.data, from);
	CHECK(hit != NULL);
	buf_append(&o, b.data, (size_t)(hit - b.data));
	buf_puts(&o, to);
	buf_puts(&o, hit + strlen(from));
	CHECK_INT(os_write_file_atomic(path, o.data, o.len, 0640, err), 0);
	buf_release(&b);
	buf_release(&o);
}

TEST(chain_verifies_and_continues)
{
	char dir[600], err[TN_ERRLEN];
	uint64_t lines;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	write_events(dir, 5, 0);
	write_events(dir, 3, 5);  /* a restart continues the chain */
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 8);
	struct buf t = BUF_INIT(0);
	CHECK_INT(audit_tail(dir, 2, &t, err), 0);
	CHECK(strstr(t.data, "\"n\":6") && strstr(t.data, "\"n\":7") && !strstr(t.data, "\"n\":5"));
	buf_release(&t);
	audit_log(NULL, "x", "y", json_object());  /* no trail: nothing, no crash */
}

TEST(tampering_is_named)
{
	char dir[600], path[700], err[TN_ERRLEN];
	uint64_t lines;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	today(dir, path, sizeof path);
	/* an edited value */
	write_events(dir, 6, 0);
	rewrite(path, "\"n\":3", "\"n\":4");
	CHECK_INT(audit_verify(dir, &lines, err), TN_ECORRUPT);
	CHECK(strstr(err, "line 4:") != NULL);  /* the edited line is named */
	rewrite(path, "\"n\":4,\"sql\":\"SELECT 1\",\"seq\":3", "\"n\":3,\"sql\":\"SELECT 1\",\"seq\":3");
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	/* a removed line */
	struct buf b = BUF_INIT(0), o = BUF_INIT(0);
	CHECK_INT(os_read_file(path, 1 << 20, &b, err), 0);
	char *l2 = strchr(b.data, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	buf_append(&o, b.data, (size_t)(l2 - b.data));
	buf_puts(&o, l3);
	CHECK_INT(os_write_file_atomic(path, o.data, o.len, 0640, err), 0);
	CHECK_INT(audit_verify(dir, &lines, err), TN_ECORRUPT);
	CHECK(strstr(err, "line 1:") != NULL);  /* lines removed after line 1 */
	/* a torn last line: verify names it, and the trail will not chain from it */
	buf_reset(&o);
	buf_append(&o, b.data, b.len);
	buf_puts(&o, "{\"ts\":");
	CHECK_INT(os_write_file_atomic(path, o.data, o.len, 0640, err), 0);
	CHECK_INT(audit_verify(dir, &lines, err), TN_ECORRUPT);
	CHECK(strstr(err, "torn") != NULL);
	struct audit *a;
	CHECK_INT(audit_open(dir, &a, err), TN_ECORRUPT);
	buf_release(&b);
	buf_release(&o);
}
