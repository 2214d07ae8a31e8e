/*
 * timeutil.h - clocks and UTC calendar formatting (thread-safe).
 */
#ifndef TN_TIMEUTIL_H
#define TN_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, milliseconds since the Unix epoch (UTC). */
int64_t time_now_ms(void);
/* Monotonic clock in nanoseconds, for durations and timeouts. */
int64_t time_mono_ns(void);

struct utc {
	int year, month, day, hour, min, sec, ms;
};
/* Splits epoch milliseconds into UTC calendar fields. */
void time_utc(int64_t ms, struct utc *out);
/* Inverse of time_utc (fields must be in range). */
int64_t time_from_utc(const struct utc *u);
/* "2026-11-22T01:53:30.123Z" */
void time_format_iso_ms(int64_t ms, char *out, size_t n);
/* "Sun, 22 Nov 2026 01:53:30 GMT" (HTTP dates: Last-Modified) */
void time_format_http(int64_t ms, char *out, size_t n);
/* "20261122T015330Z" (AWS x-amz-date) */
void time_format_amz(int64_t ms, char *out, size_t n);
/*
 * Parses an ISO-8601 / RFC 3339 timestamp ("2026-11-22", "2026-11-22T01:53:30Z",
 * "2026-11-22 01:53:30.5+02:00"), an AWS basic-format date
 * ("20261122T015330Z"), or epoch seconds/milliseconds as digits (a value
 * above 1e11 is taken as milliseconds).  Returns 0 and *ms, or TN_EINVAL.
 */
int time_parse(const char *s, size_t n, int64_t *ms);

#endif
