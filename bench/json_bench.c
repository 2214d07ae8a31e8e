/*
 * json_bench.c - single-core JSON validation throughput on ingest-like data.
 *
 * Generates about 64 MiB of realistic ~1 KiB NDJSON events (immunization
 * records: names, dates, SSN-like strings, addresses, nested objects,
 * numbers, a little UTF-8 and escapes) from a fixed seed, then measures,
 * best of several runs on one thread:
 *   - a plain memchr line split: the ceiling for anything per line;
 *   - jansson json_loadb per line (builds a tree: what a plain library costs);
 *   - simdjson through json_check_record per line, with and without the
 *     copy into the padded buffer, and with required-field and timestamp
 *     lookups;
 *   - the C explainer (json_explain) as if it were the validator;
 *   - the native ingest path: batch_parse of 16 MiB bodies then
 *     json_check_record of every record (NDJSON and array bodies);
 *   - json_minify over the data;
 *   - simdjson over whole 16 MiB array bodies (one parse each), which
 *     shows what the per-record call costs.
 * MB/s are 10^6 bytes of input per second.  Usage: json_bench [MiB] [runs]
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "stream/batch.h"
#include "core/banned.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	/* splitmix64: fixed seed, same data every run */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rnd() % n];
}
#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

static const char *const given[] = { "Ann", "José", "Mei", "Olufemi", "Sven", "Priya",
				     "Liam", "Zoë", "Mohammed", "Chloé", "Kenji", "Ana" };
static const char *const family[] = { "Lee", "García", "Nguyen", "Okafor", "Johansson",
				      "Patel", "O'Brien", "Müller", "Haddad", "Smith",
				      "Kowalski", "Silva" };
static const char *const streets[] = { "Maple Street", "Oak Avenue", "Elm Drive",
				       "Cedar Lane", "Rue de l'Église", "Washington Blvd",
				       "Pine Court", "Lakeview Road" };
static const char *const cities[] = { "Springfield", "Riverside", "Fairview", "Madison",
				      "Georgetown", "Salem", "Clinton", "Franklin" };
static const char *const states[] = { "IL", "CA", "TX", "NY", "WA", "MA", "OH", "GA" };
static const char *const vaccines[] = {
	"COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose",
	"Influenza, seasonal, injectable, preservative free",
	"Hepatitis B, adult dosage", "Tdap", "MMR", "Zoster recombinant",
	"Pneumococcal conjugate PCV 20", "HPV, 9-valent",
};
static const char *const makers[] = { "Pfizer", "Moderna", "Sanofi Pasteur", "GSK", "Merck",
				      "Seqirus", "AstraZeneca" };
static const char *const routes[] = { "IM", "SC", "ID", "PO", "IN" };
static const char *const sites[] = { "LA", "RA", "LT", "RT", "LD", "RD" };
static const char *const notes[] = {
	"Patient tolerated well. No adverse reaction observed within 15 minutes.",
	"Mild soreness at injection site reported; advised \"cold compress\".",
	"Second dose of series; VIS given (edition 2023-08-06).\nGuardian consent on file.",
	"Historical record entered from paper card — verified by RN.",
	"Deferred earlier due to fever; now afebrile (36.8 °C).",
};

