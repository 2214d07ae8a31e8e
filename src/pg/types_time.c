/*
 * types_time.c - the date and time types between DuckDB's text and
 * PostgreSQL's text and binary forms (see types.h; called through
 * types_int.h by the dispatch in types.c).
 *
 * Design:
 *   - dates and timestamps become (days since 2000-01-01, microseconds of
 *     the day, offset east of UTC) on the proleptic Gregorian calendar,
 *     years of any size, BC as astronomical years (1 BC = year 0, so
 *     "0045-03-15 (BC)" is year -44);
 *   - one parser reads both DuckDB's forms ("0045-03-15 (BC) 01:02:03+00")
 *     and PostgreSQL's ("0045-03-15 01:02:03+00 BC"); two renderers write
 *     them (STYLE_PG for results, STYLE_DUCK for parameters DuckDB casts);
 *   - intervals become PostgreSQL's three fields (months, days,
 *     microseconds); one parser reads DuckDB's output and PostgreSQL's
 *     input styles, with PostgreSQL's rules for fractional units (a
 *     fraction of a month is 30 days, of a week or day goes down to
 *     time); results print in IntervalStyle 'postgres', parameters as
 *     "M months D days U microseconds", which DuckDB reads exactly;
 *   - fractions past microseconds (TIMESTAMP_NS, TIME_NS) are truncated,
 *     as DuckDB's own casts to microsecond types do.
 * Checked against PostgreSQL 15's send and output functions for the values of
 * tests/unit/test_pgtypes.c.
 *
 * Invariants: reads stay inside [s, s+n); every sum and product of
 * microseconds is overflow-checked; INT64_MIN/MAX (and INT32_MIN/MAX for
 * dates) are PostgreSQL's -infinity/infinity and never a finite value.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "pg/types.h"
#include "pg/types_int.h"
#include "core/banned.h"

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_MIN (60 * USECS_PER_SEC)
#define USECS_PER_HOUR (60 * USECS_PER_MIN)
#define USECS_PER_DAY (24 * USECS_PER_HOUR)
#define EPOCH_2000 10957   /* days from 1970-01-01 to 2000-01-01 */

/*
 * PostgreSQL's valid ranges (timestamp.h IS_VALID_DATE, IS_VALID_TIMESTAMP):
 * dates 4714-11-24 BC to 5874897-12-31, timestamps 4714-11-24 BC to
 * 294276-12-31, counted from 2000-01-01.  Binary parameters outside are
 * refused as PostgreSQL's date_recv / timestamp_recv do.
 */
#define PG_DATE_MIN (-2451545)
#define PG_DATE_END (2147483494 - 2451545)
#define PG_TS_MIN INT64_C(-211813488000000000)
#define PG_TS_END INT64_C(9223371331200000000)

