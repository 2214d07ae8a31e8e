/*
 * test_pii.c - PII detectors (names, values, thresholds) and PII tagging
 * by the crawler on the sample immunization feed (src/cli/gen.c, the
 * data `tarn gen immunizations --count 2000 --seed 1` prints), with
 * admin overrides that survive re-crawls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "catalog/pii.h"
#include "cli/gen.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "harness.h"

#define DAY_MS 86400000LL

TEST(names_fire_their_detector)
{
	static const struct {
		const char *name;
		enum pii_kind want;
	} cases[] = {
		{ "ssn", PII_SSN }, { "patient_ssn", PII_SSN }, { "SocialSecurityNumber", PII_SSN },
		{ "email", PII_EMAIL }, { "email_address", PII_EMAIL }, { "contactEmail", PII_EMAIL },
		{ "phone", PII_PHONE }, { "mobile_number", PII_PHONE }, { "HomePhone", PII_PHONE },
		{ "date_of_birth", PII_DOB }, { "dob", PII_DOB }, { "birthDate", PII_DOB },
		{ "patientDOB", PII_DOB }, { "first_name", PII_PERSON_NAME },
		{ "last_name", PII_PERSON_NAME }, { "surname", PII_PERSON_NAME },
		{ "guardian_name", PII_PERSON_NAME }, { "FullName", PII_PERSON_NAME },
		{ "address", PII_STREET_ADDRESS }, { "address.street", PII_STREET_ADDRESS },
		{ "address_line1", PII_STREET_ADDRESS }, { "mrn", PII_MRN },
		{ "medical_record_number", PII_MRN }, { "zip", PII_ZIP }, { "address.zip", PII_ZIP },
		{ "postal_code", PII_ZIP },
		/* and names that are not PII */
		{ "vaccine_name", PII_NONE }, { "facility_name", PII_NONE }, { "county", PII_NONE },
		{ "address.county", PII_NONE }, { "cvx_code", PII_NONE }, { "dose_number", PII_NONE },
		{ "ip_address", PII_NONE }, { "state", PII_NONE }, { "lot_number", PII_NONE },
		{ "event_id", PII_NONE }, { "administered_at", PII_NONE }, { "name", PII_NONE },
		{ "telemetry", PII_NONE }, { "hotel", PII_NONE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum pii_kind got = pii_by_name(cases[i].name);
		if (got != cases[i].want)
			fprintf(stderr, "name '%s': got %s, want %s\n", cases[i].name,
				pii_kind_name(got), pii_kind_name(cases[i].want));
		CHECK_INT(got, cases[i].want);
	}
}

TEST(values_match_patterns)
{
	CHECK(pii_value_matches(PII_SSN, "008-40-4364"));
	CHECK(!pii_value_matches(PII_SSN, "008404364"));
	CHECK(!pii_value_matches(PII_SSN, "2026-04-16"));
	CHECK(pii_value_matches(PII_EMAIL, "mohammed.pena@aol.com"));
	CHECK(pii_value_matches(PII_EMAIL, "k_shah31@comcast.net"));
	CHECK(!pii_value_matches(PII_EMAIL, "not an email"));
	CHECK(!pii_value_matches(PII_EMAIL, "a@b"));
	CHECK(pii_value_matches(PII_PHONE, "(718) 632-5823"));
	CHECK(pii_value_matches(PII_PHONE, "+1 718-632-5823"));
	CHECK(pii_value_matches(PII_PHONE, "718.632.5823 x12"));
	CHECK(!pii_value_matches(PII_PHONE, "2088041019"));   /* an NPI: bare digits */
	CHECK(!pii_value_matches(PII_PHONE, "2026-04-16"));
	CHECK(pii_value_matches(PII_MRN, "MRN0344683"));
	CHECK(!pii_value_matches(PII_MRN, "MRN"));
	CHECK(pii_value_matches(PII_STREET_ADDRESS, "8558 Union Way"));
	CHECK(pii_value_matches(PII_STREET_ADDRESS, "12B North Oak Street Apt 4"));
	CHECK(!pii_value_matches(PII_STREET_ADDRESS, "Kings County Public Health"));
	CHECK(!pii_value_matches(PII_STREET_ADDRESS, "2 doses"));
	CHECK(pii_value_matches(PII_PERSON_NAME, "Olivia Ortiz, RN"));
	CHECK(pii_value_matches(PII_PERSON_NAME, "José Peña"));
	CHECK(pii_value_matches(PII_PERSON_NAME, "Mary J. Smith"));
	CHECK(pii_value_matches(PII_PERSON_NAME, "Dr. Elias Allen"));
	CHECK(!pii_value_matches(PII_PERSON_NAME, "Dr. Who"));
	CHECK(!pii_value_matches(PII_PERSON_NAME, "Hep A, adult"));
	CHECK(!pii_value_matches(PII_PERSON_NAME, "Valley Drug #1333"));
	CHECK(!pii_value_matches(PII_PERSON_NAME, "olivia ortiz"));
	CHECK(pii_value_matches(PII_ZIP, "11213"));
	CHECK(pii_value_matches(PII_ZIP, "11213-0042"));
	CHECK(!pii_value_matches(PII_DOB, "1984-09-10")); /* name-only detector */
}

