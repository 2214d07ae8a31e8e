/*
 * types_int.h - internals shared by types.c (the type table, numbers,
 * bytea, uuid, text) and types_time.c (dates, times, timestamps,
 * intervals); nothing outside src/pg/ includes it.
 */
#ifndef TN_PG_TYPES_INT_H
#define TN_PG_TYPES_INT_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

/* TN_EINVAL with "invalid input syntax for type <name>: '<value>'" (value cut at 64 bytes). */
int pgtype_bad(char *err, uint32_t oid, const char *s, size_t n);
/* TN_EINVAL with "value out of range for type <name>". */
int pgtype_range(char *err, uint32_t oid);

/*
 * The date and time types (DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ,
 * INTERVAL), with the contracts of pgtype_text_out, pgtype_binary_out,
 * pgtype_binary_in and pgtype_text_in; out may be left partly written on
 * error (the public functions truncate it back).
 */
int pgtime_text_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);
int pgtime_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);
int pgtime_binary_in(uint32_t oid, const uint8_t *p, size_t n, struct buf *out, char *err);
int pgtime_text_in(uint32_t oid, const char *s, size_t n, struct buf *out, char *err);

/* Appends v as a big-endian integer of bytes (1..8) bytes. */
static inline int pgtype_put_be(struct buf *out, uint64_t v, int bytes)
{
	uint8_t p[8];
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return buf_append(out, p, (size_t)bytes);
}

static inline uint64_t pgtype_get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* a / b rounded toward negative infinity (b > 0). */
static inline int64_t pgtype_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* s[0..n) equals word, ignoring ASCII case. */
static inline bool pgtype_ieq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Trims ASCII whitespace on both ends of s[0..n). */
static inline void pgtype_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

#endif