/* Reads mind..maxd digits at *p (< e) into *v, refusing more; advances *p. */
static bool digits(const char **p, const char *e, int mind, int maxd, int64_t *v)
{
	int k = 0;
	int64_t acc = 0;
	while (*p < e && **p >= '0' && **p <= '9' && k < maxd) {
		acc = acc * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	if (k < mind || (*p < e && **p >= '0' && **p <= '9'))
		return false;
	*v = acc;
	return true;
}

/* ---- calendar ----------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (astronomical year). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                               /* 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* 0..146096 */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

/* ---- timestamps -------------------------------------------------------------- */

struct ts {
	int inf;          /* +1 infinity, -1 -infinity, 0 finite */
	int64_t days;     /* since 2000-01-01 */
	int64_t usec;     /* of the day, 0..USECS_PER_DAY */
	bool has_date, has_time, has_tz;
	int32_t tz;       /* offset east of UTC, seconds */
	int frac_digits;  /* digits of fraction in the text */
	bool bc_text;     /* the text said BC */
};

/* [+-]HH[:MM[:SS]] or [+-]HHMM, or Z. */
static bool parse_offset(const char **pp, const char *e, int32_t *tz)
{
	const char *p = *pp;
	if (p < e && (*p == 'Z' || *p == 'z')) {
		*tz = 0;
		*pp = p + 1;
		return true;
	}
	if (p >= e || (*p != '+' && *p != '-'))
		return false;
	int sign = *p++ == '-' ? -1 : 1;
	int64_t h = 0, m = 0, s = 0;
	const char *q = p;
	if (!digits(&p, e, 1, 4, &h))
		return false;
	if (p - q == 4) {  /* HHMM */
		m = h % 100;
		h /= 100;
	} else if (p < e && *p == ':') {
		p++;
		if (!digits(&p, e, 2, 2, &m))
			return false;
		if (p < e && *p == ':') {
			p++;
			if (!digits(&p, e, 2, 2, &s))
				return false;
		}
	}
	if (h > 15 || m > 59 || s > 59)
		return false;
	*tz = (int32_t)(sign * (h * 3600 + m * 60 + s));
	*pp = p;
	return true;
}

/* HH:MM[:SS[.fraction]] of a day (24:00:00 allowed). */
static bool parse_clock(const char **pp, const char *e, int64_t *usec, int *frac_digits)
{
	const char *p = *pp;
	int64_t h, m, s = 0, f = 0;
	int fd = 0;
	if (!digits(&p, e, 1, 2, &h) || p >= e || *p != ':')
		return false;
	p++;
	if (!digits(&p, e, 2, 2, &m))
		return false;
	if (p < e && *p == ':') {
		p++;
		if (!digits(&p, e, 2, 2, &s))
			return false;
		if (p < e && *p == '.') {
			p++;
			if (p >= e || *p < '0' || *p > '9')
				return false;
			while (p < e && *p >= '0' && *p <= '9') {
				if (fd < 6)
					f = f * 10 + (*p - '0');
				fd++;
				p++;
			}
			for (int k = fd; k < 6; k++)
				f *= 10;
		}
	}
	if (h > 24 || m > 59 || s > 59 || (h == 24 && (m || s || f)))
		return false;
	*usec = ((h * 60 + m) * 60 + s) * USECS_PER_SEC + f;
	*frac_digits = fd;
	*pp = p;
	return true;
}

static bool word_at(const char *p, const char *e, const char *w)
{
	size_t l = strlen(w);
	return (size_t)(e - p) >= l && strncasecmp(p, w, l) == 0;
}

/*
 * A date or timestamp in DuckDB's or PostgreSQL's ISO form:
 *   YYYY-MM-DD [(BC)|BC] [HH:MM[:SS[.f]]] [offset] [BC]    (T also separates)
 * or [+-]infinity.  want_date false: a bare time [offset].
 */
static bool parse_ts(const char *s, size_t n, bool want_date, struct ts *t)
{
	memset(t, 0, sizeof *t);
	pgtype_trim(&s, &n);
	if (pgtype_ieq(s, n, "infinity") || pgtype_ieq(s, n, "+infinity")) {
		t->inf = 1;
		return want_date;
	}
	if (pgtype_ieq(s, n, "-infinity")) {
		t->inf = -1;
		return want_date;
	}
	const char *p = s, *e = s + n;
	bool bc = false;
	if (want_date) {
		int64_t y, mo, d;
		if (!digits(&p, e, 1, 9, &y) || p >= e || *p != '-')
			return false;
		p++;
		if (!digits(&p, e, 1, 2, &mo) || p >= e || *p != '-')
			return false;
		p++;
		if (!digits(&p, e, 1, 2, &d))
			return false;
		if (word_at(p, e, " (BC)")) {
			bc = true;
			p += 5;
		} else if (word_at(p, e, " BC") && (p + 3 == e || p[3] == ' ')) {
			bc = true;
			p += 3;
		}
		if (y < 1 || mo < 1 || mo > 12 || d < 1)
			return false;
		int64_t ay = bc ? 1 - y : y;
		if (d > days_in_month(ay, (int)mo))
			return false;
		t->days = days_from_civil(ay, (int)mo, (int)d) - EPOCH_2000;
		t->has_date = true;
		if (p < e && (*p == ' ' || *p == 'T' || *p == 't') && p + 1 < e &&
		    p[1] >= '0' && p[1] <= '9')
			p++;
		else if (p < e && !(*p == ' '))
			return false;
	}
	if (p < e && *p >= '0' && *p <= '9') {
		if (!parse_clock(&p, e, &t->usec, &t->frac_digits))
			return false;
		t->has_time = true;
		while (p < e && *p == ' ' && p + 1 < e && (p[1] == '+' || p[1] == '-'))
			p++;
		if (p < e && (*p == '+' || *p == '-' || *p == 'Z' || *p == 'z')) {
			if (!parse_offset(&p, e, &t->tz))
				return false;
			t->has_tz = true;
		}
	}
	if (want_date && !bc && word_at(p, e, " BC") && p + 3 == e) {
		bc = true;
		p += 3;
		/* PostgreSQL puts BC last: redo the day with the astronomical year. */
		int64_t y;
		int mo, d;
		civil_from_days(t->days + EPOCH_2000, &y, &mo, &d);
		t->days = days_from_civil(1 - y, mo, d) - EPOCH_2000;
	}
	t->bc_text = bc;
	return p == e;
}

/* Microseconds since 2000-01-01 00:00 (local), overflow-checked. */
static bool ts_usec(const struct ts *t, int64_t *v)
{
	int64_t a;
	if (__builtin_mul_overflow(t->days, USECS_PER_DAY, &a) ||
	    __builtin_add_overflow(a, t->usec, &a))
		return false;
	/* INT64_MIN and INT64_MAX mean -infinity and infinity */
	if (a == INT64_MIN || a == INT64_MAX)
		return false;
	*v = a;
	return true;
}

/* Appends "YYYY-MM-DD" (4+ digit year; BC marks per style). */
enum style { STYLE_PG, STYLE_DUCK };

static int put_date(struct buf *out, int64_t days2000, enum style st, bool *bc)
{
	int64_t y;
	int m, d;
	civil_from_days(days2000 + EPOCH_2000, &y, &m, &d);
	*bc = y <= 0;
	int rc = buf_printf(out, "%04lld-%02d-%02d", (long long)(*bc ? 1 - y : y), m, d);
	if (!rc && *bc && st == STYLE_DUCK)
		rc = buf_puts(out, " (BC)");
	return rc;
}

/* HH:MM:SS[.ffffff] with trailing zeros of the fraction dropped. */
static int put_clock(struct buf *out, int64_t usec)
{
	int64_t s = usec / USECS_PER_SEC, f = usec % USECS_PER_SEC;
	int rc = buf_printf(out, "%02lld:%02lld:%02lld", (long long)(s / 3600),
			    (long long)(s / 60 % 60), (long long)(s % 60));
	if (!rc && f) {
		char fr[8];
		snprintf(fr, sizeof fr, "%06lld", (long long)f);
		size_t l = 6;
		while (l > 1 && fr[l - 1] == '0')
			l--;
		rc = buf_putc(out, '.');
		if (!rc)
			rc = buf_append(out, fr, l);
	}
	return rc;
}

/* +HH[:MM[:SS]] for an offset east of UTC. */
static int put_offset(struct buf *out, int32_t tz)
{
	int32_t a = tz < 0 ? -tz : tz;
	int rc = buf_printf(out, "%c%02d", tz < 0 ? '-' : '+', a / 3600);
	if (!rc && (a % 3600))
		rc = buf_printf(out, ":%02d", a / 60 % 60);
	if (!rc && (a % 60))
		rc = buf_printf(out, ":%02d", a % 60);
	return rc;
}

/* A timestamp (µs since 2000, or ±infinity) in PG or DuckDB style, optionally with +tz. */
static int put_timestamp(struct buf *out, int64_t v, enum style st, bool with_tz, int32_t tz)
{
	if (v == INT64_MAX)
		return buf_puts(out, "infinity");
	if (v == INT64_MIN)
		return buf_puts(out, "-infinity");
	int64_t days = pgtype_floordiv(v, USECS_PER_DAY);
	int64_t tod = v % USECS_PER_DAY;  /* not v - days * DAY: that overflows near INT64_MIN */
	if (tod < 0)
		tod += USECS_PER_DAY;
	bool bc;
	int rc = put_date(out, days, st, &bc);
	if (!rc)
		rc = buf_putc(out, ' ');
	if (!rc)
		rc = put_clock(out, tod);
	if (!rc && with_tz)
		rc = put_offset(out, tz);
	if (!rc && bc && st == STYLE_PG)
		rc = buf_puts(out, " BC");
	return rc;
}

/* ---- intervals ------------------------------------------------------------------- */

struct iv {
	int64_t months, days, usec;
};

/* Adds ip + f9 / 1e9 units of unit_usec microseconds (f9 signed like ip). */
static bool iv_add_usec(struct iv *v, int64_t ip, int64_t f9, int64_t unit_usec)
{
	int64_t a, b;
	if (__builtin_mul_overflow(ip, unit_usec, &a))
		return false;
	/* f9 * unit / 1e9 without overflow: unit_usec <= 7 days of µs */
	b = (int64_t)((long double)f9 * (long double)unit_usec / 1e9L);
	return !__builtin_add_overflow(v->usec, a, &v->usec) &&
	       !__builtin_add_overflow(v->usec, b, &v->usec);
}

/* A unit name (singular, plural, abbreviations) -> kind. */
enum ukind { U_NONE, U_YEAR, U_MONTH, U_WEEK, U_DAY, U_HOUR, U_MIN, U_SEC, U_MSEC, U_USEC };

static enum ukind unit_of(const char *p, size_t n)
{
	static const struct {
		const char *w;
		enum ukind k;
	} u[] = {
		{ "year", U_YEAR }, { "years", U_YEAR }, { "yr", U_YEAR }, { "yrs", U_YEAR },
		{ "y", U_YEAR }, { "month", U_MONTH }, { "months", U_MONTH }, { "mon", U_MONTH },
		{ "mons", U_MONTH }, { "week", U_WEEK }, { "weeks", U_WEEK }, { "w", U_WEEK },
		{ "day", U_DAY }, { "days", U_DAY }, { "d", U_DAY }, { "hour", U_HOUR },
		{ "hours", U_HOUR }, { "hr", U_HOUR }, { "hrs", U_HOUR }, { "h", U_HOUR },
		{ "minute", U_MIN }, { "minutes", U_MIN }, { "min", U_MIN }, { "mins", U_MIN },
		{ "m", U_MIN }, { "second", U_SEC }, { "seconds", U_SEC }, { "sec", U_SEC },
		{ "secs", U_SEC }, { "s", U_SEC }, { "millisecond", U_MSEC },
		{ "milliseconds", U_MSEC }, { "msec", U_MSEC }, { "msecs", U_MSEC },
		{ "ms", U_MSEC }, { "microsecond", U_USEC }, { "microseconds", U_USEC },
		{ "usec", U_USEC }, { "usecs", U_USEC }, { "us", U_USEC },
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
		if (pgtype_ieq(p, n, u[i].w))
			return u[i].k;
	return U_NONE;
}

/* A number token [+-]digits[.digits] -> ip and f9 (nanofraction, same sign). */
static bool number_tok(const char *p, size_t n, int64_t *ip, int64_t *f9)
{
	size_t i = 0;
	int sign = 1;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		sign = p[i++] == '-' ? -1 : 1;
	size_t d0 = i;
	uint64_t a = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9') {
		if (a > (uint64_t)INT64_MAX / 10)
			return false;
		a = a * 10 + (uint64_t)(p[i++] - '0');
	}
	if (a > (uint64_t)INT64_MAX)
		return false;
	size_t nd = i - d0;
	int64_t f = 0;
	if (i < n && p[i] == '.') {
		i++;
		int k = 0;
		while (i < n && p[i] >= '0' && p[i] <= '9') {
			if (k < 9) {
				f = f * 10 + (p[i] - '0');
				k++;
			}
			i++;
			nd++;
		}
		for (; k < 9; k++)
			f *= 10;
	}
	if (nd == 0 || i != n)
		return false;
	*ip = sign * (int64_t)a;
	*f9 = sign * f;
	return true;
}

/*
 * An interval in DuckDB's output form ("1 year 2 months 3 days -04:05:06.5")
 * or PostgreSQL's input styles ("1 year 2 mons -3 days +04:05:06.5",
 * "@ 1 day ago", "0 years 0 mons 1 days 0 hours 0 mins 0.0 secs",
 * "1.5 days", "10" seconds).
 */
static bool parse_interval(const char *s, size_t n, struct iv *v)
{
	memset(v, 0, sizeof *v);
	const char *p = s, *e = s + n;
	bool ago = false, any = false;
	while (p < e) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p >= e)
			break;
		const char *t = p;
		while (p < e && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		size_t tl = (size_t)(p - t);
		if (tl == 1 && *t == '@')
			continue;
		if (pgtype_ieq(t, tl, "ago")) {
			ago = true;
			continue;
		}
		if (memchr(t, ':', tl)) {  /* [+-]H+:MM[:SS[.f]] */
			const char *q = t, *qe = t + tl;
			int sign = 1;
			if (*q == '+' || *q == '-')
				sign = *q++ == '-' ? -1 : 1;
			int64_t h, m, sec = 0, f = 0;
			if (!digits(&q, qe, 1, 10, &h) || q >= qe || *q != ':')
				return false;
			q++;
			if (!digits(&q, qe, 1, 2, &m) || m > 59)
				return false;
			if (q < qe && *q == ':') {
				q++;
				if (!digits(&q, qe, 1, 2, &sec) || sec > 59)
					return false;
				if (q < qe && *q == '.') {
					q++;
					int k = 0;
					if (q >= qe)
						return false;
					while (q < qe && *q >= '0' && *q <= '9') {
						if (k < 6) {
							f = f * 10 + (*q - '0');
							k++;
						}
						q++;
					}
					for (; k < 6; k++)
						f *= 10;
				}
			}
			if (q != qe)
				return false;
			int64_t u;
			if (__builtin_mul_overflow(h, USECS_PER_HOUR, &u) ||
			    __builtin_add_overflow(u, m * USECS_PER_MIN + sec * USECS_PER_SEC + f, &u) ||
			    __builtin_add_overflow(v->usec, sign * u, &v->usec))
				return false;
			any = true;
			continue;
		}
		int64_t ip, f9;
		if (!number_tok(t, tl, &ip, &f9))
			return false;
		/* the unit: the next token, or seconds if none follows */
		const char *u = p;
		while (u < e && (*u == ' ' || *u == '\t'))
			u++;
		const char *ue = u;
		while (ue < e && *ue != ' ' && *ue != '\t' && *ue != ',')
			ue++;
		enum ukind k = unit_of(u, (size_t)(ue - u));
		if (k == U_NONE)
			k = U_SEC;
		else
			p = ue;
		bool ok = true;
		int64_t x;
		switch (k) {
		case U_YEAR:
			ok = !__builtin_mul_overflow(ip, 12, &x) &&
			     !__builtin_add_overflow(v->months, x + f9 * 12 / 1000000000, &v->months);
			break;
		case U_MONTH:
			ok = !__builtin_add_overflow(v->months, ip, &v->months);
			if (ok && f9) {  /* a fraction of a month is 30 days */
				int64_t fd = f9 * 30;
				v->days += fd / 1000000000;
				ok = iv_add_usec(v, 0, fd % 1000000000, USECS_PER_DAY);
			}
			break;
		case U_WEEK:  /* a fraction of a week is days, then time */
			ok = !__builtin_mul_overflow(ip, 7, &x) &&
			     !__builtin_add_overflow(v->days, x + f9 * 7 / 1000000000, &v->days) &&
			     iv_add_usec(v, 0, f9 * 7 % 1000000000, USECS_PER_DAY);
			break;
		case U_DAY:
			ok = !__builtin_add_overflow(v->days, ip, &v->days) &&
			     iv_add_usec(v, 0, f9, USECS_PER_DAY);
			break;
		case U_HOUR: ok = iv_add_usec(v, ip, f9, USECS_PER_HOUR); break;
		case U_MIN: ok = iv_add_usec(v, ip, f9, USECS_PER_MIN); break;
		case U_SEC: ok = iv_add_usec(v, ip, f9, USECS_PER_SEC); break;
		case U_MSEC: ok = iv_add_usec(v, ip, f9, 1000); break;
		case U_USEC: ok = iv_add_usec(v, ip, f9, 1); break;
		case U_NONE: ok = false; break;
		}
		if (!ok)
			return false;
		any = true;
	}
	if (!any)
		return false;
	if (ago) {
		v->months = -v->months;
		v->days = -v->days;
		v->usec = -v->usec;
	}
	return v->months >= INT32_MIN && v->months <= INT32_MAX && v->days >= INT32_MIN &&
	       v->days <= INT32_MAX && v->usec != INT64_MIN;
}

