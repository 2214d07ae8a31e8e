/*
 * api_aws.c - Kinesis Data Streams and Firehose, AWS JSON 1.1 on POST /.
 *
 * The SDKs, the aws CLI and agents speak to tarn as to AWS: the operation
 * is the X-Amz-Target header (Kinesis_20131202.PutRecords,
 * Firehose_20150804.PutRecordBatch), the body a JSON document, the request
 * signed with SigV4 (service "kinesis" or "firehose").  Both map onto the
 * same tarn streams: a Kinesis stream or a Firehose delivery stream is a
 * stream whose kind says which API created it, and either API can write to
 * any stream.
 *
 * Translation rules:
 *   - each record's Data is base64; it is decoded, its trailing whitespace
 *     dropped, and appended in STREAM_QUARANTINE mode: a record that is not
 *     a JSON object is still acknowledged and lands in the quarantine zone
 *     with its reason (AWS accepts any bytes; tarn keeps them all);
 *   - a stream is one shard, shardId-000000000000, owning the whole hash
 *     key range; sequence numbers are the stream's (decimal strings);
 *   - backpressure (TN_EAGAIN, TN_ENOSPC) fails every record of a batch
 *     call with ProvisionedThroughputExceededException (Kinesis) or
 *     ServiceUnavailableException (Firehose) and HTTP 200, which is how
 *     SDKs and agents learn to retry per record; single puts get a
 *     throttling error;
 *   - errors are {"__type": "...", "message": "..."} with x-amzn-ErrorType,
 *     statuses and types from the table in errors.c.
 * The management calls are small documents parsed with jansson.  The put
 * calls are the ingest path: their envelope is scanned by awsjson.c (no
 * allocation, base64 decoded straight from the body), and the records
 * themselves are validated by the stream core with simdjson.
 *
 * Runs on the connection's event-loop thread; everything here is
 * request-scoped.  The put calls suspend the request and answer once the
 * stream core says the records are durable (put_call, put_answer); the
 * management calls are short blocking core calls.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "auth/auth.h"
#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "http/http_int.h"
#include "policy/policy.h"
#include "store/store.h"
#include "stream/stream.h"

#include "core/banned.h"

#define AWS_CONTENT_TYPE "application/x-amz-json-1.1"
#define AWS_ACCOUNT "000000000000"
#define SHARD_ID "shardId-000000000000"
#define HASH_KEY_MAX "340282366920938463463374607431768211455"  /* 2^128 - 1 */
#define MAX_PARTITION_KEY 256
#define MAX_LIST_LIMIT 10000

struct aws_ctx {
	struct http_req *r;
	enum aws_service svc;
	const char *op;
	char region[64];
	json_t *in;  /* the request document (an object) */
};

/* ---- answers ------------------------------------------------------------- */

void aws_reply_error(struct http_req *r, enum aws_service svc, int status, const char *type,
		     const char *msg)
{
	char m[TN_ERRLEN];

	http_utf8_copy(msg, m, sizeof(m));
	snprintf(r->log_msg, sizeof(r->log_msg), "%s: %s", type, m);
	http_reply_json(r, status, json_pack("{s:s,s:s}", "__type", type, "message", m));
	r->content_type = AWS_CONTENT_TYPE;
	http_header_add(r, "x-amzn-ErrorType", "%s", type);
	(void)svc;
}

static void aws_reply(struct aws_ctx *c, json_t *doc)
{
	http_reply_json(c->r, 200, doc);
	c->r->content_type = AWS_CONTENT_TYPE;
}

