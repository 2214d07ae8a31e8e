/*
 * fuzz_pgproto.c - libFuzzer target for the PostgreSQL wire protocol's
 * input side: the message reader (fed in slices whose sizes come from the
 * input, so every split point is tried), every frontend message parser,
 * and the parameter conversions (pgtype_text_in / pgtype_binary_in).
 *
 * Input: byte 0 chooses the mode (startup phase or typed messages) and the
 * slice size; the rest is the byte stream a client would send.  Beyond
 * "never crashes, never reads out of bounds", it checks:
 *   - a message the reader hands out lies inside what was fed, and its
 *     body length is below the cap set;
 *   - once the reader fails it keeps failing with the same code;
 *   - a parsed Bind's parameter values lie inside the message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "pg/proto.h"
#include "pg/types.h"
#include "fuzz.h"
#include "core/banned.h"

#define MAX_MSG 4096u

static const uint32_t oids[] = {
	PG_OID_BOOL, PG_OID_BYTEA, PG_OID_INT8, PG_OID_INT2, PG_OID_INT4, PG_OID_TEXT,
	PG_OID_JSON, PG_OID_FLOAT4, PG_OID_FLOAT8, PG_OID_VARCHAR, PG_OID_DATE, PG_OID_TIME,
	PG_OID_TIMESTAMP, PG_OID_TIMESTAMPTZ, PG_OID_INTERVAL, PG_OID_TIMETZ, PG_OID_NUMERIC,
	PG_OID_UUID, PG_OID_JSONB,
};

static void parse_one(const struct pg_msg *m)
{
	char err[TN_ERRLEN];
	struct buf out = BUF_INIT(1 << 20);
	switch (m->kind) {
	case PG_MSG_STARTUP: {
		struct pg_startup st;
		pg_parse_startup(m, &st, err);
		break;
	}
	case PG_MSG_CANCEL: {
		struct pg_cancel k;
		pg_parse_cancel(m, &k, err);
		break;
	}
	case PG_MSG_SSL:
	case PG_MSG_GSSENC:
		break;
	case PG_MSG_TYPED:
		switch (m->type) {
		case PG_FE_QUERY: {
			struct pg_query q;
			if (pg_parse_query(m, &q, err) == 0)
				REQUIRE(q.sql + q.len < (const char *)m->body + m->len + 1);
			break;
		}
		case PG_FE_PARSE: {
			struct pg_parse p;
			if (pg_parse_parse(m, &p, err) == 0)
				for (size_t i = 0; i < p.nparams; i++)
					(void)pg_parse_oid(&p, i);
			break;
		}
		case PG_FE_BIND: {
			struct pg_bind b;
			if (pg_parse_bind(m, &b, err) == 0) {
				for (size_t i = 0; i < b.nparams; i++) {
					struct pg_value v = b.params[i];
					int fmt = pg_bind_param_format(&b, i);
					if (v.len < 0)
						continue;
					REQUIRE(v.p >= m->body && v.p + v.len <= m->body + m->len);
					uint32_t oid = oids[i % (sizeof oids / sizeof oids[0])];
					buf_reset(&out);
					if (fmt == PG_FMT_BINARY)
						pgtype_binary_in(oid, v.p, (size_t)v.len, &out, err);
					else
						pgtype_text_in(oid, (const char *)v.p, (size_t)v.len, &out,
							       err);
				}
				int f;
				for (size_t c = 0; c < 4; c++)
					pg_bind_result_format(&b, c, 4, &f, err);
				pg_bind_release(&b);
			}
			break;
		}
		case PG_FE_DESCRIBE:
		case PG_FE_CLOSE: {
			struct pg_target t;
			if (m->type == PG_FE_DESCRIBE)
				pg_parse_describe(m, &t, err);
			else
				pg_parse_close(m, &t, err);
			break;
		}
		case PG_FE_EXECUTE: {
			struct pg_execute e;
			pg_parse_execute(m, &e, err);
			break;
		}
		case PG_FE_PASSWORD: {
			struct pg_sasl_initial si;
			struct pg_sasl_response sr;
			struct pg_password pw;
			pg_parse_sasl_initial(m, &si, err);
			pg_parse_sasl_response(m, &sr, err);
			pg_parse_password(m, &pw, err);
			break;
		}
		case PG_FE_COPY_FAIL: {
			const char *reason;
			pg_parse_copy_fail(m, &reason, err);
			break;
		}
		default:
			pg_parse_empty(m, err);
			break;
		}
		break;
	}
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char err[TN_ERRLEN];
	struct pg_reader r;
	bool startup = data[0] & 1;
	size_t slice = (size_t)(data[0] >> 1) + 1;
	const uint8_t *p = data + 1;
	size_t n = size - 1, off = 0;
	int failed = 0;
	pg_reader_init(&r, MAX_MSG);
	pg_reader_set_startup(&r, startup);
	while (off < n && !failed) {
		size_t k = n - off < slice ? n - off : slice;
		if (pg_reader_feed(&r, p + off, k, err)) {
			failed = 1;
			break;
		}
		off += k;
		for (;;) {
			struct pg_msg m;
			int rc = pg_reader_next(&r, &m, err);
			if (rc == 0)
				break;
			if (rc < 0) {
				struct pg_msg m2;
				REQUIRE(pg_reader_next(&r, &m2, err) == rc);
				failed = 1;
				break;
			}
			REQUIRE(m.kind != PG_MSG_TYPED || m.len <= MAX_MSG);
			REQUIRE(m.len <= n);
			parse_one(&m);
		}
	}
	pg_reader_release(&r);
	return 0;
}