/* One "N unit(s)" part of PostgreSQL's interval style (AddPostgresIntPart). */
static int put_iv_part(struct buf *out, int64_t v, const char *unit, bool *is_zero,
		       bool *is_before)
{
	if (v == 0)
		return 0;
	int rc = buf_printf(out, "%s%s%lld %s%s", *is_zero ? "" : " ",
			    *is_before && v > 0 ? "+" : "", (long long)v, unit, v != 1 ? "s" : "");
	*is_before = v < 0;
	*is_zero = false;
	return rc;
}

/* PostgreSQL's IntervalStyle 'postgres' (the default). */
static int put_interval_pg(struct buf *out, const struct iv *v)
{
	bool is_zero = true, is_before = false;
	int rc = put_iv_part(out, v->months / 12, "year", &is_zero, &is_before);
	if (!rc)
		rc = put_iv_part(out, v->months % 12, "mon", &is_zero, &is_before);
	if (!rc)
		rc = put_iv_part(out, v->days, "day", &is_zero, &is_before);
	if (rc || (!is_zero && v->usec == 0))
		return rc;
	uint64_t a = v->usec < 0 ? (uint64_t)0 - (uint64_t)v->usec : (uint64_t)v->usec;
	uint64_t h = a / (uint64_t)USECS_PER_HOUR, rem = a % (uint64_t)USECS_PER_HOUR;
	rc = buf_printf(out, "%s%s%02llu:%02llu:%02llu", is_zero ? "" : " ",
			v->usec < 0 ? "-" : (is_before ? "+" : ""), (unsigned long long)h,
			(unsigned long long)(rem / (uint64_t)USECS_PER_MIN),
			(unsigned long long)(rem / (uint64_t)USECS_PER_SEC % 60));
	uint64_t f = a % (uint64_t)USECS_PER_SEC;
	if (!rc && f) {
		char fr[8];
		snprintf(fr, sizeof fr, "%06llu", (unsigned long long)f);
		size_t l = 6;
		while (l > 1 && fr[l - 1] == '0')
			l--;
		rc = buf_putc(out, '.');
		if (!rc)
			rc = buf_append(out, fr, l);
	}
	return rc;
}

