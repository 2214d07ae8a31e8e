/*
 * json.h - fast JSON checks for the ingest path, and a precise explainer.
 *
 * Validation runs on simdjson (a C++ library, behind the C shim in
 * json_simd.cc): the whole document is checked, structure and UTF-8, at
 * GB/s.  simdjson says only *that* a document is wrong, so on the error
 * path a small strict scanner (json_explain.c) finds *where* and *why*:
 *   invalid JSON at byte 17: expected ':'
 * Byte offsets are 0-based from the start of the bytes passed in.
 *
 * Validity is simdjson's, which is RFC 8259 plus three limits of its DOM
 * parser that the explainer copies exactly:
 *   - nesting deeper than JSON_MAX_DEPTH (1024) objects/arrays fails;
 *   - an integer (no '.', no exponent) must fit int64 or uint64, and any
 *     other number must be finite as a double (1e999 fails, 1e-999 is 0);
 *   - a \u escape of a surrogate must be a high+low pair; a lone one fails.
 * A UTF-8 byte order mark is an error (simdjson 3.0.1 does not skip it).
 * Duplicate keys are valid; lookups see the first.
 *
 * The minifier and the array splitter are lexical: they do not validate.
 * They never join two tokens (a space stays between "1 2"), so a document
 * is valid after minifying exactly when it was valid before.
 *
 * Thread-safety: every function may be called from any thread.  The
 * simdjson parser is per thread (thread-local, reused; inputs over
 * JSON_TLS_CAPACITY get a parser of their own that is freed on return, so
 * a thread never keeps more than a few MiB of parser buffers).
 */
#ifndef TN_JSON_H
#define TN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct buf;

/* Deepest nesting of objects and arrays simdjson's DOM parser accepts.
 * The explainer and the array splitter use the same cap so all three
 * agree; the explainer is iterative, so this bounds its stack too. */
#define JSON_MAX_DEPTH 1024

/* Readable bytes the zero-copy checks need after the input (simdjson's
 * SIMDJSON_PADDING; json_simd.cc asserts they are equal). */
#define JSON_PADDING 64

/* Largest input the per-thread parser is sized for (see above). */
#define JSON_TLS_CAPACITY (256u << 10)

/* Room for a timestamp value copied out of a record (NUL included). */
#define JSON_TS_MAX 64

/* What json_check_record must find in a record.  All fields optional. */
struct json_want {
	const char *const *required; /* top-level names that must be present, not null */
	size_t nrequired;
	const char *ts_field;        /* top-level timestamp field, or NULL / "" */
};

enum json_ts_kind {
	JSON_TS_NONE,   /* no ts_field asked, or the field is absent or null */
	JSON_TS_STRING, /* ts holds the string value, unescaped */
	JSON_TS_NUMBER, /* ts_num holds it; ts holds its decimal text */
};

/* What json_check_record found in a valid record. */
struct json_found {
	bool multiline;          /* a raw CR or LF outside strings: minify before storing */
	enum json_ts_kind ts_kind;
	char ts[JSON_TS_MAX];    /* NUL-terminated; may hold NULs from \u0000, so use ts_len */
	size_t ts_len;
	double ts_num;           /* JSON_TS_NUMBER: the value */
};

/* Where and why a document is invalid (from the explainer). */
struct json_error {
	long index;              /* json_array_split: 0-based element, -1 if none */
	size_t off;              /* byte offset of the error (see each function) */
	char msg[128];           /* "expected ':'", "invalid UTF-8", ... */
};

/*
 * Checks one record: p[0..n) must be one valid JSON document, and an
 * object; every want->required field must be present and not null;
 * want->ts_field, if present and not null, must be a string (at most
 * JSON_TS_MAX - 1 bytes unescaped) or a number and is copied to found.
 * Parse it with time_parse(found->ts, found->ts_len, &ms) (core/timeutil.h):
 * a number comes as its decimal text ("1732240410" for an integer; a
 * fraction or exponent makes it fail there, and ts_num has the value).
 * want and found may be NULL.  Copies p into the parser's padded buffer.
 * Returns 0, or TN_EINVAL with err (TN_ERRLEN) set to one of
 *   "invalid JSON at byte 17: expected ':'"
 *   "record must be a JSON object, got array"
 *   "missing required field 'patient_id'"
 *   "timestamp field 'ts' must be a string or a number, got object"
 *   "timestamp field 'ts' is 70 bytes, over the 63 byte limit"
 * found is filled only on success.  TN_EINTERNAL if simdjson failed
 * otherwise (out of memory).
 */
