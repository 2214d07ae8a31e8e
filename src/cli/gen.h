/*
 * gen.h - deterministic synthetic data: immunization events as NDJSON.
 *
 * `tarn gen immunizations` and the benchmarks and tests share this
 * generator.  Output depends only on (seed, start, span): the generator has
 * its own PRNG (xoshiro256** seeded through splitmix64) and never reads the
 * clock, so the same arguments always print the same bytes, on any machine.
 *
 * The data is shaped like a state immunization registry feed: patients
 * come to visits at a clinic or pharmacy near home and get the vaccines due
 * for their age (an infant's 2-month visit gives DTaP, IPV, Hib, PCV13,
 * rotavirus and Hep B, each its own event, with the dose number of the
 * schedule); some patients come back.  Every identifier is fabricated.
 *
 * A struct gen is plain memory owned by one thread; no release is needed.
 */
#ifndef TN_GEN_H
#define TN_GEN_H

#include <stdint.h>

struct buf;

/* Vaccines given at one visit, at most. */
#define GEN_MAX_VISIT 8

struct gen {
	uint64_t s[4];        /* xoshiro256** state of the event stream */
	uint64_t seed;
	int64_t start_ms;     /* administered_at lies in [start_ms, start_ms + span_ms) */
	int64_t span_ms;
	uint64_t events;      /* events generated so far */
	uint64_t patients;    /* patients created so far (ids 0..patients-1) */
	/* The visit being emitted: one event per vaccine left in it. */
	uint64_t visit_patient;
	int64_t visit_ms;
	unsigned visit_site;  /* picks the facility and provider of the visit */
	unsigned visit_n, visit_i;
	unsigned short visit_vax[GEN_MAX_VISIT];  /* index into the vaccine table */
	unsigned char visit_dose[GEN_MAX_VISIT];
};

/*
 * The default end of the time window for a seed: a fixed instant in
 * 2025-2026 chosen by the seed, so default output never depends on the
 * clock.  The default window is the 30 days before it.
 */
int64_t gen_default_end_ms(uint64_t seed);

/*
 * Starts a generator.  Events get administered_at in
 * [start_ms, start_ms + span_ms); span_ms <= 0 means one day.
 */
void gen_init(struct gen *g, uint64_t seed, int64_t start_ms, int64_t span_ms);

/*
 * Appends one immunization event to out: a JSON object on one line, with
 * the trailing '\n' (about 940 bytes).  Returns 0, or TN_ETOOBIG if out is
 * at its cap (out is then unchanged).
 */
int gen_immunization(struct gen *g, struct buf *out);

/* The generator's PRNG: the next 64 random bits (xoshiro256**). */
uint64_t gen_next(struct gen *g);

#endif
