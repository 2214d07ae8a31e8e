/*
 * test_audit.c - the hash-chained audit trail: appends, verification,
 * continuation across reopenings, and every kind of tampering detected at
 * the right line.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "policy/audit.h"
#include "harness.h"

/* The journal beside the audit folder dir. */
static const char *journal_of(const char *dir)
{
	static char p[700];
	snprintf(p, sizeof p, "%s.journal", dir);
	return p;
}

static void write_events(const char *dir, int n, int base)
{
	struct audit *a;
	char err[TN_ERRLEN];
	int rc = audit_open(dir, journal_of(dir), &a, err);
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
	CHECK_INT(audit_open(dir, journal_of(dir), &a, err), TN_ECORRUPT);
	buf_release(&b);
	buf_release(&o);
}

/* Every member type comes back as it went in; odd strings stay valid JSON. */
TEST(lines_render_every_value)
{
	char dir[600], path[700], err[TN_ERRLEN];
	uint64_t lines;
	struct audit *a;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	today(dir, path, sizeof path);
	CHECK_INT(audit_open(dir, journal_of(dir), &a, err), 0);
	/* a long string whose cut would fall inside a 2-byte character */
	size_t big = (16u << 10) + 100;
	char *longs = malloc(big + 1);
	memset(longs, 'x', big);
	for (size_t i = (16u << 10) - 1; i + 1 < big; i += 2) {
		longs[i] = (char)0xc3;
		longs[i + 1] = (char)0xa9;
	}
	longs[big] = 0;
	json_t *nested = json_pack("{s:[i,s], s:n}", "list", 1, "two", "none");
	audit_log(a, "object", "bob",
		  json_pack("{s:s, s:I, s:b, s:b, s:n, s:o, s:s, s:s, s:f}", "key",
			    "a \"quoted\"\\path\n\t\x01/ünïcødé", "bytes", (json_int_t)1 << 40,
			    "yes", 1, "no", 0, "nothing", "nested", nested, "long", longs,
			    "ts", "ignored: ts is the trail's own", "ratio", 0.5));
	audit_log(a, "auth", "bad\xff\xfe", json_pack("{s:s}", "outcome", "failed"));
	audit_log(a, "auth", NULL, NULL);
	CHECK_INT((int)audit_failures(a), 0);
	audit_close(a);
	free(longs);
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 3);
	struct buf b = BUF_INIT(0);
	CHECK_INT(os_read_file(path, 1 << 20, &b, err), 0);
	char *l1 = b.data, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	json_error_t je;
	json_t *o = json_loadb(l1, (size_t)(l2 - l1 - 1), 0, &je);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "event")), "object");
	CHECK_STR(json_string_value(json_object_get(o, "principal")), "bob");
	CHECK_STR(json_string_value(json_object_get(o, "key")),
		  "a \"quoted\"\\path\n\t\x01/ünïcødé");
	CHECK(json_integer_value(json_object_get(o, "bytes")) == (json_int_t)1 << 40);
	CHECK(json_is_true(json_object_get(o, "yes")) && json_is_false(json_object_get(o, "no")));
	CHECK(json_is_null(json_object_get(o, "nothing")));
	CHECK(json_real_value(json_object_get(o, "ratio")) == 0.5);
	json_t *n = json_object_get(o, "nested");
	CHECK(json_integer_value(json_array_get(json_object_get(n, "list"), 0)) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(n, "list"), 1)), "two");
	/* cut to 16 KiB at a character boundary, so still UTF-8 (jansson checks) */
	size_t ln = json_string_length(json_object_get(o, "long"));
	CHECK(ln <= (16u << 10) && ln >= (16u << 10) - 1);
	CHECK(json_string_value(json_object_get(o, "ts"))[0] != 'i'); /* the trail's ts won */
	CHECK_INT((int)json_integer_value(json_object_get(o, "seq")), 0);
	/* members in order: ts, event, principal, the fields, seq, prev */
	CHECK(strncmp(l1, "{\"ts\":", 6) == 0);
	CHECK(strstr(l1, "\"seq\":0,\"prev\":\"0000") != NULL);
	json_decref(o);
	/* a principal that is not UTF-8 is left out, the line stays JSON */
	o = json_loadb(l2, (size_t)(l3 - l2 - 1), 0, &je);
	CHECK(o != NULL && json_object_get(o, "principal") == NULL);
	CHECK_STR(json_string_value(json_object_get(o, "outcome")), "failed");
	json_decref(o);
	o = json_loadb(l3, strlen(l3) - 1, 0, &je);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "principal")), "");
	json_decref(o);
	buf_release(&b);
}

struct logger {
	struct audit *a;
	int id;
};

static void *log_many(void *arg)
{
	struct logger *l = arg;
	for (int i = 0; i < 500; i++)
		audit_log(l->a, "object", "t", json_pack("{s:i, s:i}", "thread", l->id, "i", i));
	return NULL;
}

