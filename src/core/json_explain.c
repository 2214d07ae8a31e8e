/*
 * json_explain.c - a strict JSON scanner that says where and why, plus the
 * lexical minifier and array splitter.
 *
 * simdjson (json_simd.cc) validates at GB/s but reports only an error
 * class.  When it rejects a document, json_explain() scans it again with
 * this small RFC 8259 scanner to produce "invalid JSON at byte 17:
 * expected ':'".  It is not on the hot path; it favours clarity.
 *
 * Design: the scanner is iterative (goto states over an explicit stack of
 * container kinds, JSON_MAX_DEPTH deep), so hostile nesting cannot
 * overflow the C stack.  It never allocates except for the rare number
 * that needs strtod() to decide whether it overflows a double.
 *
 * Invariant: json_explain() returns 0 exactly when simdjson 3.0.1's DOM
 * parser accepts the input.  Where simdjson is stricter than RFC 8259 --
 * nesting past 1024, integers outside int64/uint64, numbers that are
 * infinite as doubles, lone surrogate escapes, a byte order mark -- this
 * scanner is equally strict.  tests/unit/test_json.c checks the agreement
 * over a corpus of tricky inputs, and fuzz/fuzz_json.c over random ones.
 *
 * The minifier and splitter below are lexical (strings and brackets only):
 * they are linear, skip through strings 16 bytes at a time (SSE2), copy
 * runs with memcpy, and leave validation to the callers, never joining two
 * tokens so that validity is preserved.  The splitter copies and minifies
 * each element in the same single pass that finds its end.
 */
#include "core/crypto.h"
#include "core/json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

struct scan {
	const unsigned char *p;
	size_t n;
	size_t i;
	struct json_error *e;
};

static int scan_fail(struct scan *s, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scan_fail(struct scan *s, size_t off, const char *fmt, ...)
{
	va_list ap;

	s->e->index = -1;
	s->e->off = off;
	va_start(ap, fmt);
	vsnprintf(s->e->msg, sizeof(s->e->msg), fmt, ap);
	va_end(ap);
	return TN_EINVAL;
}

static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Bytes that can continue a number or literal: a space between two of them
 * must survive minifying. */
static inline bool is_scalar_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '+' || c == '-';
}

static void skip_ws(struct scan *s)
{
	while (s->i < s->n && is_ws(s->p[s->i]))
		s->i++;
}

/* Reads the 4 hex digits of a \u escape starting at p[at] ("\uXXXX": at is
 * the backslash).  Returns the code unit, -1 if bad hex, -2 if cut off. */