/* Appends one event of about 1 KiB, then a newline. */
static void gen_event(struct buf *b, uint64_t seq)
{
	int64_t t = 1732240410000LL + (int64_t)seq * 731 + (int64_t)(rnd() % 1000);
	char when[40];
	time_format_iso_ms(t, when, sizeof(when));
	unsigned y = 1940 + rnd() % 80, m = 1 + rnd() % 12, d = 1 + rnd() % 28;

	buf_printf(b,
		   "{\"event_id\":\"evt-%08llu-%06llx\",\"event_type\":\"immunization.administered\","
		   "\"occurred_at\":\"%s\",\"source\":{\"system\":\"ehr-%u\",\"feed\":\"hl7v2-vxu\","
		   "\"received_ms\":%lld},",
		   (unsigned long long)seq, (unsigned long long)(rnd() & 0xFFFFFF), when,
		   (unsigned)(rnd() % 40), (long long)(t + 250));
	buf_printf(b,
		   "\"patient\":{\"mrn\":\"MRN-%08u\",\"ssn\":\"%03u-%02u-%04u\","
		   "\"name\":{\"given\":\"%s\",\"family\":\"%s\"},\"dob\":\"%04u-%02u-%02u\","
		   "\"sex\":\"%s\",\"address\":{\"line\":[\"%u %s\",\"Apt %u\"],\"city\":\"%s\","
		   "\"state\":\"%s\",\"zip\":\"%05u\"},\"phone\":\"+1-%03u-555-%04u\","
		   "\"email\":\"patient%u@example.org\"},",
		   (unsigned)(rnd() % 100000000), (unsigned)(100 + rnd() % 800),
		   (unsigned)(10 + rnd() % 90), (unsigned)(rnd() % 10000), PICK(given), PICK(family),
		   y, m, d, rnd() % 2 ? "F" : "M", (unsigned)(1 + rnd() % 9999), PICK(streets),
		   (unsigned)(1 + rnd() % 40), PICK(cities), PICK(states),
		   (unsigned)(rnd() % 100000), (unsigned)(200 + rnd() % 800),
		   (unsigned)(rnd() % 10000), (unsigned)(rnd() % 1000000));
	buf_printf(b,
		   "\"vaccine\":{\"cvx\":%u,\"name\":\"%s\",\"manufacturer\":\"%s\",\"lot\":\"%c%c%04u\","
		   "\"expires\":\"%04u-%02u-28\"},\"dose\":{\"number\":%u,\"series\":%u,"
		   "\"amount_ml\":%.2f,\"route\":\"%s\",\"site\":\"%s\"},",
		   (unsigned)(rnd() % 300), PICK(vaccines), PICK(makers), 'A' + (int)(rnd() % 26),
		   'A' + (int)(rnd() % 26), (unsigned)(rnd() % 10000), 2026 + (unsigned)(rnd() % 3),
		   1 + (unsigned)(rnd() % 12), 1 + (unsigned)(rnd() % 3), 1 + (unsigned)(rnd() % 3),
		   0.1 * (double)(1 + rnd() % 10), PICK(routes), PICK(sites));
	buf_printf(b,
		   "\"provider\":{\"npi\":\"%010llu\",\"name\":\"Dr. %s %s\",\"facility\":\"%s "
		   "Community Clinic\"},\"location\":{\"lat\":%.5f,\"lon\":%.5f},"
		   "\"flags\":{\"vfc_eligible\":%s,\"historical\":%s,\"refused\":false},"
		   "\"reactions\":[],\"notes\":",
		   (unsigned long long)(rnd() % 10000000000ULL), PICK(given), PICK(family),
		   PICK(cities), 25.0 + (double)(rnd() % 2300000) / 100000.0,
		   -124.0 + (double)(rnd() % 5700000) / 100000.0, rnd() % 5 ? "false" : "true",
		   rnd() % 7 ? "false" : "true");
	const char *note = PICK(notes);
	buf_json_str(b, note, strlen(note));
	/* pad towards ~1 KiB with a free-text field of varying length */
	size_t pad = rnd() % 120;
	buf_puts(b, ",\"comment\":\"");
	for (size_t i = 0; i < pad; i++)
		buf_putc(b, "abcdefghij klmnopqrst uvwxyz"[rnd() % 28]);
	buf_puts(b, "\",\"tags\":[\"imm\",\"vxu\",\"batch-7\"]}\n");
}

struct line {
	size_t off, len;
};

static double seconds(int64_t ns)
{
	return (double)ns / 1e9;
}

static void row(const char *what, size_t bytes, size_t recs, int64_t best_ns, const char *note)
{
	double s = seconds(best_ns);
	printf("%-46s %9.0f %12.0f %10.0f  %s\n", what, (double)bytes / 1e6 / s, (double)recs / s,
	       (double)best_ns / (double)recs, note);
}