/* An error of a given type, status 400 unless the type says otherwise. */
static void aws_error(struct aws_ctx *c, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void aws_error(struct aws_ctx *c, const char *type, const char *fmt, ...)
{
	char msg[TN_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aws_reply_error(c->r, c->svc, 400, type, msg);
}

/* The error for a TN code, through the table of errors.c. */
static void aws_fail(struct aws_ctx *c, int code, const char *msg)
{
	const struct http_errmap *m = http_errmap(code);

	if (c->svc == AWS_FIREHOSE)
		aws_reply_error(c->r, c->svc, m->firehose_status, m->firehose, msg);
	else
		aws_reply_error(c->r, c->svc, m->kinesis_status, m->kinesis, msg);
}

/* Kinesis says ValidationException for a bad parameter, Firehose InvalidArgumentException. */
static const char *invalid_type(const struct aws_ctx *c)
{
	return c->svc == AWS_FIREHOSE ? "InvalidArgumentException" : "ValidationException";
}

/* ---- request members ---------------------------------------------------------- */

/* Copies a stream name from member key (or, for Kinesis, StreamARN). Answers on failure. */
static bool get_name(struct aws_ctx *c, const char *key, char out[TN_MAX_STREAM_NAME + 1])
{
	json_t *v = json_object_get(c->in, key);
	const char *s = NULL;
	char err[TN_ERRLEN];

	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (!v && c->svc == AWS_KINESIS) {
		json_t *arn = json_object_get(c->in, "StreamARN");
		const char *a = json_string_value(arn);
		const char *slash = a ? strstr(a, ":stream/") : NULL;

		if (slash)
			s = slash + strlen(":stream/");
	}
	if (!s) {
		aws_error(c, invalid_type(c),
			  "1 validation error detected: Value null at '%s' failed to satisfy "
			  "constraint: Member must not be null", key);
		return false;
	}
	if (stream_name_check(s, err) != 0) {
		aws_error(c, invalid_type(c), "%s", err);
		return false;
	}
	snprintf(out, TN_MAX_STREAM_NAME + 1, "%s", s);
	return true;
}

/* An optional integer member in [lo, hi] (def if absent).  Answers on failure. */
static bool get_int(struct aws_ctx *c, json_t *obj, const char *key, long long lo, long long hi,
		    long long def, long long *out)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		aws_error(c, invalid_type(c),
			  "1 validation error detected: Value at '%s' failed to satisfy constraint: "
			  "Member must be an integer between %lld and %lld", key, lo, hi);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static void not_found(struct aws_ctx *c, const char *name)
{
	if (c->svc == AWS_FIREHOSE)
		aws_error(c, "ResourceNotFoundException",
			  "Firehose %s under account %s not found.", name, AWS_ACCOUNT);
	else
		aws_error(c, "ResourceNotFoundException", "Stream %s under account %s not found.",
			  name, AWS_ACCOUNT);
}

/* streams_info, answering ResourceNotFoundException or another error. */
static bool get_info(struct aws_ctx *c, const char *name, struct stream_info *info)
{
	char err[TN_ERRLEN];
	int rc = streams_info(c->r->deps->streams, name, info, err);

	if (rc == TN_ENOTFOUND)
		not_found(c, name);
	else if (rc)
		aws_fail(c, rc, err);
	return rc == 0;
}

static json_t *epoch_s(int64_t ms)
{
	return json_real((double)ms / 1000.0);
}

static json_t *arn(const struct aws_ctx *c, const char *name)
{
	char s[512];

	if (c->svc == AWS_FIREHOSE)
		snprintf(s, sizeof(s), "arn:aws:firehose:%s:%s:deliverystream/%s", c->region,
			 AWS_ACCOUNT, name);
	else
		snprintf(s, sizeof(s), "arn:aws:kinesis:%s:%s:stream/%s", c->region, AWS_ACCOUNT,
			 name);
	return json_string(s);
}

static json_t *seq_string(uint64_t seq, bool padded)
{
	char s[32];

	snprintf(s, sizeof(s), padded ? "%020llu" : "%llu", (unsigned long long)seq);
	return json_string(s);
}

/* ---- putting records ------------------------------------------------------ */

/*
 * The records of one put call, decoded: all data in one buffer, records by
 * offset (the buffer moves while it grows).  Filled by put_record_cb as
 * awsj_put_parse walks the body.
 */
struct put_batch {
	bool kinesis;            /* records carry partition keys */
	bool single;             /* PutRecord: names in messages have no index */
	size_t max_records;      /* count cap of the call */
	size_t limit;            /* size cap of the call (data + partition keys) */
	size_t total;            /* counted toward limit so far */
	struct buf data;         /* decoded data of every record */
	struct buf tmp;          /* scratch for escaped strings */
	size_t *off, *len, n, cap;
	struct record *recs;
	const char *etype;       /* AWS error type when the callback failed */
};

static void put_batch_init(struct put_batch *b, const struct aws_ctx *c, bool single)
{
	bool fh = c->svc == AWS_FIREHOSE;

	memset(b, 0, sizeof(*b));
	b->kinesis = !fh;
	b->single = single;
	b->max_records = single ? 1 : fh ? TN_MAX_FIREHOSE_RECORDS : TN_MAX_KINESIS_RECORDS;
	b->limit = single ? TN_MAX_RECORD + MAX_PARTITION_KEY
			  : fh ? TN_MAX_FIREHOSE_DATA : TN_MAX_KINESIS_DATA;
	/* data alone never passes limit; +4: base64 may decode a few bytes past a check */
	buf_init(&b->data, b->limit + 4);
	buf_init(&b->tmp, ((size_t)TN_MAX_RECORD / 3 + 1) * 4 + 16);
}

static void put_batch_release(struct put_batch *b)
{
	buf_release(&b->data);
	buf_release(&b->tmp);
	free(b->off);
	free(b->len);
	free(b->recs);
}

/* "records.3.member.data" or "data": where a member is, in AWS's words. */
static void member_path(const struct put_batch *b, size_t i, const char *m, char *out,
			size_t n)
{
	if (b->single)
		snprintf(out, n, "%s", m);
	else
		snprintf(out, n, "records.%zu.member.%s", i + 1, m);
}

static int too_long(struct put_batch *b, const char *type, size_t i, const char *m, char *err)
{
	char where[64];

	member_path(b, i, m, where, sizeof(where));
	b->etype = type;
	return tn_fail(err, TN_EINVAL,
		       "1 validation error detected: Value at '%s' failed to satisfy constraint: "
		       "Member must have length less than or equal to %u", where, TN_MAX_RECORD);
}

/* awsj_record_fn: checks and decodes one record into the batch. */
static int put_record_cb(void *arg, size_t i, const struct awsj_record *rec, char *err)
{
	struct put_batch *b = arg;
	const char *vtype = b->kinesis ? "ValidationException" : "InvalidArgumentException";
	const char *s;
	size_t pklen = 0, slen, before, n;
	char where[64];
	int rc;

	if (i >= b->max_records) {
		b->etype = vtype;
		return tn_fail(err, TN_EINVAL,
			       "1 validation error detected: Value at 'records' failed to satisfy "
			       "constraint: Member must have length less than or equal to %zu",
			       b->max_records);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->off = xrealloc(b->off, b->cap * sizeof(*b->off));
		b->len = xrealloc(b->len, b->cap * sizeof(*b->len));
	}
	if (b->kinesis) {
		pklen = rec->partition_key.n;
		if (rec->partition_key.esc) {
			buf_reset(&b->tmp);
			awsj_unescape(&rec->partition_key, &b->tmp);
			pklen = b->tmp.len;
		}
		if (!rec->partition_key.present || pklen < 1 || pklen > MAX_PARTITION_KEY) {
			member_path(b, i, "partitionKey", where, sizeof(where));
			b->etype = "ValidationException";
			return tn_fail(err, TN_EINVAL,
				       "1 validation error detected: Value at '%s' failed to satisfy "
				       "constraint: Member must have length between 1 and %d",
				       where, MAX_PARTITION_KEY);
		}
	}
	if (!rec->data.present) {
		member_path(b, i, "data", where, sizeof(where));
		b->etype = vtype;
		return tn_fail(err, TN_EINVAL,
			       "1 validation error detected: Value null at '%s' failed to satisfy "
			       "constraint: Member must not be null", where);
	}
	s = rec->data.p;
	slen = rec->data.n;
	if (rec->data.esc) {  /* rare: an encoder that writes "\/" */
		buf_reset(&b->tmp);
		if (awsj_unescape(&rec->data, &b->tmp) != 0)
			return too_long(b, vtype, i, "data", err);
		s = b->tmp.data;
		slen = b->tmp.len;
	}
	/* a bound before decoding: base64 is 4 characters per 3 bytes */
	if (slen / 4 * 3 > (size_t)TN_MAX_RECORD + 3)
		return too_long(b, vtype, i, "data", err);
	before = b->data.len;
	rc = base64_decode(s, slen, &b->data);
	if (rc == TN_ETOOBIG) {
		b->etype = vtype;
		return tn_fail(err, TN_EINVAL, "Records size exceeds %zu MB limit", b->limit >> 20);
	}
	if (rc) {
		b->etype = "SerializationException";
		return tn_fail(err, TN_EINVAL, "record %zu: 'Data' is not valid base64", i);
	}
	n = b->data.len - before;
	if (n + pklen > TN_MAX_RECORD)
		return too_long(b, vtype, i, "data", err);
	b->total += n + pklen;
	if (b->total > b->limit) {
		b->etype = vtype;
		return tn_fail(err, TN_EINVAL, "Records size exceeds %zu MB limit", b->limit >> 20);
	}
	b->off[b->n] = before;
	b->len[b->n] = http_trim_trailing_ws(b->data.data + before, n);
	b->n++;
	return 0;
}

/*
 * Scans the body into b and copies the stream name to name (from
 * StreamName / DeliveryStreamName, or a Kinesis StreamARN).  Answers and
 * returns false on any failure.
 */
static bool put_parse(struct aws_ctx *c, struct put_batch *b, struct awsj_put *doc,
		      char name[TN_MAX_STREAM_NAME + 1])
{
	const struct http_req *r = c->r;
	const char *key = c->svc == AWS_FIREHOSE ? "DeliveryStreamName" : "StreamName";
	struct buf nb = BUF_INIT(TN_MAX_STREAM_NAME + 1);
	const struct awsj_str *src = NULL;
	char err[TN_ERRLEN];
	int rc;

	rc = awsj_put_parse(r->body.data, r->body.len, doc, put_record_cb, b, err);
	if (rc == 0 && b->single && c->svc == AWS_KINESIS)
		rc = put_record_cb(b, 0, &doc->top, err);
	if (rc) {
		aws_error(c, b->etype ? b->etype : "SerializationException", "%s", err);
		return false;
	}
	if (!b->single && (!doc->has_records || doc->nrecords == 0)) {
		aws_error(c, invalid_type(c),
			  "1 validation error detected: Value at 'records' failed to satisfy "
			  "constraint: Member must have length greater than or equal to 1");
		return false;
	}
	if (b->single && c->svc == AWS_FIREHOSE && doc->nrecords == 0) {
		aws_error(c, "InvalidArgumentException",
			  "1 validation error detected: Value null at 'record' failed to satisfy "
			  "constraint: Member must not be null");
		return false;
	}
	if (doc->name.present) {
		src = &doc->name;
	} else if (c->svc == AWS_KINESIS && doc->arn.present) {
		/* arn:aws:kinesis:REGION:ACCOUNT:stream/NAME */
		static const char tag[] = ":stream/";
		const char *p = doc->arn.p, *end = doc->arn.p + doc->arn.n, *q;

		for (q = p; q + sizeof(tag) - 1 <= end; q++)
			if (memcmp(q, tag, sizeof(tag) - 1) == 0)
				break;
		if (q + sizeof(tag) - 1 <= end) {
			doc->name.p = q + sizeof(tag) - 1;
			doc->name.n = (size_t)(end - doc->name.p);
			doc->name.esc = doc->arn.esc;
			doc->name.present = true;
			src = &doc->name;
		}
	}
	if (!src) {
		aws_error(c, invalid_type(c),
			  "1 validation error detected: Value null at '%s' failed to satisfy "
			  "constraint: Member must not be null", key);
		return false;
	}
	if (awsj_unescape(src, &nb) != 0 || memchr(nb.data, '\0', nb.len)) {
		aws_error(c, invalid_type(c),
			  "1 validation error detected: Value at '%s' failed to satisfy constraint: "
			  "Member must have length less than or equal to %u and match [a-zA-Z0-9_.-]+",
			  key, TN_MAX_STREAM_NAME);
		buf_release(&nb);
		return false;
	}
	rc = stream_name_check(nb.data, err);
	if (rc == 0)
		snprintf(name, TN_MAX_STREAM_NAME + 1, "%s", nb.data);
	buf_release(&nb);
	if (rc) {
		aws_error(c, invalid_type(c), "%s", err);
		return false;
	}
	return true;
}

/*
 * A put call kept across the suspension: the decoded records live in b
 * until the request completes.  c.in is NULL (put calls skip jansson);
 * c.op points into a request header, valid for the request's life.
 */
struct put_call {
	struct aws_ctx c;
	struct put_batch b;
	char name[TN_MAX_STREAM_NAME + 1];
	bool single;  /* PutRecord (else PutRecords / PutRecordBatch) */
};

static void put_call_free(void *ctx)
{
	struct put_call *pc = ctx;

	put_batch_release(&pc->b);
	free(pc);
}

/* What a failed record says (per-record ErrorCode) for an append error. */
static const char *record_error_code(const struct aws_ctx *c, int rc)
{
	if (rc == TN_EAGAIN || rc == TN_ENOSPC)
		return c->svc == AWS_FIREHOSE ? "ServiceUnavailableException"
					      : "ProvisionedThroughputExceededException";
	return "InternalFailure";
}

static const char *record_error_message(const struct aws_ctx *c, int rc, const char *name,
					char *msg, size_t n)
{
	if (rc == TN_EAGAIN || rc == TN_ENOSPC) {
		if (c->svc == AWS_FIREHOSE)
			snprintf(msg, n, "Slow down: delivery stream %s is behind on flushing; "
					 "retry with backoff.", name);
		else
			snprintf(msg, n, "Rate exceeded for shard " SHARD_ID " in stream %s under "
					 "account " AWS_ACCOUNT ".", name);
	} else {
		snprintf(msg, n, "Internal service failure.");
	}
	return msg;
}

/* A 200 answer whose body the caller writes (the put calls' answers are
 * written by hand: jansson would cost more than the append for 500 records). */
static struct buf *aws_reply_buf(struct aws_ctx *c)
{
	struct buf *out = http_reply_json_buf(c->r, 200);

	c->r->content_type = AWS_CONTENT_TYPE;
	return out;
}

/* The answer of PutRecord for the append's outcome rc (res when 0). */
static void put_record_answer(struct put_call *pc, int rc, const struct append_result *res,
			      const char *err)
{
	struct aws_ctx *c = &pc->c;
	char msg[TN_ERRLEN];

	if (rc == TN_EAGAIN || rc == TN_ENOSPC) {
		record_error_message(c, rc, pc->name, msg, sizeof(msg));
		if (c->svc == AWS_FIREHOSE)
			aws_reply_error(c->r, c->svc, 503, "ServiceUnavailableException", msg);
		else
			aws_error(c, "ProvisionedThroughputExceededException", "%s", msg);
	} else if (rc) {
		aws_fail(c, rc, err);
	} else if (c->svc == AWS_FIREHOSE) {
		buf_printf(aws_reply_buf(c), "{\"RecordId\":\"%020llu\",\"Encrypted\":false}\n",
			   (unsigned long long)res->first_seq);
	} else {
		buf_printf(aws_reply_buf(c),
			   "{\"ShardId\":\"" SHARD_ID "\",\"SequenceNumber\":\"%llu\","
			   "\"EncryptionType\":\"NONE\"}\n",
			   (unsigned long long)res->first_seq);
	}
}

/* The answer of PutRecords / PutRecordBatch: one entry per record. */
static void put_records_answer(struct put_call *pc, int rc, const struct append_result *res,
			       const char *err)
{
	struct aws_ctx *c = &pc->c;
	bool fh = c->svc == AWS_FIREHOSE;
	struct buf entry = BUF_INIT(0);
	size_t i, n = pc->b.n;
	struct buf *out;

	if (rc) {
		char msg[TN_ERRLEN];

		record_error_message(c, rc, pc->name, msg, sizeof(msg));
		snprintf(c->r->log_msg, sizeof(c->r->log_msg), "%zu records failed: %.150s", n,
			 err);
		/* every record fails the same way: print the entry once */
		buf_printf(&entry, "{\"ErrorCode\":\"%s\",\"ErrorMessage\":",
			   record_error_code(c, rc));
		buf_json_str(&entry, msg, strlen(msg));
		buf_putc(&entry, '}');
	}
	out = aws_reply_buf(c);
	if (fh)
		buf_printf(out, "{\"FailedPutCount\":%zu,\"Encrypted\":false,\"RequestResponses\":[",
			   rc ? n : 0);
	else
		buf_printf(out, "{\"FailedRecordCount\":%zu,\"EncryptionType\":\"NONE\",\"Records\":[",
			   rc ? n : 0);
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(out, ',');
		if (rc)
			buf_append(out, entry.data, entry.len);
		else if (fh)
			buf_printf(out, "{\"RecordId\":\"%020llu\"}",
				   (unsigned long long)(res->first_seq + i));
		else
			buf_printf(out, "{\"SequenceNumber\":\"%llu\",\"ShardId\":\"" SHARD_ID "\"}",
				   (unsigned long long)(res->first_seq + i));
	}
	buf_puts(out, "]}\n");
	buf_release(&entry);
}

/*
 * Loop thread, after the completion resumed the request.  An unknown
 * stream or a refused batch fails the whole call; backpressure and write
 * failures are answered per record by the batch calls.
 */
static void put_answer(struct http_req *r)
{
	struct put_call *pc = r->async_ctx;
	int rc = r->async_rc;

	if (rc == TN_ENOTFOUND) {
		not_found(&pc->c, pc->name);
		return;
	}
	if (rc == TN_EINVAL || rc == TN_ETOOBIG || rc == TN_EDENIED) {
		aws_fail(&pc->c, rc, r->async_err);
		return;
	}
	if (pc->single)
		put_record_answer(pc, rc, &r->append_res, r->async_err);
	else
		put_records_answer(pc, rc, &r->append_res, r->async_err);
}

/*
 * Parses the call, then suspends the request and hands the records to the
 * stream core (quarantine mode); put_answer answers once they are durable
 * or refused.
 */
static void put_call(struct aws_ctx *c, bool single)
{
	struct http_req *r = c->r;
	struct streams *ss = r->deps->streams;
	struct put_call *pc = xcalloc(1, sizeof(*pc));
	struct awsj_put doc;
	char err[TN_ERRLEN];
	size_t i;
	int rc;

	pc->c = *c;
	pc->single = single;
	put_batch_init(&pc->b, &pc->c, single);
	if (!put_parse(&pc->c, &pc->b, &doc, pc->name))
		goto fail;
	/* admins put anywhere; other users where a stream grant lets them */
	if (!r->who.is_admin &&
	    !policy_allows(r->deps->policy, r->who.name, GRANT_STREAM, pc->name)) {
		char msg[TN_ERRLEN];
		snprintf(msg, sizeof msg, "User: %s is not authorized to perform: %s on resource: "
			 "stream %s (no stream grant)", r->who.name,
			 c->svc == AWS_FIREHOSE ? "firehose:PutRecord" : "kinesis:PutRecord",
			 pc->name);
		http_audit(r, "denied", r->who.name, json_pack("{s:s}", "reason", msg));
		aws_reply_error(r, c->svc, 400, "AccessDeniedException", msg);
		goto fail;
	}
	pc->b.recs = xcalloc(pc->b.n ? pc->b.n : 1, sizeof(*pc->b.recs));
	for (i = 0; i < pc->b.n; i++) {
		pc->b.recs[i].data = pc->b.data.data + pc->b.off[i];
		pc->b.recs[i].len = pc->b.len[i];
	}
	/* auto-create with this API's kind (the core would say "native") */
	if (r->deps->cfg->streams_auto_create) {
		rc = streams_create(ss, pc->name, c->svc == AWS_FIREHOSE ? "firehose" : "kinesis",
				    NULL, true, err);
		if (rc && rc != TN_ECONFLICT) {
			aws_fail(&pc->c, rc, err);
			goto fail;
		}
	}
	/* suspend first: the completion may come before streams_append_async returns */
	if (!http_suspend(r, put_answer, pc, put_call_free))
		return;
	memset(&r->append_res, 0, sizeof(r->append_res));
	r->append_res.bad_index = -1;
	rc = streams_append_async(ss, pc->name, pc->b.recs, pc->b.n, STREAM_QUARANTINE,
				  &r->append_res, http_append_done, r, err);
	if (rc < 0)
		http_append_refused(r, rc, err);
	/* rc == 0: the completion may be filling r->async_* already; touch nothing */
	return;
fail:
	put_call_free(pc);
}

/*
 * Kinesis_20131202.PutRecord
 *   {"StreamName": s, "Data": b64, "PartitionKey": s, "ExplicitHashKey"?: s}
 *   -> {"ShardId": "shardId-000000000000", "SequenceNumber": "N", "EncryptionType": "NONE"}
 *
 * Firehose_20150804.PutRecord
 *   {"DeliveryStreamName": s, "Record": {"Data": b64}}
 *   -> {"RecordId": s, "Encrypted": false}
 *
 * Throttled: Kinesis 400 ProvisionedThroughputExceededException, Firehose
 * 503 ServiceUnavailableException.
 */
static void put_record(struct aws_ctx *c)
{
	put_call(c, true);
}

/*
 * Kinesis_20131202.PutRecords
 *   {"StreamName": s, "Records": [{"Data": b64, "PartitionKey": s}, ...]}
 *   (1..500 records, <= 5 MiB of data and partition keys, each <= 1 MiB)
 *   -> {"FailedRecordCount": N, "EncryptionType": "NONE",
 *       "Records": [{"SequenceNumber": "N", "ShardId": s} | {"ErrorCode": s, "ErrorMessage": s}]}
 *
 * Firehose_20150804.PutRecordBatch
 *   {"DeliveryStreamName": s, "Records": [{"Data": b64}, ...]}  (1..500, <= 4 MiB)
 *   -> {"FailedPutCount": N, "Encrypted": false,
 *       "RequestResponses": [{"RecordId": s} | {"ErrorCode": s, "ErrorMessage": s}]}
 * Backpressure or a failed write fails every record (HTTP 200), never half.
 */
static void put_records(struct aws_ctx *c)
{
	put_call(c, false);
}

/* ---- Kinesis stream management ---------------------------------------- */

/* The one shard of a stream. */
static json_t *shard_json(const struct stream_info *in)
{
	/* first sequence number of this incarnation of the stream */
	uint64_t first = in->records && in->last_seq >= in->records
				 ? in->last_seq - in->records + 1 : in->last_seq + 1;

	return json_pack("{s:s,s:{s:s,s:s},s:{s:o}}", "ShardId", SHARD_ID,
			 "HashKeyRange", "StartingHashKey", "0", "EndingHashKey", HASH_KEY_MAX,
			 "SequenceNumberRange", "StartingSequenceNumber",
			 seq_string(first, false));
}

/*
 * Kinesis_20131202.CreateStream  {"StreamName": s, "ShardCount"?: n,
 *   "StreamModeDetails"?: {...}}  -> {}
 * Any shard count is accepted; a tarn stream is one shard.
 */
static void kinesis_create_stream(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1], err[TN_ERRLEN];
	long long shards;
	int rc;

	if (!get_name(c, "StreamName", name) ||
	    !get_int(c, c->in, "ShardCount", 1, 100000, 1, &shards))
		return;
	rc = streams_create(c->r->deps->streams, name, "kinesis", NULL, false, err);
	if (rc == TN_ECONFLICT) {
		aws_error(c, "ResourceInUseException", "Stream %s under account %s already exists.",
			  name, AWS_ACCOUNT);
		return;
	}
	if (rc) {
		aws_fail(c, rc, err);
		return;
	}
	aws_reply(c, json_object());
}