TEST(value_thresholds)
{
	struct pii_verdict v;
	/* 4 of 5 non-null values (80%) fire; 3 of 4 (75%) do not */
	const char *ssns[] = { "123-45-6789", "234-56-7890", NULL, "345-67-8901", "x", "456-78-9012" };
	pii_classify("col_a", ssns, 6, &v);
	CHECK_INT(v.kind, PII_SSN);
	CHECK_INT(v.share, 80);
	CHECK(!v.by_name);
	pii_classify("col_a", ssns, 5, &v);
	CHECK_INT(v.kind, PII_NONE);
	const char *two[] = { "123-45-6789", "234-56-7890" };
	pii_classify("col_a", two, 2, &v);
	CHECK_INT(v.kind, PII_NONE); /* fewer than PII_MIN_VALUES */
	const char *mixed[] = { "123-45-6789", "a", "b", "c", "d" };
	pii_classify("col_a", mixed, 5, &v);
	CHECK_INT(v.kind, PII_NONE);
	const char *zips[] = { "11213", "55401", "98101", "30303" };
	pii_classify("code", zips, 4, &v);
	CHECK_INT(v.kind, PII_NONE); /* five digits are no ZIP without a name */
	pii_classify("zip", zips, 4, &v);
	CHECK_INT(v.kind, PII_ZIP);
	CHECK(v.by_name);
	CHECK_INT(v.share, 100);
	const char *npis[] = { "2088041019", "2365370800", "1956388320" };
	pii_classify("provider_id", npis, 3, &v);
	CHECK_INT(v.kind, PII_NONE);
}

/* ---- the crawler on the sample feed ----------------------------------------- */

struct fx {
	struct store *s;
	struct meta *m;
	struct catalog *c;
};

static void fx_open(struct fx *f)
{
	char err[TN_ERRLEN], path[600];
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(path, sizeof path, "%s/.tarn", store_root(f->s));
	CHECK_INT(os_mkdir_p(path, 0700, err), 0);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", store_root(f->s));
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(catalog_open(f->s, f->m, &f->c, err), 0);
}

static void fx_close(struct fx *f)
{
	catalog_close(f->c);
	meta_close(f->m);
	store_close(f->s);
}

/* The sample feed, as the flusher lands it: 2000 events, 4 objects of a day each. */
static void land_feed(struct fx *f)
{
	struct gen g;
	char err[TN_ERRLEN];
	uint64_t seed = 1;
	int64_t span = 30 * DAY_MS;
	gen_init(&g, seed, gen_default_end_ms(seed) - span, span);
	for (int part = 0; part < 4; part++) {
		struct buf b = BUF_INIT(0);
		for (int i = 0; i < 500; i++)
			CHECK_INT(gen_immunization(&g, &b), 0);
		char key[128];
		snprintf(key, sizeof key, "01-raw-data-zone/immunizations/2026/04/%02d/000000-%d.json",
			 10 + part, part * 500);
		struct iovec v = { b.data, b.len };
		CHECK_INT(store_put(f->s, key, &v, 1, 0, err), 0);
		buf_release(&b);
	}
}