int json_check_record(const char *p, size_t n, const struct json_want *want,
		      struct json_found *found, char *err);

/*
 * json_check_record without the copy: the caller guarantees that
 * p[n .. n + JSON_PADDING) is readable memory (its content does not
 * matter), e.g. because p lies inside a buffer allocated with
 * JSON_PADDING spare bytes.  Reading past an unpadded input is undefined
 * behaviour that no sanitizer may catch.
 */
int json_check_record_padded(const char *p, size_t n, const struct json_want *want,
			     struct json_found *found, char *err);

/*
 * Checks that p[0..n) is one valid JSON document of any type.  Returns 0
 * or TN_EINVAL with err "invalid JSON at byte N: why".  err may be NULL.
 */
int json_validate(const char *p, size_t n, char *err);

/* simdjson's kernel chosen for this CPU at run time ("haswell" for AVX2,
 * "westmere" for SSE4.2, "fallback"...): a static string, for logs and
 * benchmarks. */
const char *json_simd_kernel(void);

/*
 * The explainer: a strict scanner that agrees with simdjson on validity.
 * Returns 0 if p[0..n) is one valid document, else TN_EINVAL with e->off
 * (0-based, n for "unexpected end of input") and e->msg; e->index = -1.
 * O(n) time, O(JSON_MAX_DEPTH) space, no allocation.  Slower than
 * json_validate: meant for the error path.
 */
int json_explain(const char *p, size_t n, struct json_error *e);

/*
 * Appends to out a copy of p[0..n) without the whitespace (space, tab, CR,
 * LF) outside strings, keeping one space where removing it would join two
 * tokens.  Strings are copied byte for byte (an escaped "\n" stays).  The
 * input should be valid JSON (check it first); invalid input is copied
 * minified but stays invalid.  Returns 0, or TN_ETOOBIG when out would
 * pass its max (out is then unchanged).
 */
int json_minify(const char *p, size_t n, struct buf *out);

/* One element of a top-level array, as json_array_split found it. */
struct json_elem {
	size_t index;    /* 0-based */
	size_t src_off;  /* where the element starts in the input */
	size_t src_len;  /* its length there, as written */
	size_t off;      /* where its minified copy starts in out->data */
	size_t len;      /* the minified length */
};

/*
 * Called once per element, in order.  The element's bytes are
 * out->data + e->off (re-read out->data each call: appends move it).
 * Return 0 to go on, or a negative TN code (with err set) to stop.
 */
typedef int (*json_elem_fn)(void *arg, const struct json_elem *e, char *err);

/*
 * Splits a top-level JSON array p[0..n) into its elements, appending each
 * one minified to out and calling fn for it.  Lexical: the array's
 * structure is checked (brackets, commas, strings closed, depth), the
 * elements' contents are not -- validate each with json_check_record.
 * Returns 0 (an empty array calls fn never), the code fn returned, or
 *   TN_EINVAL "expected a JSON array, got object" (p does not start with '[')
 *   TN_EINVAL "element 2: invalid JSON at byte 5: expected ',' or ']'"
 *   TN_ETOOBIG when out passes its max.
 * For a broken array the explainer gives the first error in p; the
 * element is the one holding that byte (or the last one before it) and
 * byte is relative to that element's first byte (relative to p if it is
 * outside every element, e.g. "trailing characters").  If je is not
 * NULL it receives the index (-1 if none), that offset and the bare
 * reason, for callers that word the message themselves.
 */
int json_array_split(const char *p, size_t n, struct buf *out, json_elem_fn fn, void *arg,
		     struct json_error *je, char *err);

#ifdef __cplusplus
}
#endif

#endif