/* Kinesis_20131202.DeleteStream  {"StreamName": s}  -> {}
 * Firehose_20150804.DeleteDeliveryStream  {"DeliveryStreamName": s}  -> {} */
static void delete_stream(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1], err[TN_ERRLEN];
	int rc;

	if (!get_name(c, c->svc == AWS_FIREHOSE ? "DeliveryStreamName" : "StreamName", name))
		return;
	rc = streams_delete(c->r->deps->streams, name, err);
	if (rc == TN_ENOTFOUND) {
		not_found(c, name);
		return;
	}
	if (rc) {
		aws_fail(c, rc, err);
		return;
	}
	aws_reply(c, json_object());
}

/*
 * Kinesis_20131202.DescribeStream  {"StreamName": s, "Limit"?: n, "ExclusiveStartShardId"?: s}
 *   -> {"StreamDescription": {StreamName, StreamARN, StreamStatus, StreamModeDetails,
 *       Shards, HasMoreShards, RetentionPeriodHours, StreamCreationTimestamp,
 *       EnhancedMonitoring, EncryptionType}}
 */
static void kinesis_describe_stream(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1];
	struct stream_info info;
	json_t *shards, *after;

	if (!get_name(c, "StreamName", name) || !get_info(c, name, &info))
		return;
	shards = json_array();
	after = json_object_get(c->in, "ExclusiveStartShardId");
	if (!json_is_string(after) || strcmp(json_string_value(after), SHARD_ID) < 0)
		json_array_append_new(shards, shard_json(&info));
	aws_reply(c, json_pack("{s:{s:s,s:o,s:s,s:{s:s},s:o,s:b,s:i,s:o,s:[{s:[]}],s:s}}",
			       "StreamDescription",
			       "StreamName", info.name,
			       "StreamARN", arn(c, info.name),
			       "StreamStatus", "ACTIVE",
			       "StreamModeDetails", "StreamMode", "PROVISIONED",
			       "Shards", shards,
			       "HasMoreShards", 0,
			       "RetentionPeriodHours", 24,
			       "StreamCreationTimestamp", epoch_s(info.created_ms),
			       "EnhancedMonitoring", "ShardLevelMetrics",
			       "EncryptionType", "NONE"));
}

