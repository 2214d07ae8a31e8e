/*
 * json_simd.cc - the C shim over simdjson's DOM parser (see core/json.h).
 *
 * Purpose: validate records on the ingest hot path at GB/s.  simdjson does
 * the work; this file only adapts it: a C API (extern "C"), TN_* codes and
 * messages, and the lookups of required and timestamp fields.
 *
 * Design:
 *   - One dom::parser per thread (thread_local), pre-sized for typical
 *     records and reused, so the steady state allocates nothing.  Its
 *     buffers grow with the largest input (about 15 bytes of address space
 *     per input byte), so inputs over JSON_TLS_CAPACITY get a parser of
 *     their own that dies with the call: a thread keeps a few MiB at most.
 *   - simdjson reads up to SIMDJSON_PADDING bytes past the input.  The
 *     plain calls let simdjson copy the input into its padded buffer (one
 *     memcpy, cheap next to parsing: see bench/README.md); the _padded
 *     call skips the copy when the caller guarantees the padding.
 *   - simdjson reports only an error class, so on a parse error the C
 *     explainer (json_explain.c) rescans the input for the offset and the
 *     reason.  Only the error path pays for it.
 *
 * Invariants: no C++ exception crosses into C.  The error-code API of
 * simdjson throws nothing; every entry point still catches everything
 * (std::bad_alloc from the runtime) and returns TN_EINTERNAL.  The root
 * element points into the thread's parser and is dead before return.
 */
#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

extern "C" {
#include "core/json.h"
#include "core/err.h"
}
#include "core/banned.h"

static_assert(JSON_PADDING == simdjson::SIMDJSON_PADDING,
	      "JSON_PADDING must equal simdjson's padding");
static_assert(JSON_MAX_DEPTH == simdjson::DEFAULT_MAX_DEPTH,
	      "JSON_MAX_DEPTH must equal simdjson's default depth");

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

/* What a thread's parser is pre-sized for: any record up to here parses
 * without an allocation.  About 15 bytes of buffers per byte, so 16 KiB
 * costs a connection thread ~240 KiB; it grows on demand up to
 * JSON_TLS_CAPACITY. */
constexpr size_t TLS_INITIAL = 16u << 10;

struct tls_parser {
	simdjson::dom::parser parser{JSON_TLS_CAPACITY};
	bool sized = false;
};

thread_local tls_parser tls;

const char *type_name(element_type t)
{
	switch (t) {
	case element_type::ARRAY: return "array";
	case element_type::OBJECT: return "object";
	case element_type::INT64:
	case element_type::UINT64:
	case element_type::DOUBLE: return "number";
	case element_type::STRING: return "string";
	case element_type::BOOL: return "boolean";
	case element_type::NULL_VALUE: return "null";
	}
	return "value";
}

/* Turns a failed parse into a TN code and a message. */
int parse_failed(const char *p, size_t n, simdjson::error_code code, char *err)
{
	if (code == simdjson::MEMALLOC)
		return tn_fail(err, TN_EINTERNAL, "out of memory while parsing JSON");
	if (code == simdjson::CAPACITY)
		return tn_fail(err, TN_ETOOBIG, "JSON document of %zu bytes is over the parser's capacity",
			       n);
	struct json_error je;
	if (json_explain(p, n, &je) != 0)
		return tn_fail(err, TN_EINVAL, "invalid JSON at byte %zu: %s", je.off, je.msg);
	/* The explainer should agree; if not, simdjson's word is final. */
	return tn_fail(err, TN_EINVAL, "invalid JSON: %s", simdjson::error_message(code));
}

/* Parses p[0..n) with the thread's parser or, if big, a parser of its own
 * kept alive by own.  On success *root is valid until the next parse on
 * this thread or own's death. */
int parse(const char *p, size_t n, bool padded, std::unique_ptr<simdjson::dom::parser> &own,
	  element *root, char *err)
{
	simdjson::dom::parser *ps;

	if (n == 0)  /* p may be NULL: not for memcpy */
		return parse_failed(p, n, simdjson::EMPTY, err);
	if (n <= JSON_TLS_CAPACITY) {
		ps = &tls.parser;
		if (!tls.sized) {
			/* Failure here only means the parse below allocates. */
			simdjson::error_code ignored = ps->allocate(TLS_INITIAL);
			(void)ignored;
			tls.sized = true;
		}
	} else {
		own.reset(new (std::nothrow) simdjson::dom::parser(n));
		if (!own)
			return tn_fail(err, TN_EINTERNAL, "out of memory while parsing JSON");
		ps = own.get();
	}
	simdjson::error_code code = ps->parse(p, n, !padded).get(*root);
	if (code)
		return parse_failed(p, n, code, err);
	return 0;
}