/* DuckDB reads "M months D days U microseconds" exactly. */
static int put_interval_duck(struct buf *out, const struct iv *v)
{
	return buf_printf(out, "%lld months %lld days %lld microseconds", (long long)v->months,
			  (long long)v->days, (long long)v->usec);
}

/* ---- the four conversions ----------------------------------------------------- */

int pgtime_text_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	if (oid == PG_OID_INTERVAL) {
		struct iv v;
		return parse_interval(s, n, &v) ? put_interval_pg(out, &v)
						: pgtype_bad(err, oid, s, n);
	}
	/* Fast path: no BC, at most 6 digits of fraction: the two forms agree. */
	const char *dot = memchr(s, '.', n);
	size_t fd = 0;
	if (dot)
		while (dot + 1 + fd < s + n && dot[1 + fd] >= '0' && dot[1 + fd] <= '9')
			fd++;
	if (!memchr(s, '(', n) && fd <= 6)
		return buf_append(out, s, n);
	struct ts t;
	if (!parse_ts(s, n, oid != PG_OID_TIME, &t))
		return pgtype_bad(err, oid, s, n);
	if (oid == PG_OID_TIME)
		return put_clock(out, t.usec);
	if (t.inf)
		return buf_puts(out, t.inf > 0 ? "infinity" : "-infinity");
	if (oid == PG_OID_DATE) {
		bool bc;
		int rc = put_date(out, t.days, STYLE_PG, &bc);
		if (!rc && bc)
			rc = buf_puts(out, " BC");
		return rc;
	}
	int64_t v;
	if (!ts_usec(&t, &v))
		return pgtype_range(err, oid);
	return put_timestamp(out, v, STYLE_PG, t.has_tz, t.tz);
}