/* Kinesis_20131202.DescribeStreamSummary  {"StreamName": s}
 *   -> {"StreamDescriptionSummary": {..., "OpenShardCount": 1, "ConsumerCount": 0}} */
static void kinesis_describe_summary(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1];
	struct stream_info info;

	if (!get_name(c, "StreamName", name) || !get_info(c, name, &info))
		return;
	aws_reply(c, json_pack("{s:{s:s,s:o,s:s,s:{s:s},s:i,s:o,s:[{s:[]}],s:s,s:i,s:i}}",
			       "StreamDescriptionSummary",
			       "StreamName", info.name,
			       "StreamARN", arn(c, info.name),
			       "StreamStatus", "ACTIVE",
			       "StreamModeDetails", "StreamMode", "PROVISIONED",
			       "RetentionPeriodHours", 24,
			       "StreamCreationTimestamp", epoch_s(info.created_ms),
			       "EnhancedMonitoring", "ShardLevelMetrics",
			       "EncryptionType", "NONE",
			       "OpenShardCount", 1,
			       "ConsumerCount", 0));
}

/* Kinesis_20131202.ListShards  {"StreamName": s}  -> {"Shards": [shard]} */
static void kinesis_list_shards(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1];
	struct stream_info info;

	if (!get_name(c, "StreamName", name) || !get_info(c, name, &info))
		return;
	aws_reply(c, json_pack("{s:[o]}", "Shards", shard_json(&info)));
}