static long read_u_escape(const struct scan *s, size_t at)
{
	long v = 0;

	for (size_t k = 0; k < 4; k++) {
		if (at + 2 + k >= s->n)
			return -2;
		int h = hex_digit(s->p[at + 2 + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of the strict UTF-8 sequence at p[i] (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 if invalid or cut off. */
static size_t utf8_len(const unsigned char *p, size_t i, size_t n)
{
	unsigned char c = p[i];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n - i < len)
		return 0;
	if (p[i + 1] < lo || p[i + 1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[i + k] < 0x80 || p[i + k] > 0xBF)
			return 0;
	return len;
}

/* Scans the string whose opening quote is at s->i; leaves s->i after the
 * closing quote. */
static int scan_string(struct scan *s)
{
	s->i++;
	for (;;) {
		if (s->i >= s->n)
			return scan_fail(s, s->n, "unexpected end of input in string");
		size_t at = s->i;
		unsigned char c = s->p[at];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c == '\\') {
			if (at + 1 >= s->n)
				return scan_fail(s, s->n, "unexpected end of input in string");
			unsigned char x = s->p[at + 1];
			if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' ||
			    x == 'r' || x == 't') {
				s->i += 2;
				continue;
			}
			if (x != 'u') {
				if (x >= 0x20 && x < 0x7F)
					return scan_fail(s, at, "invalid escape '\\%c'", x);
				return scan_fail(s, at, "invalid escape");
			}
			long u = read_u_escape(s, at);
			if (u == -2)
				return scan_fail(s, s->n, "unexpected end of input in string");
			if (u < 0)
				return scan_fail(s, at, "invalid \\u escape: expected 4 hex digits");
			if (u >= 0xDC00 && u <= 0xDFFF)
				return scan_fail(s, at, "invalid \\u escape: lone low surrogate");
			if (u >= 0xD800 && u <= 0xDBFF) {
				/* simdjson wants the low half right away, as "\uDC00".."\uDFFF" */
				long v = -1;
				if (at + 7 < s->n && s->p[at + 6] == '\\' && s->p[at + 7] == 'u')
					v = read_u_escape(s, at + 6);
				if (v == -2)
					return scan_fail(s, s->n, "unexpected end of input in string");
				if (v < 0xDC00 || v > 0xDFFF)
					return scan_fail(s, at,
							 "invalid \\u escape: high surrogate without its low surrogate");
				s->i += 12;
				continue;
			}
			s->i += 6;
			continue;
		}
		if (c < 0x20)
			return scan_fail(s, at, "unescaped control character 0x%02x in string", c);
		if (c < 0x80) {
			s->i++;
			continue;
		}
		size_t len = utf8_len(s->p, at, s->n);
		if (!len)
			return scan_fail(s, at, "invalid UTF-8");
		s->i += len;
	}
}

/* The value of the decimal digits p[a..b) compared with the digits of lim
 * (both without leading zeros): <0, 0, >0. */
static int cmp_digits(const unsigned char *p, size_t a, size_t b, const char *lim)
{
	size_t ln = strlen(lim);

	if (b - a != ln)
		return b - a < ln ? -1 : 1;
	return memcmp(p + a, lim, ln);
}

/* strtod follows LC_NUMERIC; JSON's decimal point is always '.'. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Whether the float text p[a..b) (already syntax-checked) is infinite as a
 * double.  First the decimal exponent of its leading digit decides; only
 * a number within a factor 10 of DBL_MAX goes to strtod. */
static bool float_overflows(const unsigned char *p, size_t a, size_t b)
{
	size_t i = a;
	long lead = 0;     /* decimal exponent of the first non-zero digit */
	bool found = false;
	long intdigits = 0, fracpos = 0;

	if (p[i] == '-')
		i++;
	for (; i < b && is_digit(p[i]); i++) {
		if (!found && p[i] != '0') {
			found = true;
			lead = -intdigits;  /* fixed below once the count is known */
		}
		intdigits++;
	}
	if (found)
		lead += intdigits - 1;
	if (i < b && p[i] == '.') {
		for (i++; i < b && is_digit(p[i]); i++) {
			fracpos++;
			if (!found && p[i] != '0') {
				found = true;
				lead = -fracpos;
			}
		}
	}
	if (!found)
		return false;  /* zero, whatever the exponent */
	long exp = 0;
	if (i < b && (p[i] == 'e' || p[i] == 'E')) {
		bool neg = false;
		i++;
		if (p[i] == '+' || p[i] == '-')
			neg = p[i++] == '-';
		for (; i < b; i++)
			if (exp < 100000000L)
				exp = exp * 10 + (p[i] - '0');
		if (neg)
			exp = -exp;
	}
	/* Saturating: lead is bounded by the input length, exp by 1e8. */
	long total = lead + exp;
	if (total < 308)
		return false;
	if (total > 308)
		return true;
	/* Within [1e308, 1e309): DBL_MAX is 1.797...e308; let strtod round. */
	size_t len = b - a;
	char small[128];
	char *tmp = len < sizeof(small) ? small : xmalloc(len + 1);
	memcpy(tmp, p + a, len);
	tmp[len] = '\0';
	pthread_once(&c_locale_once, c_locale_init);
	double d = c_locale ? strtod_l(tmp, NULL, c_locale) : strtod(tmp, NULL);
	if (tmp != small)
		free(tmp);
	return isinf(d);
}

/* Scans the number at s->i ('-' or a digit); leaves s->i after it. */
static int scan_number(struct scan *s)
{
	size_t start = s->i, i = s->i;
	bool neg = false, isfloat = false;

	if (s->p[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= s->n || !is_digit(s->p[i]))
		return scan_fail(s, i, "invalid number: expected a digit");
	size_t int_start = i;
	if (s->p[i] == '0') {
		i++;
		if (i < s->n && is_digit(s->p[i]))
			return scan_fail(s, start, "invalid number: leading zero");
	} else {
		while (i < s->n && is_digit(s->p[i]))
			i++;
	}
	size_t int_end = i;
	if (i < s->n && s->p[i] == '.') {
		isfloat = true;
		i++;
		if (i >= s->n || !is_digit(s->p[i]))
			return scan_fail(s, i, "invalid number: expected a digit after '.'");
		while (i < s->n && is_digit(s->p[i]))
			i++;
	}
	if (i < s->n && (s->p[i] == 'e' || s->p[i] == 'E')) {
		isfloat = true;
		i++;
		if (i < s->n && (s->p[i] == '+' || s->p[i] == '-'))
			i++;
		if (i >= s->n || !is_digit(s->p[i]))
			return scan_fail(s, i, "invalid number: expected a digit in the exponent");
		while (i < s->n && is_digit(s->p[i]))
			i++;
	}
	if (i < s->n && (is_scalar_char(s->p[i])))
		return scan_fail(s, i, "invalid number: unexpected '%c'", s->p[i]);
	if (!isfloat) {
		const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
		if (cmp_digits(s->p, int_start, int_end, lim) > 0)
			return scan_fail(s, start, "number out of range (integers must fit 64 bits)");
	} else if (float_overflows(s->p, start, i)) {
		return scan_fail(s, start, "number out of range (infinite as a double)");
	}
	s->i = i;
	return 0;
}

static int scan_literal(struct scan *s)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t start = s->i;

	for (size_t k = 0; k < 3; k++) {
		size_t len = strlen(lits[k]);
		if (lits[k][0] != s->p[start])
			continue;
		if (s->n - start >= len && memcmp(s->p + start, lits[k], len) == 0 &&
		    !(start + len < s->n && is_scalar_char(s->p[start + len]))) {
			s->i = start + len;
			return 0;
		}
		if (s->n - start < len && memcmp(s->p + start, lits[k], s->n - start) == 0)
			return scan_fail(s, s->n, "unexpected end of input");
		return scan_fail(s, start, "invalid literal, expected '%s'", lits[k]);
	}
	return scan_fail(s, start, "expected value");
}

int json_explain(const char *p, size_t n, struct json_error *e)
{
	struct json_error dummy;
	struct scan s = { (const unsigned char *)p, n, 0, e ? e : &dummy };
	unsigned char stack[JSON_MAX_DEPTH];
	size_t depth = 0;
	int rc;

	s.e->index = -1;
	s.e->off = 0;
	s.e->msg[0] = '\0';
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		return scan_fail(&s, 0, "unexpected byte order mark (BOM)");

value:
	skip_ws(&s);
	if (s.i >= n)
		return scan_fail(&s, n, "unexpected end of input");
	switch (s.p[s.i]) {
	case '{':
	case '[':
		if (depth >= JSON_MAX_DEPTH)
			return scan_fail(&s, s.i, "nesting deeper than %d", JSON_MAX_DEPTH);
		stack[depth++] = s.p[s.i++];
		skip_ws(&s);
		if (s.i >= n)
			return scan_fail(&s, n, "unexpected end of input");
		if (stack[depth - 1] == '[') {
			if (s.p[s.i] == ']') {
				s.i++;
				depth--;
				goto after_value;
			}
			goto value;
		}
		if (s.p[s.i] == '}') {
			s.i++;
			depth--;
			goto after_value;
		}
		if (s.p[s.i] != '"')
			return scan_fail(&s, s.i, "expected string key or '}'");
		goto key;
	case '"':
		rc = scan_string(&s);
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		rc = scan_number(&s);
		break;
	case 't':
	case 'f':
	case 'n':
		rc = scan_literal(&s);
		break;
	default:
		return scan_fail(&s, s.i, "expected value");
	}
	if (rc)
		return rc;
	goto after_value;

key:
	/* s.i is at the key's opening quote */
	rc = scan_string(&s);
	if (rc)
		return rc;
	skip_ws(&s);
	if (s.i >= n)
		return scan_fail(&s, n, "unexpected end of input");
	if (s.p[s.i] != ':')
		return scan_fail(&s, s.i, "expected ':'");
	s.i++;
	goto value;

after_value:
	skip_ws(&s);
	if (depth == 0) {
		if (s.i < n)
			return scan_fail(&s, s.i, "trailing characters");
		return 0;
	}
	if (s.i >= n)
		return scan_fail(&s, n, "unexpected end of input");
	if (s.p[s.i] == ',') {
		s.i++;
		if (stack[depth - 1] == '[')
			goto value;
		skip_ws(&s);
		if (s.i >= n)
			return scan_fail(&s, n, "unexpected end of input");
		if (s.p[s.i] != '"')
			return scan_fail(&s, s.i, "expected string key");
		goto key;
	}
	if ((stack[depth - 1] == '[' && s.p[s.i] == ']') ||
	    (stack[depth - 1] == '{' && s.p[s.i] == '}')) {
		s.i++;
		depth--;
		goto after_value;
	}
	return scan_fail(&s, s.i, stack[depth - 1] == '[' ? "expected ',' or ']'" :
							   "expected ',' or '}'");
}

/* ---- lexical minifier and array splitter -------------------------------- */

#define NOT_CLOSED ((size_t)-1)

/* Index of the first '"' or '\\' in p[i..n), or n.  Sixteen bytes at a
 * time where SSE2 exists (all of x86-64); strings are most of a record. */
static size_t find_quote_or_backslash(const char *p, size_t i, size_t n)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	while (n - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		int m = _mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
		if (m)
			return i + (size_t)__builtin_ctz((unsigned)m);
		i += 16;
	}
#endif
	while (i < n && p[i] != '"' && p[i] != '\\')
		i++;
	return i;
}

/* Index just past the string whose opening quote is at p[i], or NOT_CLOSED.
 * A backslash always escapes the next byte, so skipping both is enough to
 * find the closing quote; the escapes themselves are not checked. */
static size_t string_end(const char *p, size_t i, size_t n)
{
	i++;
	for (;;) {
		i = find_quote_or_backslash(p, i, n);
		if (i >= n)
			return NOT_CLOSED;
		if (p[i] == '"')
			return i + 1;
		i += 2;
		if (i > n)
			return NOT_CLOSED;
	}
}

/*
 * Minifies p[a..b) onto out, copying runs between whitespace.  last is the
 * byte before the whitespace: a space is kept between two scalar
 * characters ("1 2" must not become "12").
 */
static int minify_range(const char *p, size_t a, size_t b, struct buf *out)
{
	size_t i = a, run = a;
	unsigned char last = 0;
	int rc;

	while (i < b) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"') {
			i = string_end(p, i, b);
			if (i == NOT_CLOSED)
				i = b;
			last = '"';
			continue;
		}
		if (!is_ws(c)) {
			last = c;
			i++;
			continue;
		}
		/* flush the run before the whitespace, then skip it */
		if ((rc = buf_append(out, p + run, i - run)))
			return rc;
		while (i < b && is_ws((unsigned char)p[i]))
			i++;
		if (i < b && is_scalar_char(last) && is_scalar_char((unsigned char)p[i]))
			if ((rc = buf_putc(out, ' ')))
				return rc;
		run = i;
	}
	return buf_append(out, p + run, b - run);
}