int pgtime_binary_out(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	if (oid == PG_OID_INTERVAL) {
		struct iv v;
		if (!parse_interval(s, n, &v))
			return pgtype_bad(err, oid, s, n);
		int rc = pgtype_put_be(out, (uint64_t)v.usec, 8);
		if (!rc)
			rc = pgtype_put_be(out, (uint64_t)(uint32_t)(int32_t)v.days, 4);
		if (!rc)
			rc = pgtype_put_be(out, (uint64_t)(uint32_t)(int32_t)v.months, 4);
		return rc;
	}
	struct ts t;
	bool want_date = oid != PG_OID_TIME && oid != PG_OID_TIMETZ;
	if (!parse_ts(s, n, want_date, &t))
		return pgtype_bad(err, oid, s, n);
	switch (oid) {
	case PG_OID_DATE:
		if (t.has_time)
			return pgtype_bad(err, oid, s, n);
		if (t.inf)
			return pgtype_put_be(out, (uint32_t)(t.inf > 0 ? INT32_MAX : INT32_MIN), 4);
		if (t.days <= INT32_MIN || t.days >= INT32_MAX)
			return pgtype_range(err, oid);
		return pgtype_put_be(out, (uint64_t)(uint32_t)(int32_t)t.days, 4);
	case PG_OID_TIME:
		if (!t.has_time || t.has_tz)
			return pgtype_bad(err, oid, s, n);
		return pgtype_put_be(out, (uint64_t)t.usec, 8);
	case PG_OID_TIMETZ: {
		if (!t.has_time || !t.has_tz)
			return pgtype_bad(err, oid, s, n);
		int rc = pgtype_put_be(out, (uint64_t)t.usec, 8);
		/* PostgreSQL keeps the zone as seconds west of UTC */
		return rc ? rc : pgtype_put_be(out, (uint64_t)(uint32_t)(-t.tz), 4);
	}
	default: { /* timestamp, timestamptz */
		if (t.inf)
			return pgtype_put_be(out, (uint64_t)(t.inf > 0 ? INT64_MAX : INT64_MIN), 8);
		int64_t v;
		if (!ts_usec(&t, &v))
			return pgtype_range(err, oid);
		if (oid == PG_OID_TIMESTAMPTZ &&
		    __builtin_sub_overflow(v, (int64_t)t.tz * USECS_PER_SEC, &v))
			return pgtype_range(err, oid);
		return pgtype_put_be(out, (uint64_t)v, 8);
	}
	}
}