/*
 * Kinesis_20131202.ListStreams
 *   {"Limit"?: n, "ExclusiveStartStreamName"?: s, "NextToken"?: s}
 *   -> {"StreamNames": [...], "HasMoreStreams": b, "StreamSummaries": [...], "NextToken"?: s}
 * Firehose_20150804.ListDeliveryStreams
 *   {"Limit"?: n, "ExclusiveStartDeliveryStreamName"?: s}
 *   -> {"DeliveryStreamNames": [...], "HasMoreDeliveryStreams": b}
 * Every tarn stream is listed by both APIs.  The token is the last name listed.
 */
static void list_streams(struct aws_ctx *c)
{
	bool fh = c->svc == AWS_FIREHOSE;
	struct stream_info *all = NULL;
	size_t n = 0, i, listed = 0;
	char err[TN_ERRLEN];
	const char *start;
	long long limit;
	json_t *names, *sums, *doc;
	bool more = false;
	int rc;

	if (!get_int(c, c->in, "Limit", 1, MAX_LIST_LIMIT, fh ? 10 : 100, &limit))
		return;
	start = json_string_value(json_object_get(c->in, fh ? "ExclusiveStartDeliveryStreamName"
							  : "ExclusiveStartStreamName"));
	if (!fh && json_is_string(json_object_get(c->in, "NextToken")))
		start = json_string_value(json_object_get(c->in, "NextToken"));
	rc = streams_list(c->r->deps->streams, &all, &n, err);
	if (rc) {
		aws_fail(c, rc, err);
		return;
	}
	names = json_array();
	sums = json_array();
	for (i = 0; i < n; i++) {
		if (start && strcmp(all[i].name, start) <= 0)
			continue;
		if (listed == (size_t)limit) {
			more = true;
			break;
		}
		json_array_append_new(names, json_string(all[i].name));
		if (!fh)
			json_array_append_new(
				sums, json_pack("{s:s,s:o,s:s,s:{s:s},s:o}", "StreamName", all[i].name,
						"StreamARN", arn(c, all[i].name), "StreamStatus",
						"ACTIVE", "StreamModeDetails", "StreamMode",
						"PROVISIONED", "StreamCreationTimestamp",
						epoch_s(all[i].created_ms)));
		listed++;
	}
	if (fh) {
		json_decref(sums);
		doc = json_pack("{s:o,s:b}", "DeliveryStreamNames", names, "HasMoreDeliveryStreams",
				more);
	} else {
		doc = json_pack("{s:o,s:b,s:o}", "StreamNames", names, "HasMoreStreams", more,
				"StreamSummaries", sums);
		if (more && listed > 0)
			json_object_set_new(doc, "NextToken",
					    json_string(json_string_value(
						    json_array_get(names, listed - 1))));
	}
	free(all);
	aws_reply(c, doc);
}