static void crawl(struct fx *f, int flags)
{
	char err[TN_ERRLEN];
	struct crawl_report r;
	struct crawl_opts o = { NULL, flags };
	int rc = catalog_crawl(f->c, &o, &r, err);
	if (rc)
		fprintf(stderr, "crawl: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(r.files_bad, 0);
	crawl_report_release(&r);
}

static const struct cat_column *col(const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return &t->cols[i];
	fprintf(stderr, "no column '%s'\n", name);
	CHECK(0);
	return NULL;
}

/* The pii tag of a column ("" if none in effect) and its source. */
static const char *pii_of(const struct cat_table *t, const char *name, const char **source)
{
	const struct cat_column *c = col(t, name);
	for (size_t i = 0; i < c->ntags; i++)
		if (!strcmp(c->tags[i].name, "pii") && !c->tags[i].cleared) {
			if (source)
				*source = c->tags[i].source;
			CHECK(c->pii);
			return c->tags[i].detail;
		}
	CHECK(!c->pii);
	return "";
}

static void expect_pii(const struct cat_table *t, const char *name, const char *detector)
{
	const char *got = pii_of(t, name, NULL);
	if (strcmp(got, detector))
		fprintf(stderr, "column %s: pii '%s', want '%s'\n", name, got, detector);
	CHECK_STR(got, detector);
}

TEST(sample_feed_is_tagged)
{
	struct fx f;
	struct cat_table t;
	char err[TN_ERRLEN];
	fx_open(&f);
	land_feed(&f);
	crawl(&f, 0);
	CHECK_INT(catalog_table_get(f.c, "raw", "immunizations", &t, err), 0);
	CHECK_INT(t.rows, 2000);
	CHECK_STR(t.classification, "pii");
	/* tagged */
	expect_pii(&t, "ssn", "ssn");
	expect_pii(&t, "first_name", "person_name");
	expect_pii(&t, "last_name", "person_name");
	expect_pii(&t, "guardian_name", "person_name");
	expect_pii(&t, "date_of_birth", "date_of_birth");
	expect_pii(&t, "email", "email");
	expect_pii(&t, "phone", "phone");
	expect_pii(&t, "mrn", "mrn");
	expect_pii(&t, "address", "street_address");
	expect_pii(&t, "address.street", "street_address");
	expect_pii(&t, "address.zip", "zip");
	/* a clinician's name, found by its values; its struct is PII through it */
	expect_pii(&t, "provider.name", "person_name");
	const char *src = NULL;
	CHECK_STR(pii_of(&t, "provider", &src), "provider.name");
	CHECK_STR(src, "nested");
	CHECK(strstr(col(&t, "provider.name")->tags[0].evidence, "sampled values"));
	CHECK_STR(col(&t, "ssn")->tags[0].evidence, "column name");
	/* not tagged */
	static const char *const clean[] = {
		"event_id", "cvx_code", "vaccine_name", "dose_number", "county", "state",
		"address.county", "address.state", "address.city", "manufacturer", "lot_number",
		"administered_at", "facility", "facility_id", "provider.npi", "sex", "race",
		"funding_source", "year", "month", "day",
	};
	for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
		const char *p = pii_of(&t, clean[i], NULL);
		if (*p)
			fprintf(stderr, "column %s: tagged pii '%s'\n", clean[i], p);
		CHECK_STR(p, "");
	}
	cat_table_release(&t);
	fx_close(&f);
}