static int want_len(uint32_t oid, size_t n, size_t want, char *err)
{
	if (n != want)
		return tn_fail(err, TN_EINVAL, "invalid binary %s: %zu bytes, expected %zu",
			       pgtype_name(oid), n, want);
	return 0;
}

int pgtime_binary_in(uint32_t oid, const uint8_t *p, size_t n, struct buf *out, char *err)
{
	int rc;
	switch (oid) {
	case PG_OID_DATE: {
		if ((rc = want_len(oid, n, 4, err)))
			return rc;
		int32_t d = (int32_t)pgtype_get_be(p, 4);
		if (d == INT32_MAX || d == INT32_MIN)
			return buf_puts(out, d > 0 ? "infinity" : "-infinity");
		if (d < PG_DATE_MIN || d >= PG_DATE_END)
			return tn_fail(err, TN_EINVAL, "date out of range");
		bool bc;
		return put_date(out, d, STYLE_DUCK, &bc);
	}
	case PG_OID_TIME: {
		if ((rc = want_len(oid, n, 8, err)))
			return rc;
		int64_t v = (int64_t)pgtype_get_be(p, 8);
		if (v < 0 || v > USECS_PER_DAY)
			return pgtype_range(err, oid);
		return put_clock(out, v);
	}
	case PG_OID_TIMETZ: {
		if ((rc = want_len(oid, n, 12, err)))
			return rc;
		int64_t v = (int64_t)pgtype_get_be(p, 8);
		int32_t zone = (int32_t)pgtype_get_be(p + 8, 4);
		if (v < 0 || v > USECS_PER_DAY || zone < -15 * 3600 - 59 * 60 ||
		    zone > 15 * 3600 + 59 * 60)
			return pgtype_range(err, oid);
		rc = put_clock(out, v);
		return rc ? rc : put_offset(out, -zone);
	}
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ: {
		if ((rc = want_len(oid, n, 8, err)))
			return rc;
		int64_t v = (int64_t)pgtype_get_be(p, 8);
		if (v != INT64_MIN && v != INT64_MAX && (v < PG_TS_MIN || v >= PG_TS_END))
			return tn_fail(err, TN_EINVAL, "timestamp out of range");
		return put_timestamp(out, v, STYLE_DUCK, oid == PG_OID_TIMESTAMPTZ, 0);
	}
	case PG_OID_INTERVAL: {
		if ((rc = want_len(oid, n, 16, err)))
			return rc;
		struct iv v = { (int32_t)pgtype_get_be(p + 12, 4), (int32_t)pgtype_get_be(p + 8, 4),
				(int64_t)pgtype_get_be(p, 8) };
		return put_interval_duck(out, &v);
	}
	default:
		return tn_fail(err, TN_EINVAL, "no date or time type %u", oid);
	}
}

