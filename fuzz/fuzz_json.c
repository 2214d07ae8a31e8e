/*
 * fuzz_json.c - libFuzzer target for core/json.h and stream/batch.h.
 *
 * Properties checked on every input (abort() on a violation):
 *   1. the C explainer and simdjson agree on validity, and an error offset
 *      lies within [0, n];
 *   2. json_minify keeps validity (valid in <=> valid out) and leaves no
 *      CR or LF in a valid document;
 *   3. json_check_record never crashes, and accepts exactly the valid
 *      objects (with no fields asked);
 *   4. batch_parse, with and without an NDJSON Content-Type, returns 0 with
 *      1..TN_MAX_BATCH_RECORDS records of 1..TN_MAX_RECORD bytes, no LF in
 *      any NDJSON record, or an error with no records; a valid array
 *      always splits, and its elements come out valid.
 *
 * Build (the Makefile's fuzz rule may differ):
 *   clang -fsanitize=fuzzer,address,undefined -Isrc fuzz/fuzz_json.c \
 *     src/core/json_explain.c src/core/buf.c src/core/err.c src/core/mem.c \
 *     src/stream/batch.c build/fuzz/json_simd.o -lsimdjson -lstdc++ -lm
 * where json_simd.o is src/core/json_simd.cc compiled by clang++ with the
 * same sanitizers.  With -DFUZZ_STANDALONE it builds with any compiler into
 * a program that runs the files named on its command line (to replay a
 * crash or a corpus without libFuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/limits.h"
#include "stream/batch.h"
#include "core/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                            \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz_json: property failed: %s (line %d)\n", \
				#cond, __LINE__);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

/* Whether p[0..n) has a CR or LF outside strings (for a valid document:
 * anywhere, as raw ones inside strings are invalid). */
static int has_newline(const char *p, size_t n)
{
	return memchr(p, '\n', n) || memchr(p, '\r', n);
}

static void check_batch(const char *p, size_t n, const char *ct, int valid_array)
{
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	int rc = batch_parse(&b, p, n, ct, err);
	if (rc) {
		REQUIRE(rc == TN_EINVAL || rc == TN_ETOOBIG);
		REQUIRE(b.n == 0);
		REQUIRE(err[0] != '\0');
		/* a valid array always splits (unless empty or over a cap) */
		if (valid_array)
			REQUIRE(rc == TN_ETOOBIG || strcmp(err, "no records") == 0);
	} else {
		REQUIRE(b.n >= 1 && b.n <= TN_MAX_BATCH_RECORDS);
		for (size_t i = 0; i < b.n; i++) {
			REQUIRE(b.recs[i].data != NULL);
			REQUIRE(b.recs[i].len >= 1 && b.recs[i].len <= TN_MAX_RECORD);
			if (b.format == BATCH_NDJSON)
				REQUIRE(memchr(b.recs[i].data, '\n', b.recs[i].len) == NULL);
			if (b.format == BATCH_ARRAY && valid_array)
				REQUIRE(json_validate(b.recs[i].data, b.recs[i].len, NULL) == 0);
		}
	}
	batch_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char err[TN_ERRLEN];
	struct json_error je;

	/* 1 */
	int simd = json_validate(p, size, err) == 0;
	int expl = json_explain(p, size, &je) == 0;
	REQUIRE(simd == expl);
	if (!expl)
		REQUIRE(je.off <= size && je.msg[0] != '\0');

	/* 2 */
	struct buf m = BUF_INIT(0);
	REQUIRE(json_minify(p, size, &m) == 0);
	REQUIRE(m.len <= size);
	REQUIRE((json_explain(m.data, m.len, NULL) == 0) == expl);
	if (expl)
		REQUIRE(!has_newline(m.data, m.len));
	buf_release(&m);

	/* 3 */
	struct json_found f;
	int rc = json_check_record(p, size, NULL, &f, err);
	int is_object = 0;
	if (expl) {
		size_t i = 0;
		while (i < size && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
			i++;
		is_object = p[i] == '{';
	}
	REQUIRE((rc == 0) == (expl && is_object));
	if (rc == 0)
		REQUIRE(f.multiline == has_newline(p, size));

	/* 4 */
	int valid_array = 0;
	if (expl) {
		size_t i = 0;
		while (i < size && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
			i++;
		valid_array = p[i] == '[';
	}
	check_batch(p, size, NULL, valid_array);
	check_batch(p, size, "application/x-ndjson", 0);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp) {
			perror(argv[i]);
			return 1;
		}
		struct buf b = BUF_INIT(0);
		char chunk[65536];
		size_t got;
		while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			buf_append(&b, chunk, got);
		fclose(fp);
		LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
		buf_release(&b);
		printf("ok %s\n", argv[i]);
	}
	return 0;
}
#endif