int unreadable(const char *name, char *err)
{
	return tn_fail(err, TN_EINTERNAL, "timestamp field '%s': unreadable", name);
}

/* Copies the timestamp field's value into found. */
int take_timestamp(const char *name, element v, struct json_found *found, char *err)
{
	int len = 0;

	switch (v.type()) {
	case element_type::NULL_VALUE:
		return 0;
	case element_type::STRING: {
		std::string_view s;
		if (v.get_string().get(s))
			return unreadable(name, err);
		if (s.size() >= JSON_TS_MAX)
			return tn_fail(err, TN_EINVAL, "timestamp field '%s' is %zu bytes, over the %d byte limit",
				       name, s.size(), JSON_TS_MAX - 1);
		memcpy(found->ts, s.data(), s.size());
		found->ts[s.size()] = '\0';
		found->ts_len = s.size();
		found->ts_kind = JSON_TS_STRING;
		return 0;
	}
	case element_type::INT64: {
		int64_t i = 0;
		if (v.get_int64().get(i))
			return unreadable(name, err);
		len = snprintf(found->ts, sizeof(found->ts), "%lld", (long long)i);
		found->ts_num = (double)i;
		break;
	}
	case element_type::UINT64: {
		uint64_t u = 0;
		if (v.get_uint64().get(u))
			return unreadable(name, err);
		len = snprintf(found->ts, sizeof(found->ts), "%llu", (unsigned long long)u);
		found->ts_num = (double)u;
		break;
	}
	case element_type::DOUBLE: {
		double d = 0;
		if (v.get_double().get(d))
			return unreadable(name, err);
		/* An integral double ("1.7e9", "1732240410.0") reads as digits;
		 * a fraction stays visible so time_parse refuses it. */
		if (std::fabs(d) < 9007199254740992.0 && d == std::floor(d))
			len = snprintf(found->ts, sizeof(found->ts), "%.0f", d);
		else
			len = snprintf(found->ts, sizeof(found->ts), "%.17g", d);
		found->ts_num = d;
		break;
	}
	default:
		return tn_fail(err, TN_EINVAL, "timestamp field '%s' must be a string or a number, got %s",
			       name, type_name(v.type()));
	}
	found->ts_len = len > 0 ? (size_t)len : 0;
	found->ts_kind = JSON_TS_NUMBER;
	return 0;
}

int check_record(const char *p, size_t n, bool padded, const struct json_want *want,
		 struct json_found *found, char *err)
{
	std::unique_ptr<simdjson::dom::parser> own;
	struct json_found local;
	element root;
	simdjson::dom::object obj;
	int rc;

	if ((rc = parse(p, n, padded, own, &root, err)))
		return rc;
	if (root.get_object().get(obj))
		return tn_fail(err, TN_EINVAL, "record must be a JSON object, got %s",
			       type_name(root.type()));
	if (!found)
		found = &local;
	found->multiline = memchr(p, '\n', n) || memchr(p, '\r', n);
	found->ts_kind = JSON_TS_NONE;
	found->ts[0] = '\0';
	found->ts_len = 0;
	found->ts_num = 0;
	if (!want)
		return 0;
	for (size_t i = 0; i < want->nrequired; i++) {
		const char *name = want->required[i];
		element v;
		if (obj.at_key(name).get(v) || v.is_null())
			return tn_fail(err, TN_EINVAL, "missing required field '%s'", name);
	}
	if (want->ts_field && want->ts_field[0]) {
		element v;
		if (obj.at_key(want->ts_field).get(v) == simdjson::SUCCESS)
			return take_timestamp(want->ts_field, v, found, err);
	}
	return 0;
}

} // namespace

extern "C" int json_check_record(const char *p, size_t n, const struct json_want *want,
				 struct json_found *found, char *err)
{
	try {
		return check_record(p, n, false, want, found, err);
	} catch (...) {
		return tn_fail(err, TN_EINTERNAL, "unexpected C++ exception while checking JSON");
	}
}

extern "C" int json_check_record_padded(const char *p, size_t n, const struct json_want *want,
					struct json_found *found, char *err)
{
	try {
		return check_record(p, n, true, want, found, err);
	} catch (...) {
		return tn_fail(err, TN_EINTERNAL, "unexpected C++ exception while checking JSON");
	}
}

extern "C" int json_validate(const char *p, size_t n, char *err)
{
	try {
		std::unique_ptr<simdjson::dom::parser> own;
		element root;
		return parse(p, n, false, own, &root, err);
	} catch (...) {
		return tn_fail(err, TN_EINTERNAL, "unexpected C++ exception while checking JSON");
	}
}

extern "C" const char *json_simd_kernel(void)
{
	try {
		/* implementations are static singletons: the string lives forever */
		return simdjson::get_active_implementation()->name().c_str();
	} catch (...) {
		return "unknown";
	}
}