int pgtime_text_in(uint32_t oid, const char *s, size_t n, struct buf *out, char *err)
{
	switch (oid) {
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ: {
		/* DuckDB reads ISO forms itself; " BC" it would drop, so re-render those. */
		struct ts t;
		bool has_bc = false;
		for (size_t i = 0; i + 1 < n; i++)
			has_bc |= (s[i] == 'B' || s[i] == 'b') && (s[i + 1] == 'C' || s[i + 1] == 'c');
		if (!has_bc)
			return buf_append(out, s, n);
		if (!parse_ts(s, n, true, &t))
			return pgtype_bad(err, oid, s, n);
		if (t.inf)
			return buf_puts(out, t.inf > 0 ? "infinity" : "-infinity");
		if (oid == PG_OID_DATE) {
			bool bc;
			return put_date(out, t.days, STYLE_DUCK, &bc);
		}
		int64_t v;
		if (!ts_usec(&t, &v))
			return pgtype_range(err, oid);
		return put_timestamp(out, v, STYLE_DUCK, t.has_tz, t.tz);
	}
	case PG_OID_INTERVAL: {
		struct iv v;
		if (!parse_interval(s, n, &v))
			return pgtype_bad(err, oid, s, n);
		return put_interval_duck(out, &v);
	}
	default:
		return buf_append(out, s, n);
	}
}
