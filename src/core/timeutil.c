/*
 * timeutil.c - clocks and UTC calendar math without gmtime's static state.
 *
 * Calendar conversion uses the days-from-civil algorithm (proleptic
 * Gregorian), valid for any year this lake will see.
 */
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/banned.h"

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

void time_utc(int64_t ms, struct utc *u)
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	u->ms = (int)(ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;
	civil_from_days(days, &u->year, &u->month, &u->day);
	u->hour = (int)(rem / 3600);
	u->min = (int)(rem % 3600 / 60);
	u->sec = (int)(rem % 60);
}

int64_t time_from_utc(const struct utc *u)
{
	int64_t days = days_from_civil(u->year, u->month, u->day);
	return ((days * 86400) + u->hour * 3600 + u->min * 60 + u->sec) * 1000 + u->ms;
}

void time_format_iso_ms(int64_t ms, char *out, size_t n)
{
	struct utc u;
	time_utc(ms, &u);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.year, u.month, u.day,
		 u.hour, u.min, u.sec, u.ms);
}

void time_format_amz(int64_t ms, char *out, size_t n)
{
	struct utc u;
	time_utc(ms, &u);
	snprintf(out, n, "%04d%02d%02dT%02d%02d%02dZ", u.year, u.month, u.day, u.hour, u.min,
		 u.sec);
}

void time_format_http(int64_t ms, char *out, size_t n)
{
	static const char *const days[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct utc u;
	int64_t day = (ms >= 0 ? ms : ms - 86399999) / 86400000;
	time_utc(ms, &u);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[((day % 7) + 7) % 7], u.day,
		 months[(u.month - 1) % 12], u.year, u.hour, u.min, u.sec);
}

/* Reads exactly w digits at *i; returns -1 if they are not digits. */
static int digits(const char *s, size_t n, size_t *i, int w)
{
	int v = 0;
	if (*i + (size_t)w > n)
		return -1;
	for (int k = 0; k < w; k++) {
		char c = s[*i + (size_t)k];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)w;
	return v;
}

static int valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

int time_parse(const char *s, size_t n, int64_t *ms)
{
	size_t i = 0;
	if (n == 0)
		return TN_EINVAL;
	/* All digits: epoch seconds or milliseconds. */
	size_t k = 0;
	while (k < n && s[k] >= '0' && s[k] <= '9')
		k++;
	if (k == n && n <= 16 && !(n == 8)) {
		int64_t v = 0;
		for (k = 0; k < n; k++)
			v = v * 10 + (s[k] - '0');
		*ms = v > 100000000000LL ? v : v * 1000;
		return 0;
	}
	struct utc u = { 0 };
	u.year = digits(s, n, &i, 4);
	int basic = i < n && s[i] != '-';
	if (!basic && i < n)
		i++;
	u.month = digits(s, n, &i, 2);
	if (!basic) {
		if (i >= n || s[i] != '-')
			return TN_EINVAL;
		i++;
	}
	u.day = digits(s, n, &i, 2);
	if (u.year < 0 || u.month < 0 || u.day < 0 || !valid_date(u.year, u.month, u.day))
		return TN_EINVAL;
	int64_t off_ms = 0;
	if (i < n) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return TN_EINVAL;
		i++;
		u.hour = digits(s, n, &i, 2);
		if (!basic && i < n && s[i] == ':')
			i++;
		u.min = digits(s, n, &i, 2);
		if (i < n && s[i] == ':')
			i++;
		if (i < n && s[i] >= '0' && s[i] <= '9')
			u.sec = digits(s, n, &i, 2);
		if (u.hour < 0 || u.hour > 23 || u.min < 0 || u.min > 59 || u.sec < 0 || u.sec > 60)
			return TN_EINVAL;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			i++;
			int scale = 100, frac = 0, seen = 0;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				frac += (s[i] - '0') * scale;
				scale /= 10;
				i++;
				seen = 1;
			}
			if (!seen)
				return TN_EINVAL;
			u.ms = frac;
		}
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i] == '-' ? -1 : 1;
			i++;
			int oh = digits(s, n, &i, 2);
			if (i < n && s[i] == ':')
				i++;
			int om = i < n ? digits(s, n, &i, 2) : 0;
			if (oh < 0 || om < 0 || oh > 23 || om > 59)
				return TN_EINVAL;
			off_ms = sign * ((int64_t)oh * 3600 + om * 60) * 1000;
		}
	}
	if (i != n)
		return TN_EINVAL;
	*ms = time_from_utc(&u) - off_ms;
	return 0;
}