/* ---- Firehose delivery stream management ---------------------------------- */

/* Applies BufferingHints of an S3 destination configuration to o. Answers on failure. */
static bool apply_hints(struct aws_ctx *c, json_t *dest, struct stream_opts *o)
{
	json_t *hints = json_object_get(dest, "BufferingHints");
	long long mb, secs;

	if (!json_is_object(hints))
		return true;
	if (!get_int(c, hints, "SizeInMBs", 1, 128, (long long)(o->buffer_bytes >> 20), &mb) ||
	    !get_int(c, hints, "IntervalInSeconds", 0, 900, o->buffer_ms / 1000, &secs))
		return false;
	if (json_object_get(hints, "SizeInMBs"))
		o->buffer_bytes = (uint64_t)mb << 20;
	if (json_object_get(hints, "IntervalInSeconds"))
		o->buffer_ms = (uint32_t)(secs * 1000);
	return true;
}

/*
 * Firehose_20150804.CreateDeliveryStream
 *   {"DeliveryStreamName": s, "DeliveryStreamType"?: "DirectPut",
 *    "ExtendedS3DestinationConfiguration"? | "S3DestinationConfiguration"?:
 *      {"BufferingHints": {"SizeInMBs": n, "IntervalInSeconds": n}, ...}}
 *   -> {"DeliveryStreamARN": s}
 * The destination is always the lake's raw zone; only the buffering hints
 * are taken (as the stream's buffer size and interval).
 */
