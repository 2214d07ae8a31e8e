/*
 * test_gen.c - the synthetic immunization generator (src/cli/gen.c) and
 * `tarn gen`.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/gen.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "harness.h"

#define DAY_MS 86400000LL

/* Generates n lines for (seed, start, span) into out. */
static void gen_lines(uint64_t seed, int64_t start, int64_t span, unsigned n, struct buf *out)
{
	struct gen g;
	gen_init(&g, seed, start, span);
	for (unsigned i = 0; i < n; i++)
		CHECK_INT(gen_immunization(&g, out), 0);
}

static bool all_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "123-45-6789", area not 000, 666 or 9xx; group and serial not zero. */
static bool ssn_ok(const char *s)
{
	if (strlen(s) != 11 || s[3] != '-' || s[6] != '-')
		return false;
	char a[4] = { s[0], s[1], s[2], 0 }, g[3] = { s[4], s[5], 0 }, r[5] = { s[7], s[8], s[9], s[10], 0 };
	if (!all_digits(a, 3) || !all_digits(g, 2) || !all_digits(r, 4))
		return false;
	return strcmp(a, "000") && strcmp(a, "666") && a[0] != '9' && strcmp(g, "00") &&
	       strcmp(r, "0000");
}

/* "(612) 555-0134" */
static bool phone_ok(const char *s)
{
	if (strlen(s) != 14 || s[0] != '(' || s[4] != ')' || s[5] != ' ' || s[9] != '-')
		return false;
	for (int i = 0; i < 14; i++)
		if (i != 0 && i != 4 && i != 5 && i != 9 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* An independent NPI check: Luhn over "80840" + the 10 digits. */
static bool npi_ok(const char *s)
{
	if (!all_digits(s, 10) || (s[0] != '1' && s[0] != '2'))
		return false;
	char d[16];
	snprintf(d, sizeof d, "80840%s", s);
	int sum = 0, n = (int)strlen(d);
	for (int i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

static bool date_ok(const char *s, int64_t *ms)
{
	return strlen(s) == 10 && s[4] == '-' && s[7] == '-' && time_parse(s, 10, ms) == 0;
}

static bool ts_ok(const char *s, int64_t *ms)
{
	return strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z' && time_parse(s, 20, ms) == 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A few CVX codes and their CDC short descriptions, checked independently. */
static const struct {
	const char *cvx, *name;
} known[] = {
	{ "08", "Hep B, adolescent or pediatric" },
	{ "20", "DTaP" },
	{ "21", "varicella" },
	{ "03", "MMR" },
	{ "10", "IPV" },
	{ "133", "Pneumococcal conjugate PCV 13" },
	{ "141", "Influenza, seasonal, injectable" },
	{ "62", "HPV, quadrivalent" },
	{ "115", "Tdap" },
	{ "83", "Hep A, ped/adol, 2 dose" },
	{ "116", "rotavirus, pentavalent" },
	{ "187", "zoster recombinant" },
};

TEST(same_seed_same_bytes)
{
	struct buf a = BUF_INIT(0), b = BUF_INIT(0);
	gen_lines(42, gen_default_end_ms(42) - 30 * DAY_MS, 30 * DAY_MS, 3000, &a);
	gen_lines(42, gen_default_end_ms(42) - 30 * DAY_MS, 30 * DAY_MS, 3000, &b);
	CHECK(a.len > 0);
	CHECK_INT(a.len, b.len);
	CHECK(memcmp(a.data, b.data, a.len) == 0);
	buf_release(&a);
	buf_release(&b);
}

TEST(different_seed_different_bytes)
{
	struct buf a = BUF_INIT(0), b = BUF_INIT(0);
	int64_t start = 1767225600000LL;  /* 2026-01-01 */
	gen_lines(1, start, 30 * DAY_MS, 50, &a);
	gen_lines(2, start, 30 * DAY_MS, 50, &b);
	CHECK(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
	/* Not just one field: the first lines share no event id or patient. */
	json_t *ja = json_loadb(a.data, (size_t)(strchr(a.data, '\n') - a.data), 0, NULL);
	json_t *jb = json_loadb(b.data, (size_t)(strchr(b.data, '\n') - b.data), 0, NULL);
	CHECK(ja && jb);
	CHECK(strcmp(str(ja, "event_id"), str(jb, "event_id")) != 0);
	CHECK(strcmp(str(ja, "ssn"), str(jb, "ssn")) != 0);
	json_decref(ja);
	json_decref(jb);
	buf_release(&a);
	buf_release(&b);
}

TEST(every_line_is_a_plausible_event)
{
	const unsigned n = 5000;
	const int64_t start = 1767225600000LL, span = 30 * DAY_MS;  /* January 2026 */
	struct buf out = BUF_INIT(0);
	gen_lines(7, start, span, n, &out);
	static const char *const fields[] = {
		"event_id", "patient_id", "first_name", "last_name", "date_of_birth", "ssn",
		"address", "phone", "email", "cvx_code", "vaccine_name", "dose_number",
		"lot_number", "administered_at", "provider", "facility", "county", "state",
	};
	unsigned lines = 0, known_seen = 0, minors = 0, reused = 0;
	size_t min_len = SIZE_MAX, max_len = 0;
	json_t *patients = json_object();
	const char *p = out.data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		CHECK(nl != NULL);
		size_t len = (size_t)(nl - p);
		min_len = len < min_len ? len : min_len;
		max_len = len > max_len ? len : max_len;
		json_error_t je;
		json_t *e = json_loadb(p, len, 0, &je);
		if (!e)
			fprintf(stderr, "line %u: %s: %.*s\n", lines + 1, je.text, (int)len, p);
		CHECK(json_is_object(e));
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
			if (!json_object_get(e, fields[k]))
				fprintf(stderr, "line %u lacks %s\n", lines + 1, fields[k]);
			CHECK(json_object_get(e, fields[k]) != NULL);
		}
		CHECK(uuid_ok(str(e, "event_id")));
		const char *pid = str(e, "patient_id");
		CHECK(pid && pid[0] == 'P' && all_digits(pid + 1, 8));
		CHECK(ssn_ok(str(e, "ssn")));
		CHECK(phone_ok(str(e, "phone")));
		const char *email = str(e, "email");
		CHECK(email && strchr(email, '@') && !strchr(email, ' '));
		CHECK(strlen(str(e, "first_name")) > 1 && strlen(str(e, "last_name")) > 1);

		int64_t dob, at, exp;
		CHECK(date_ok(str(e, "date_of_birth"), &dob));
		CHECK(ts_ok(str(e, "administered_at"), &at));
		CHECK(at >= start && at < start + span + DAY_MS);  /* a visit may run a few minutes over */
		CHECK(dob <= at);
		int64_t age_days = (at - dob) / DAY_MS;
		CHECK(age_days <= 96 * 365);
		CHECK(date_ok(str(e, "lot_expiration"), &exp));
		CHECK(exp > at);
		minors += age_days < 18 * 365;

		json_t *addr = json_object_get(e, "address");
		CHECK(json_is_object(addr));
		const char *street = str(addr, "street");
		CHECK(street && street[0] >= '1' && street[0] <= '9' && strchr(street, ' '));
		CHECK(str(addr, "city") && str(addr, "county"));
		CHECK(all_digits(str(addr, "zip"), 5));
		const char *st = str(e, "state");
		CHECK(st && strlen(st) == 2 && st[0] >= 'A' && st[0] <= 'Z');
		CHECK_STR(str(addr, "state"), st);

		const char *cvx = str(e, "cvx_code"), *vname = str(e, "vaccine_name");
		CHECK(cvx && vname && all_digits(cvx, strlen(cvx)) && strlen(cvx) >= 2);
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
			if (!strcmp(known[k].cvx, cvx)) {
				CHECK_STR(vname, known[k].name);
				known_seen++;
			}
		}
		/* Age-appropriate: rotavirus only for infants, zoster only from 50. */
		if (!strcmp(cvx, "116"))
			CHECK(age_days < 365);
		if (!strcmp(cvx, "187"))
			CHECK(age_days >= 50 * 365);

		json_t *dose = json_object_get(e, "dose_number");
		CHECK(json_is_integer(dose) && json_integer_value(dose) >= 1 &&
		      json_integer_value(dose) <= 6);
		const char *lot = str(e, "lot_number");
		CHECK(lot && strlen(lot) == 6 && lot[0] >= 'A' && lot[0] <= 'Z' && all_digits(lot + 2, 4));

		json_t *prov = json_object_get(e, "provider");
		CHECK(npi_ok(str(prov, "npi")));
		CHECK(str(prov, "name") && strlen(str(prov, "name")) > 3);
		CHECK(str(e, "facility") && strlen(str(e, "facility")) > 3);

		/* A patient is the same person every time: name, birth date, SSN. */
		char ident[256];
		snprintf(ident, sizeof ident, "%s|%s|%s|%s", str(e, "first_name"), str(e, "last_name"),
			 str(e, "date_of_birth"), str(e, "ssn"));
		json_t *seen = json_object_get(patients, pid);
		if (seen) {
			CHECK_STR(json_string_value(seen), ident);
			reused++;
		} else {
			json_object_set_new(patients, pid, json_string(ident));
		}
		json_decref(e);
		lines++;
		p = nl + 1;
	}
	CHECK_INT(lines, n);
	CHECK(known_seen > n / 4);
	/* Patients come back for several doses. */
	CHECK(reused > n / 3);
	CHECK(json_object_size(patients) > n / 10);
	/* Weighted to children. */
	CHECK(minors > n / 3);
	CHECK(min_len >= 600);
	CHECK(max_len <= 1200);
	json_decref(patients);
	buf_release(&out);
}

TEST(infant_visit_has_schedule_doses)
{
	/* Across many events, the 2-month visit set appears with dose 1. */
	struct buf out = BUF_INIT(0);
	gen_lines(3, 1767225600000LL, 30 * DAY_MS, 3000, &out);
	CHECK(strstr(out.data, "\"cvx_code\":\"116\""));
	CHECK(strstr(out.data, "\"cvx_code\":\"20\""));
	CHECK(strstr(out.data, "\"cvx_code\":\"08\""));
	CHECK(strstr(out.data, "\"dose_number\":3"));
	buf_release(&out);
}

TEST(full_buffer_is_too_big_and_unchanged)
{
	struct gen g;
	gen_init(&g, 9, 1767225600000LL, DAY_MS);
	struct buf out = BUF_INIT(100);
	CHECK_INT(buf_puts(&out, "keep"), 0);
	CHECK_INT(gen_immunization(&g, &out), TN_ETOOBIG);
	CHECK_INT(out.len, 4);
	CHECK_STR(out.data, "keep");
	buf_release(&out);
}

/* Runs cmd_gen with stdout into a file; returns its exit code, *text the output. */
static int run_gen(char **args, int nargs, struct buf *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/out.ndjson", test_tmpdir());
	fflush(stdout);
	int saved = dup(1);
	FILE *f = fopen(path, "w");
	CHECK(f);
	dup2(fileno(f), 1);
	int rc = cmd_gen(nargs, args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fclose(f);
	f = fopen(path, "r");
	CHECK(f);
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		CHECK_INT(buf_append(text, chunk, got), 0);
	fclose(f);
	return rc;
}

static unsigned count_lines(const struct buf *b)
{
	unsigned n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

TEST(cmd_gen_count_and_determinism)
{
	char *a1[] = { "gen", "immunizations", "--count", "1234", "--seed", "5" };
	struct buf x = BUF_INIT(0), y = BUF_INIT(0);
	CHECK_INT(run_gen(a1, 6, &x), 0);
	CHECK_INT(count_lines(&x), 1234);
	CHECK_INT(run_gen(a1, 6, &y), 0);
	CHECK(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);

	/* The same events in process. */
	struct buf z = BUF_INIT(0);
	gen_lines(5, gen_default_end_ms(5) - 30 * DAY_MS, 30 * DAY_MS, 1234, &z);
	CHECK(x.len == z.len && memcmp(x.data, z.data, x.len) == 0);

	struct buf none = BUF_INIT(0);
	char *a0[] = { "gen", "immunizations", "--count=0" };
	CHECK_INT(run_gen(a0, 3, &none), 0);
	CHECK_INT(none.len, 0);
	buf_release(&x);
	buf_release(&y);
	buf_release(&z);
	buf_release(&none);
}

TEST(cmd_gen_start_and_days)
{
	char *args[] = { "gen", "immunizations", "--count", "500", "--start", "2024-03-01",
			 "--days", "2", "--seed", "11" };
	struct buf out = BUF_INIT(0);
	CHECK_INT(run_gen(args, 10, &out), 0);
	CHECK_INT(count_lines(&out), 500);
	int64_t lo, hi;
	CHECK_INT(time_parse("2024-03-01", 10, &lo), 0);
	hi = lo + 2 * DAY_MS + 3600000;  /* a visit's last dose may be minutes later */
	const char *p = out.data;
	unsigned checked = 0;
	while ((p = strstr(p, "\"administered_at\":\"")) != NULL) {
		p += strlen("\"administered_at\":\"");
		int64_t at;
		CHECK_INT(time_parse(p, 20, &at), 0);
		CHECK(at >= lo && at < hi);
		checked++;
	}
	CHECK_INT(checked, 500);
	buf_release(&out);
}

TEST(cmd_gen_usage)
{
	struct buf out = BUF_INIT(0);
	char *help[] = { "gen", "--help" };
	CHECK_INT(run_gen(help, 2, &out), 0);
	CHECK(strstr(out.data, "usage: tarn gen immunizations"));
	char *nocount[] = { "gen", "immunizations" };
	CHECK_INT(run_gen(nocount, 2, &out), 2);
	char *badkind[] = { "gen", "cats", "--count", "3" };
	CHECK_INT(run_gen(badkind, 4, &out), 2);
	char *badcount[] = { "gen", "immunizations", "--count", "x" };
	CHECK_INT(run_gen(badcount, 4, &out), 2);
	char *missing[] = { "gen", "immunizations", "--count" };
	CHECK_INT(run_gen(missing, 3, &out), 2);
	char *baddate[] = { "gen", "immunizations", "--count", "1", "--start", "yesterday" };
	CHECK_INT(run_gen(baddate, 6, &out), 2);
	buf_release(&out);
}