int json_minify(const char *p, size_t n, struct buf *out)
{
	size_t start = out->len;
	int rc = n ? minify_range(p, 0, n, out) : 0;

	if (rc)
		buf_truncate(out, start);
	return rc;
}

/*
 * After a broken array: maps the explainer's offset to the element that
 * holds it by walking p lexically up to off, counting top-level commas.
 */
static void locate_element(const char *p, size_t n, size_t open, struct json_error *je)
{
	size_t off = je->off, i = open + 1, depth = 1;
	long index = 0;
	size_t start;

	if (off <= open) {
		je->index = -1;
		return;
	}
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	start = i;
	while (i < off && i < n) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"') {
			i = string_end(p, i, n);
			if (i == NOT_CLOSED)
				i = n;
			continue;
		}
		i++;
		if (c == '[' || c == '{') {
			depth++;
		} else if (c == ']' || c == '}') {
			if (--depth == 0)
				break;
		} else if (c == ',' && depth == 1) {
			index++;
			while (i < n && is_ws((unsigned char)p[i]))
				i++;
			start = i;
		}
	}
	if (depth == 0 && i <= off) {
		je->index = -1;  /* after the array: relative to p */
		return;
	}
	je->index = index;
	je->off = off >= start ? off - start : 0;
}

static const char *json_type_at(unsigned char c)
{
	switch (c) {
	case '{': return "object";
	case '[': return "array";
	case '"': return "string";
	case 't': case 'f': return "boolean";
	case 'n': return "null";
	}
	return (c == '-' || is_digit(c)) ? "number" : "invalid JSON";
}