/* A sink the compiler cannot see through. */
static volatile size_t sink;

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
	struct buf data = BUF_INIT(0);
	struct line *lines = NULL;
	size_t n = 0, cap = 0;
	char err[TN_ERRLEN];

	if (mib == 0 || runs <= 0) {
		fprintf(stderr, "usage: json_bench [MiB] [runs]\n");
		return 2;
	}
	while (data.len < mib << 20)
		gen_event(&data, n++);
	buf_grow(&data, JSON_PADDING);  /* readable padding after the last line */
	n = 0;
	for (size_t pos = 0; pos < data.len;) {
		const char *nl = memchr(data.data + pos, '\n', data.len - pos);
		size_t end = nl ? (size_t)(nl - data.data) : data.len;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = xrealloc(lines, cap * sizeof(*lines));
		}
		lines[n].off = pos;
		lines[n].len = end - pos;
		n++;
		pos = end + 1;
	}
	size_t bytes = data.len;  /* newlines included: the size of the body */

	/* sanity: every record is valid for every parser */
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		json_t *j = json_loadb(data.data + lines[i].off, lines[i].len, 0, &je);
		if (!j || json_check_record(data.data + lines[i].off, lines[i].len, NULL, NULL, err) ||
		    json_explain(data.data + lines[i].off, lines[i].len, NULL)) {
			fprintf(stderr, "json_bench: generated record %zu is invalid: %s\n", i, err);
			return 1;
		}
		json_decref(j);
	}

	printf("json_bench: %zu records, %.1f MiB, %.0f bytes/record on average, best of %d runs, "
	       "1 thread, simdjson kernel '%s'\n\n", n, (double)bytes / (1 << 20),
	       (double)bytes / (double)n, runs, json_simd_kernel());
	printf("%-46s %9s %12s %10s\n", "what", "MB/s", "records/s", "ns/record");

	const char *req[] = { "event_id", "patient", "vaccine" };
	struct json_want want = { req, 3, "occurred_at" };
	int64_t best[12];
	for (int k = 0; k < 12; k++)
		best[k] = INT64_MAX;

	for (int r = 0; r < runs; r++) {
		int64_t t0, t1;
		size_t acc = 0;

		/* 0: memchr split */
		t0 = time_mono_ns();
		for (size_t pos = 0; pos < bytes;) {
			const char *nl = memchr(data.data + pos, '\n', bytes - pos);
			size_t end = nl ? (size_t)(nl - data.data) : bytes;
			acc += end - pos;
			pos = end + 1;
		}
		t1 = time_mono_ns();
		best[0] = t1 - t0 < best[0] ? t1 - t0 : best[0];

		/* 1: jansson */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++) {
			json_error_t je;
			json_t *j = json_loadb(data.data + lines[i].off, lines[i].len, 0, &je);
			acc += j != NULL;
			json_decref(j);
		}
		t1 = time_mono_ns();
		best[1] = t1 - t0 < best[1] ? t1 - t0 : best[1];

		/* 2: json_validate (simdjson, copy) */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++)
			acc += json_validate(data.data + lines[i].off, lines[i].len, err) == 0;
		t1 = time_mono_ns();
		best[2] = t1 - t0 < best[2] ? t1 - t0 : best[2];

		/* 3: json_check_record, no fields */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++)
			acc += json_check_record(data.data + lines[i].off, lines[i].len, NULL, NULL,
						 err) == 0;
		t1 = time_mono_ns();
		best[3] = t1 - t0 < best[3] ? t1 - t0 : best[3];

		/* 4: json_check_record, 3 required fields + timestamp */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++) {
			struct json_found f;
			acc += json_check_record(data.data + lines[i].off, lines[i].len, &want, &f,
						 err) == 0;
			acc += f.ts_len;
		}
		t1 = time_mono_ns();
		best[4] = t1 - t0 < best[4] ? t1 - t0 : best[4];

		/* 5: the same, zero-copy */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++) {
			struct json_found f;
			acc += json_check_record_padded(data.data + lines[i].off, lines[i].len, &want,
							&f, err) == 0;
			acc += f.ts_len;
		}
		t1 = time_mono_ns();
		best[5] = t1 - t0 < best[5] ? t1 - t0 : best[5];

		/* 6: the C explainer as a validator */
		t0 = time_mono_ns();
		for (size_t i = 0; i < n; i++)
			acc += json_explain(data.data + lines[i].off, lines[i].len, NULL) == 0;
		t1 = time_mono_ns();
		best[6] = t1 - t0 < best[6] ? t1 - t0 : best[6];

		/* 7: native path, NDJSON: batch_parse of ~16 MiB bodies + check each */
		t0 = time_mono_ns();
		{
			struct batch b;
			batch_init(&b);
			size_t first = 0;
			while (first < n) {
				size_t last = first;
				while (last < n && lines[last].off + lines[last].len - lines[first].off <
							   (TN_MAX_BATCH_BODY - 2048))
					last++;
				size_t off = lines[first].off;
				size_t len = lines[last - 1].off + lines[last - 1].len + 1 - off;
				if (batch_parse(&b, data.data + off, len, NULL, err)) {
					fprintf(stderr, "json_bench: batch_parse: %s\n", err);
					return 1;
				}
				for (size_t i = 0; i < b.n; i++) {
					struct json_found f;
					acc += json_check_record(b.recs[i].data, b.recs[i].len, &want,
								 &f, err) == 0;
				}
				first = last;
			}
			batch_release(&b);
		}
		t1 = time_mono_ns();
		best[7] = t1 - t0 < best[7] ? t1 - t0 : best[7];

		/* 8: json_minify of every line (compact input: mostly a copy) */
		t0 = time_mono_ns();
		{
			struct buf out = BUF_INIT(0);
			for (size_t i = 0; i < n; i++) {
				buf_reset(&out);
				json_minify(data.data + lines[i].off, lines[i].len, &out);
				acc += out.len;
			}
			buf_release(&out);
		}
		t1 = time_mono_ns();
		best[8] = t1 - t0 < best[8] ? t1 - t0 : best[8];
		sink = acc;
	}

	/* 9: native path, array bodies: built once, outside the timing */
	size_t abytes = 0, arecs = 0;
	{
		struct buf body = BUF_INIT(0);
		struct batch b;
		struct buf *bodies = NULL;
		size_t nb = 0;
		for (size_t i = 0; i < n;) {
			buf_init(&body, 0);
			buf_putc(&body, '[');
			size_t first = i;
			while (i < n && body.len + lines[i].len + 4 < TN_MAX_BATCH_BODY) {
				if (i > first)
					buf_puts(&body, ",\n");
				buf_append(&body, data.data + lines[i].off, lines[i].len);
				i++;
			}
			buf_puts(&body, "]\n");
			bodies = xrealloc(bodies, (nb + 1) * sizeof(*bodies));
			bodies[nb++] = body;
			abytes += body.len;
		}
		batch_init(&b);
		for (int r = 0; r < runs; r++) {
			int64_t t0 = time_mono_ns();
			size_t acc = 0;
			arecs = 0;
			for (size_t k = 0; k < nb; k++) {
				if (batch_parse(&b, bodies[k].data, bodies[k].len, NULL, err)) {
					fprintf(stderr, "json_bench: array batch_parse: %s\n", err);
					return 1;
				}
				for (size_t i = 0; i < b.n; i++) {
					struct json_found f;
					acc += json_check_record(b.recs[i].data, b.recs[i].len, &want,
								 &f, err) == 0;
				}
				arecs += b.n;
			}
			int64_t t1 = time_mono_ns();
			best[9] = t1 - t0 < best[9] ? t1 - t0 : best[9];
			/* 11: one simdjson parse per body: no per-record overhead */
			t0 = time_mono_ns();
			for (size_t k = 0; k < nb; k++)
				acc += json_validate(bodies[k].data, bodies[k].len, err) == 0;
			t1 = time_mono_ns();
			best[11] = t1 - t0 < best[11] ? t1 - t0 : best[11];
			/* 10: the split alone */
			t0 = time_mono_ns();
			for (size_t k = 0; k < nb; k++)
				acc += batch_parse(&b, bodies[k].data, bodies[k].len, NULL, err) == 0;
			t1 = time_mono_ns();
			best[10] = t1 - t0 < best[10] ? t1 - t0 : best[10];
			sink = acc;
		}
		batch_release(&b);
		for (size_t k = 0; k < nb; k++)
			buf_release(&bodies[k]);
		free(bodies);
	}

	row("memchr line split (ceiling)", bytes, n, best[0], "");
	row("jansson json_loadb per line", bytes, n, best[1], "builds a tree");
	row("simdjson json_validate per line", bytes, n, best[2], "copy to padded buffer");
	row("simdjson json_check_record per line", bytes, n, best[3], "object check");
	row("  + 3 required fields + timestamp", bytes, n, best[4], "copy");
	row("  + 3 required fields + timestamp, zero-copy", bytes, n, best[5], "_padded");
	row("C explainer (json_explain) per line", bytes, n, best[6], "error path only");
	row("json_minify per line", bytes, n, best[8], "compact input");
	row("native NDJSON: batch_parse + check_record", bytes, n, best[7], "16 MiB bodies");
	row("native array: batch_parse + check_record", abytes, arecs, best[9], "split+minify+check");
	row("native array: batch_parse alone", abytes, arecs, best[10], "split+minify");
	row("simdjson json_validate of whole 16 MiB arrays", abytes, arecs, best[11],
	    "one parse per body");
	buf_release(&data);
	free(lines);
	return 0;
}