static void firehose_create(struct aws_ctx *c)
{
	char name[TN_MAX_STREAM_NAME + 1], err[TN_ERRLEN];
	const char *type;
	struct stream_opts o;
	int rc;

	if (!get_name(c, "DeliveryStreamName", name))
		return;
	type = json_string_value(json_object_get(c->in, "DeliveryStreamType"));
	if (type && strcmp(type, "DirectPut") != 0) {
		aws_error(c, "InvalidArgumentException",
			  "DeliveryStreamType '%s' is not supported: tarn delivery streams are "
			  "DirectPut", type);
		return;
	}
	http_stream_defaults(c->r->deps->cfg, &o);
	if (!apply_hints(c, json_object_get(c->in, "ExtendedS3DestinationConfiguration"), &o) ||
	    !apply_hints(c, json_object_get(c->in, "S3DestinationConfiguration"), &o))
		return;
	if ((rc = stream_opts_check(&o, err)) != 0) {
		aws_error(c, "InvalidArgumentException", "%s", err);
		return;
	}
	rc = streams_create(c->r->deps->streams, name, "firehose", &o, false, err);
	if (rc == TN_ECONFLICT) {
		aws_error(c, "ResourceInUseException", "Firehose %s under account %s already exists.",
			  name, AWS_ACCOUNT);
		return;
	}
	if (rc) {
		aws_fail(c, rc, err);
		return;
	}
	aws_reply(c, json_pack("{s:o}", "DeliveryStreamARN", arn(c, name)));
}

/*
 * Firehose_20150804.DescribeDeliveryStream  {"DeliveryStreamName": s}
 *   -> {"DeliveryStreamDescription": {DeliveryStreamName, DeliveryStreamARN,
 *       DeliveryStreamStatus, DeliveryStreamType, VersionId, CreateTimestamp,
 *       Destinations: [{DestinationId, ExtendedS3DestinationDescription}],
 *       HasMoreDestinations}}
 */
static void firehose_describe(struct aws_ctx *c)
{
	const struct http_deps *d = c->r->deps;
	char name[TN_MAX_STREAM_NAME + 1], bucket[128], prefix[512], errprefix[512];
	struct stream_info info;
	uint64_t mb;
	json_t *dest;

	if (!get_name(c, "DeliveryStreamName", name) || !get_info(c, name, &info))
		return;
	snprintf(bucket, sizeof(bucket), "arn:aws:s3:::%s", d->cfg->lake_name);
	snprintf(prefix, sizeof(prefix), "%s/%s/", store_zone_dir(d->store, ZONE_RAW), info.name);
	snprintf(errprefix, sizeof(errprefix), "%s/quarantine/%s/",
		 store_zone_dir(d->store, ZONE_TRANSIENT), info.name);
	mb = info.opts.buffer_bytes >> 20;
	dest = json_pack("{s:s,s:s,s:s,s:s,s:{s:I,s:I},s:s,s:{s:s}}",
			 "RoleARN", "arn:aws:iam::" AWS_ACCOUNT ":role/tarn",
			 "BucketARN", bucket,
			 "Prefix", prefix,
			 "ErrorOutputPrefix", errprefix,
			 "BufferingHints", "SizeInMBs", (json_int_t)(mb ? mb : 1),
			 "IntervalInSeconds", (json_int_t)(info.opts.buffer_ms / 1000),
			 "CompressionFormat", "UNCOMPRESSED",
			 "EncryptionConfiguration", "NoEncryptionConfig", "NoEncryption");
	aws_reply(c, json_pack("{s:{s:s,s:o,s:s,s:s,s:s,s:o,s:{s:s},s:[{s:s,s:o}],s:b}}",
			       "DeliveryStreamDescription",
			       "DeliveryStreamName", info.name,
			       "DeliveryStreamARN", arn(c, info.name),
			       "DeliveryStreamStatus", "ACTIVE",
			       "DeliveryStreamType", "DirectPut",
			       "VersionId", "1",
			       "CreateTimestamp", epoch_s(info.created_ms),
			       "DeliveryStreamEncryptionConfiguration", "Status", "DISABLED",
			       "Destinations", "DestinationId", "destinationId-000000000001",
			       "ExtendedS3DestinationDescription", dest,
			       "HasMoreDestinations", 0));
}

/* ---- dispatch ---------------------------------------------------------- */

struct aws_op {
	const char *name;
	void (*fn)(struct aws_ctx *c);
	bool raw;  /* the handler scans the body itself (awsjson.c): c->in is NULL */
};

/*
 * The operations.  To add one: write the handler above, preceded by its
 * request and response syntax, and add a row to the table of its service
 * (raw = true only for the record path, which must not go through jansson).
 */
static const struct aws_op kinesis_ops[] = {
	{ "CreateStream", kinesis_create_stream, false },
	{ "DeleteStream", delete_stream, false },
	{ "DescribeStream", kinesis_describe_stream, false },
	{ "DescribeStreamSummary", kinesis_describe_summary, false },
	{ "ListShards", kinesis_list_shards, false },
	{ "ListStreams", list_streams, false },
	{ "PutRecord", put_record, true },
	{ "PutRecords", put_records, true },
};

static const struct aws_op firehose_ops[] = {
	{ "CreateDeliveryStream", firehose_create, false },
	{ "DeleteDeliveryStream", delete_stream, false },
	{ "DescribeDeliveryStream", firehose_describe, false },
	{ "ListDeliveryStreams", list_streams, false },
	{ "PutRecord", put_record, true },
	{ "PutRecordBatch", put_records, true },
};

size_t http_sigv4_headers(struct http_req *r, struct sigv4_header **out)
{
	const struct wire_header *hs;
	size_t n = http_req_headers(r, &hs);
	struct sigv4_header *h = xmalloc((n ? n : 1) * sizeof(*h));

	for (size_t i = 0; i < n; i++) {
		h[i].name = hs[i].name;
		h[i].value = hs[i].value;
	}
	*out = h;
	return n;
}

/* "Signature expired: ..." / "not yet current" in AWS's words, for a skewed request. */
static void skew_message(struct http_req *r, int skew_s, char *msg, size_t n, const char *err)
{
	const char *date = http_req_header(r, "X-Amz-Date");
	int64_t now = time_now_ms(), t;
	char now_s[20], lim_s[20];

	if (!date || time_parse(date, strlen(date), &t) != 0) {
		snprintf(msg, n, "%s", err);
		return;
	}
	time_format_amz(now, now_s, sizeof(now_s));
	if (t < now) {
		time_format_amz(now - (int64_t)skew_s * 1000, lim_s, sizeof(lim_s));
		snprintf(msg, n, "Signature expired: %s is now earlier than %s (%s - %d min.)", date,
			 lim_s, now_s, skew_s / 60);
	} else {
		time_format_amz(now + (int64_t)skew_s * 1000, lim_s, sizeof(lim_s));
		snprintf(msg, n, "Signature not yet current: %s is still later than %s (%s + %d min.)",
			 date, lim_s, now_s, skew_s / 60);
	}
}