/*
 * Copies the array element at p[i] (not whitespace) minified onto out in
 * one pass and sets *end just past it.  Lexical: brackets must match and
 * strings close, a scalar is a run of number/literal characters, and the
 * element may nest JSON_MAX_DEPTH - 1 levels (the array is one).  Returns
 * 0, TN_EINVAL if the structure is broken there, or TN_ETOOBIG from out.
 */
static int copy_element(const char *p, size_t i, size_t n, struct buf *out, size_t *end)
{
	unsigned char stack[JSON_MAX_DEPTH];
	size_t depth = 0, start = i, run = i;
	unsigned char last = 0;
	int rc;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		/* at depth 0 only a scalar is still going: its characters continue it */
		if (depth == 0 && i > start && !is_scalar_char(c))
			break;
		if (c == '"') {
			size_t e = string_end(p, i, n);
			if (e == NOT_CLOSED)
				return TN_EINVAL;
			i = e;
			last = '"';
			if (depth == 0)
				break;
		} else if (c == '[' || c == '{') {
			if (depth + 1 >= JSON_MAX_DEPTH)
				return TN_EINVAL;
			stack[depth++] = c;
			last = c;
			i++;
		} else if (c == ']' || c == '}') {
			if (depth == 0 || stack[depth - 1] != (c == ']' ? '[' : '{'))
				return TN_EINVAL;
			last = c;
			i++;
			if (--depth == 0)
				break;
		} else if (is_ws(c)) {
			if ((rc = buf_append(out, p + run, i - run)))
				return rc;
			while (i < n && is_ws((unsigned char)p[i]))
				i++;
			if (i < n && is_scalar_char(last) && is_scalar_char((unsigned char)p[i]))
				if ((rc = buf_putc(out, ' ')))
					return rc;
			run = i;
		} else if (depth == 0 && !is_scalar_char(c)) {
			return TN_EINVAL;  /* nothing that can start a value */
		} else {
			last = c;
			i++;
		}
	}
	if (depth > 0 || i == start)
		return TN_EINVAL;
	*end = i;
	return buf_append(out, p + run, i - run);
}

