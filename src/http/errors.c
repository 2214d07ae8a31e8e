/*
 * errors.c - the one table that turns TN_E* codes into what the HTTP edge
 * says: the status and error code of the /v1 API, and the error type and
 * status of the Kinesis and Firehose APIs.
 *
 * Design: codes are chosen deep in the core without knowing any protocol;
 * this is the only place in src/http/ that picks a status for one (as
 * PostgreSQL's errcodes table does for SQLSTATEs).  A new TN code needs a
 * row here, and an unknown code falls back to the TN_EINTERNAL row.
 *
 * Choices worth a word:
 *   - backpressure (TN_EAGAIN) and a full disk (TN_ENOSPC) are both 503
 *     with Retry-After: a client should back off and retry either way, and
 *     SDKs retry 503 on their own (507 is not retried by most of them);
 *   - Kinesis throttling is ProvisionedThroughputExceededException with
 *     HTTP 400 (as AWS does; SDKs know it as a throttling error), Firehose
 *     says ServiceUnavailableException with 503;
 *   - AWS reports most client errors with 400, including "not found" and
 *     "in use", so those columns differ from the /v1 one.
 */
#include <stddef.h>

#include "core/err.h"
#include "http/http_int.h"

#include "core/banned.h"

static const struct http_errmap errmap[] = {
	/* code            status name            kinesis type / status                        firehose type / status */
	{ TN_EINVAL,       400, "invalid",      "ValidationException", 400,                   "InvalidArgumentException", 400 },
	{ TN_ENOTFOUND,    404, "not_found",    "ResourceNotFoundException", 400,             "ResourceNotFoundException", 400 },
	{ TN_EDENIED,      403, "denied",       "AccessDeniedException", 400,                 "AccessDeniedException", 400 },
	{ TN_ETOOBIG,      413, "too_large",    "ValidationException", 400,                   "InvalidArgumentException", 400 },
	{ TN_EIO,          500, "io_error",     "InternalFailureException", 500,              "ServiceUnavailableException", 503 },
	{ TN_ENOSPC,       503, "disk_full",    "ProvisionedThroughputExceededException", 400, "ServiceUnavailableException", 503 },
	{ TN_ECONFLICT,    409, "conflict",     "ResourceInUseException", 400,                "ResourceInUseException", 400 },
	{ TN_EAGAIN,       503, "busy",         "ProvisionedThroughputExceededException", 400, "ServiceUnavailableException", 503 },
	{ TN_EAUTH,        401, "unauthorized", "UnrecognizedClientException", 403,           "UnrecognizedClientException", 403 },
	{ TN_ECORRUPT,     500, "corrupt",      "InternalFailureException", 500,              "ServiceUnavailableException", 503 },
	{ TN_EUNSUPPORTED, 501, "unsupported",  "InvalidArgumentException", 400,              "InvalidArgumentException", 400 },
	{ TN_EINTERNAL,    500, "internal",     "InternalFailureException", 500,              "ServiceUnavailableException", 503 },
	{ TN_ETIMEDOUT,    504, "timeout",      "InternalFailureException", 500,              "ServiceUnavailableException", 503 },
	{ TN_ECANCELED,    409, "canceled",     "InternalFailureException", 500,              "ServiceUnavailableException", 503 },
};

const struct http_errmap *http_errmap(int code)
{
	size_t i;

	for (i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++)
		if (errmap[i].code == code)
			return &errmap[i];
	return http_errmap(TN_EINTERNAL);
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}