/* Threads appending at once: every line whole, the chain unbroken, seq dense. */
TEST(concurrent_appends_chain)
{
	char dir[600], err[TN_ERRLEN];
	uint64_t lines;
	struct audit *a;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	CHECK_INT(audit_open(dir, journal_of(dir), &a, err), 0);
	pthread_t t[4];
	struct logger l[4];
	for (int i = 0; i < 4; i++) {
		l[i] = (struct logger){ a, i };
		pthread_create(&t[i], NULL, log_many, &l[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT((int)audit_failures(a), 0);
	audit_close(a);
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 2000);
}

/* The number of lines in the day files under dir. */
static int count_lines(const char *dir)
{
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(audit_tail(dir, 1u << 30, &b, err), 0);
	int n = 0;
	for (size_t i = 0; i < b.len; i++)
		n += b.data[i] == '\n';
	buf_release(&b);
	return n;
}

/*
 * A child appends `written` events that reach the day files, then `held`
 * more that stay in the journal only, then is killed; if torn, a torn line
 * is added to the day file as a write cut short would leave it.
 */
static void killed_writer(const char *dir, int written, int held, bool torn)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct audit *a;
		char err[TN_ERRLEN];
		if (audit_open(dir, journal_of(dir), &a, err))
			_exit(3);
		for (int i = 0; i < written; i++)
			audit_log(a, "object", "kid", json_pack("{s:i}", "i", i));
		if (audit_flush(a, err))
			_exit(4);
		audit_hold(a, true);
		for (int i = written; i < written + held; i++)
			audit_log(a, "object", "kid", json_pack("{s:i}", "i", i));
		raise(SIGKILL);
		_exit(5);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (torn) {
		char path[700], err[TN_ERRLEN];
		today(dir, path, sizeof path);
		int fd = os_open(path, O_WRONLY | O_APPEND, 0, err);
		CHECK(fd >= 0);
		CHECK_INT(os_write_all(fd, "{\"ts\":\"2026-", 12, path, err), 0);
		os_close(fd);
	}
}

/* Lines appended by a process killed before its writer ran are appended at the next open. */
TEST(killed_process_loses_no_line)
{
	char dir[600], err[TN_ERRLEN];
	uint64_t lines;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	killed_writer(dir, 30, 70, false);
	CHECK_INT(count_lines(dir), 30); /* the rest is in the journal only */
	write_events(dir, 1, 100);       /* opens (appending the 70), adds one */
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 101);
	/* once, in order: i runs 0..99 */
	struct buf b = BUF_INIT(0);
	CHECK_INT(audit_tail(dir, 1000, &b, err), 0);
	const char *p = b.data;
	for (int i = 0; i < 100; i++) {
		char want[32];
		snprintf(want, sizeof want, "\"i\":%d,", i);
		p = strstr(p, want);
		CHECK(p != NULL);
		if (!p)
			break;
	}
	buf_release(&b);
	/* a clean close emptied the journal */
	struct stat st;
	CHECK_INT(stat(journal_of(dir), &st), 0);
	CHECK_INT((int)st.st_size, 0);
}

/* A write cut short by the kill leaves a torn line: cut, since the journal has it whole. */
TEST(torn_line_in_the_journal_is_cut_and_rewritten)
{
	char dir[600], err[TN_ERRLEN];
	uint64_t lines;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	killed_writer(dir, 5, 5, true);
	write_events(dir, 2, 10);
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 12);
}

/* audit_flush: appended lines are in the day file for readers, before close. */
TEST(flush_makes_lines_visible)
{
	char dir[600], err[TN_ERRLEN];
	struct audit *a;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	CHECK_INT(audit_open(dir, journal_of(dir), &a, err), 0);
	audit_hold(a, true);
	for (int i = 0; i < 3; i++)
		audit_log(a, "auth", "p", NULL);
	CHECK_INT(count_lines(dir), 0);
	audit_hold(a, false);
	CHECK_INT(audit_flush(a, err), 0);
	CHECK_INT(count_lines(dir), 3);
	audit_close(a);
}

/* A writer a whole journal half behind: appends wait, then are lost and counted; the chain holds. */
TEST(writer_far_behind_loses_lines_not_the_chain)
{
	char dir[600], err[TN_ERRLEN];
	uint64_t lines;
	struct audit *a;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	CHECK_INT(audit_open(dir, journal_of(dir), &a, err), 0);
	audit_hold(a, true);
	char *big = malloc(64 << 10);
	memset(big, 'x', (64 << 10) - 1);
	big[(64 << 10) - 1] = 0;
	/* 16 KiB of field each (the cut): a 4 MiB half holds about 250 */
	int n = 0;
	while (audit_failures(a) == 0 && n < 1000) {
		audit_log(a, "query", "p", json_pack("{s:s}", "sql", big));
		n++;
	}
	CHECK_INT((int)audit_failures(a), 1);
	CHECK(n > 200 && n < 300);
	audit_hold(a, false);
	audit_log(a, "auth", "p", NULL);
	audit_close(a);
	free(big);
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, n);
}

/* A kill during the first write of a day leaves that day's file with a torn line only. */
TEST(torn_first_line_of_a_day_is_cut)
{
	char dir[600], path[700], err[TN_ERRLEN];
	uint64_t lines;
	snprintf(dir, sizeof dir, "%s/audit", test_tmpdir());
	killed_writer(dir, 4, 3, false);
	snprintf(path, sizeof path, "%s/2099/01/01", dir);
	CHECK_INT(os_mkdir_p(path, 0750, err), 0);
	snprintf(path, sizeof path, "%s/2099/01/01/audit.jsonl", dir);
	CHECK_INT(os_write_file_atomic(path, "{\"ts\":\"20", 9, 0640, err), 0);
	write_events(dir, 1, 50); /* cuts the fragment, appends the 3, adds one */
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 8);
	write_events(dir, 1, 60); /* the empty file of 2099 is passed over for the head */
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK_INT((int)lines, 9);
}