int json_array_split(const char *p, size_t n, struct buf *out, json_elem_fn fn, void *arg,
		     struct json_error *je, char *err)
{
	struct json_error local;
	struct json_elem el;
	size_t i = 0, open;
	int rc;

	if (!je)
		je = &local;
	je->index = -1;
	je->off = 0;
	je->msg[0] = '\0';
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i >= n || p[i] != '[') {
		const char *got = i >= n ? "nothing" : json_type_at((unsigned char)p[i]);
		snprintf(je->msg, sizeof(je->msg), "expected a JSON array, got %s", got);
		je->off = i;
		return tn_fail(err, TN_EINVAL, "%s", je->msg);
	}
	open = i++;
	memset(&el, 0, sizeof(el));
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i < n && p[i] == ']') {
		i++;
		goto tail;
	}
	for (;;) {
		size_t end = 0;
		if (i >= n)
			goto broken;
		el.src_off = i;
		el.off = out->len;
		rc = copy_element(p, i, n, out, &end);
		if (rc)
			buf_truncate(out, el.off);
		if (rc == TN_EINVAL)
			goto broken;
		if (rc) {
			je->index = (long)el.index;
			return tn_fail(err, rc, "element %zu: minified copy over the buffer limit",
				       el.index);
		}
		el.src_len = end - i;
		el.len = out->len - el.off;
		if ((rc = fn(arg, &el, err))) {
			je->index = (long)el.index;
			return rc;
		}
		el.index++;
		i = end;
		while (i < n && is_ws((unsigned char)p[i]))
			i++;
		if (i < n && p[i] == ',') {
			i++;
			while (i < n && is_ws((unsigned char)p[i]))
				i++;
			continue;
		}
		if (i < n && p[i] == ']') {
			i++;
			break;
		}
		goto broken;
	}
tail:
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i == n)
		return 0;
broken:
	/* Let the explainer name the first real error; fall back to the
	 * splitter's position should it (wrongly) find none. */
	if (json_explain(p, n, je) == 0) {
		je->off = i;
		snprintf(je->msg, sizeof(je->msg), "broken array");
	}
	locate_element(p, n, open, je);
	if (je->index >= 0)
		return tn_fail(err, TN_EINVAL, "element %ld: invalid JSON at byte %zu: %s",
			       je->index, je->off, je->msg);
	return tn_fail(err, TN_EINVAL, "invalid JSON at byte %zu: %s", je->off, je->msg);
}