/* SigV4.  Answers and returns false when the request is not authenticated. */
static bool aws_authenticate(struct http_req *r, enum aws_service svc)
{
	struct sigv4_header *hh = NULL;
	struct sigv4_request req;
	enum auth_fail why = AUTH_OK;
	char err[TN_ERRLEN] = "", msg[TN_ERRLEN];
	int skew = (int)r->deps->cfg->auth_clock_skew_s;
	int rc;

	memset(&req, 0, sizeof(req));
	req.nheaders = http_sigv4_headers(r, &hh);
	req.method = r->method;
	req.path = r->raw_path;
	req.query = r->raw_query;
	req.headers = hh;
	req.body = r->body.data;
	req.body_len = r->body.len;
	rc = auth_sigv4(r->deps->auth, &req, time_now_ms(), skew, aws_service_name(svc), &r->who,
			&why, err);
	free(hh);
	if (rc == 0) {
		r->authed = true;
		return true;  /* what a user who is not an admin may do is checked per operation */
	}
	http_audit(r, "auth", "", json_pack("{s:s, s:s, s:s}", "outcome", "failed", "scheme", "sigv4",
					    "why", err));
	if (rc != TN_EAUTH) {
		const struct http_errmap *m = http_errmap(rc);

		aws_reply_error(r, svc, svc == AWS_FIREHOSE ? m->firehose_status : m->kinesis_status,
				svc == AWS_FIREHOSE ? m->firehose : m->kinesis, err);
		return false;
	}
	switch (why) {
	case AUTH_MISSING:
		aws_reply_error(r, svc, 403, "MissingAuthenticationTokenException",
				"Missing Authentication Token");
		break;
	case AUTH_UNKNOWN:
		aws_reply_error(r, svc, 403, "UnrecognizedClientException",
				"The security token included in the request is invalid.");
		break;
	case AUTH_BAD_SECRET:
		aws_reply_error(r, svc, 403, "InvalidSignatureException",
				"The request signature we calculated does not match the signature "
				"you provided. Check your AWS Secret Access Key and signing method. "
				"Consult the service documentation for details.");
		break;
	case AUTH_SKEWED:
	case AUTH_EXPIRED:
		skew_message(r, skew, msg, sizeof(msg), err);
		aws_reply_error(r, svc, 403, "InvalidSignatureException", msg);
		break;
	case AUTH_BAD_PAYLOAD:
		aws_reply_error(r, svc, 403, "InvalidSignatureException",
				"The provided 'x-amz-content-sha256' header does not match what "
				"was computed.");
		break;
	default:  /* AUTH_MALFORMED, and whatever else */
		aws_reply_error(r, svc, 403, "IncompleteSignatureException", err);
		break;
	}
	return false;
}

/*
 * POST /  X-Amz-Target: Kinesis_20131202.<Op> | Firehose_20150804.<Op>
 *   Content-Type: application/x-amz-json-1.1 (or application/json)
 *   body: the operation's JSON request  -> 200 its JSON response
 */
void api_aws(struct http_req *r)
{
	struct aws_ctx c;
	const char *target = http_req_header(r, "X-Amz-Target");
	const char *ct = http_req_header(r, "Content-Type");
	const struct aws_op *ops;
	size_t nops, i;
	char err[TN_ERRLEN];

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.svc = aws_target_parse(target, &c.op);
	aws_credential_region(http_req_header(r, "Authorization"), c.region,
			      sizeof(c.region));
	if (!aws_authenticate(r, c.svc))
		return;
	if (c.svc == AWS_NONE) {
		aws_error(&c, "UnknownOperationException", "unknown operation: X-Amz-Target '%s'",
			  target ? target : "");
		return;
	}
	if (ct && strncasecmp(ct, AWS_CONTENT_TYPE, strlen(AWS_CONTENT_TYPE)) != 0 &&
	    strncasecmp(ct, "application/x-amz-json-1.0", 26) != 0 &&
	    strncasecmp(ct, "application/json", 16) != 0) {
		aws_error(&c, "SerializationException",
			  "content type '%s' is not supported: send %s (CBOR is not supported: "
			  "turn it off in the SDK, e.g. AWS_CBOR_DISABLE=1)", ct, AWS_CONTENT_TYPE);
		return;
	}
	if (c.svc == AWS_FIREHOSE) {
		ops = firehose_ops;
		nops = sizeof(firehose_ops) / sizeof(firehose_ops[0]);
	} else {
		ops = kinesis_ops;
		nops = sizeof(kinesis_ops) / sizeof(kinesis_ops[0]);
	}
	for (i = 0; i < nops; i++)
		if (strcmp(ops[i].name, c.op) == 0)
			break;
	if (i == nops) {
		aws_error(&c, "UnknownOperationException", "operation '%s' is not supported by tarn",
			  target);
		return;
	}
	if (ops[i].raw) {
		ops[i].fn(&c);  /* the put calls check the stream grant once they know the stream */
		return;
	}
	/* managing streams is an admin's */
	if (!r->who.is_admin) {
		char msg[TN_ERRLEN];
		snprintf(msg, sizeof msg, "User: %s is not authorized to perform: %s (only admins "
			 "manage streams)", r->who.name, c.op);
		http_audit(r, "denied", r->who.name, json_pack("{s:s}", "reason", msg));
		aws_reply_error(r, c.svc, 400, "AccessDeniedException", msg);
		return;
	}
	c.in = http_body_json(r, err);
	if (!c.in) {
		aws_error(&c, "SerializationException", "%s", err);
		return;
	}
	ops[i].fn(&c);
	json_decref(c.in);
}