TEST(admin_tags_override_the_crawler)
{
	struct fx f;
	struct cat_table t;
	char err[TN_ERRLEN];
	fx_open(&f);
	land_feed(&f);
	crawl(&f, 0);
	const char *src = NULL;
	/* tarn tag raw.immunizations.ssn none; tarn tag raw.immunizations.vaccine_name pii */
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "ssn", "pii", CAT_TAG_CLEAR, "alice", err),
		  0);
	CHECK_INT(catalog_tag(f.c, "bronze", "immunizations", "vaccine_name", "pii", CAT_TAG_SET,
			      "alice", err), 0);
	/* the address struct loses its own pii tag; its fields keep theirs */
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "address", "pii", CAT_TAG_CLEAR, "alice",
			      err), 0);
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "nope", "pii", CAT_TAG_SET, NULL, err),
		  TN_ENOTFOUND);
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "ssn", "PII!", CAT_TAG_SET, NULL, err),
		  TN_EINVAL);
	CHECK_INT(catalog_tag(f.c, "raw", "nope", "ssn", "pii", CAT_TAG_SET, NULL, err), TN_ENOTFOUND);
	/* a full re-crawl reads and classifies everything again: admin decisions stand */
	for (int round = 0; round < 2; round++) {
		crawl(&f, round ? CRAWL_FULL : 0);
		CHECK_INT(catalog_table_get(f.c, "raw", "immunizations", &t, err), 0);
		CHECK_STR(pii_of(&t, "ssn", NULL), "");
		CHECK(col(&t, "ssn")->ntags == 1 && col(&t, "ssn")->tags[0].cleared);
		CHECK_STR(col(&t, "ssn")->tags[0].source, "admin");
		pii_of(&t, "vaccine_name", &src);
		CHECK_STR(src, "admin");
		CHECK_STR(pii_of(&t, "address", NULL), "");
		expect_pii(&t, "address.street", "street_address");
		cat_table_release(&t);
	}
	/* AUTO hands the column back to the crawler's finding */
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "ssn", "pii", CAT_TAG_AUTO, NULL, err), 0);
	CHECK_INT(catalog_table_get(f.c, "raw", "immunizations", &t, err), 0);
	expect_pii(&t, "ssn", "ssn");
	cat_table_release(&t);
	/* classification follows the effective tags */
	static const char *const pii_cols[] = { "ssn", "first_name", "last_name", "guardian_name",
						"date_of_birth", "email", "phone", "mrn",
						"address", "provider", "vaccine_name" };
	for (size_t i = 0; i < sizeof pii_cols / sizeof pii_cols[0]; i++)
		CHECK_INT(catalog_tag(f.c, "raw", "immunizations", pii_cols[i], "pii", CAT_TAG_CLEAR,
				      NULL, err), 0);
	CHECK_INT(catalog_table_get(f.c, "raw", "immunizations", &t, err), 0);
	CHECK_STR(t.classification, "none");
	cat_table_release(&t);
	CHECK_INT(catalog_tag(f.c, "raw", "immunizations", "email", "pii", CAT_TAG_AUTO, NULL, err), 0);
	CHECK_INT(catalog_table_get(f.c, "raw", "immunizations", &t, err), 0);
	CHECK_STR(t.classification, "pii");
	cat_table_release(&t);
	fx_close(&f);
}

TEST(values_alone_tag_csv_columns)
{
	struct fx f;
	struct cat_table t;
	char err[TN_ERRLEN];
	fx_open(&f);
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "c1,c2,c3,c4,c5,c6\n");
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "%03d-%02d-%04d,user%d@example.org,(612) 555-%04d,%d%04d,"
			       "%d Maple Ave,MRN%07d\n",
			   100 + i, 10 + i, 1000 + i, i, i, 10 + i % 80, 1000 + i, 100 + i, i);
	struct iovec v = { b.data, b.len };
	CHECK_INT(store_put(f.s, "04-user-drop-zone/people.csv", &v, 1, 0, err), 0);
	buf_release(&b);
	crawl(&f, 0);
	CHECK_INT(catalog_table_get(f.c, "drop", "people", &t, err), 0);
	expect_pii(&t, "c1", "ssn");
	expect_pii(&t, "c2", "email");
	expect_pii(&t, "c3", "phone");
	expect_pii(&t, "c4", "");
	expect_pii(&t, "c5", "street_address");
	expect_pii(&t, "c6", "mrn");
	CHECK(strstr(col(&t, "c1")->tags[0].evidence, "100% of 50 sampled values"));
	cat_table_release(&t);
	fx_close(&f);
}
