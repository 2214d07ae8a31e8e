/*
 * err.c - error codes, messages, and the can't-happen path.
 */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/banned.h"

const char *tn_strerror(int code)
{
	switch (code) {
	case TN_OK: return "ok";
	case TN_EINVAL: return "invalid";
	case TN_ENOTFOUND: return "not found";
	case TN_EDENIED: return "denied";
	case TN_ETOOBIG: return "too big";
	case TN_EIO: return "i/o error";
	case TN_ENOSPC: return "no space left";
	case TN_ECONFLICT: return "conflict";
	case TN_EAGAIN: return "busy, retry later";
	case TN_EAUTH: return "not authenticated";
	case TN_ECORRUPT: return "corrupt";
	case TN_EUNSUPPORTED: return "unsupported";
	case TN_EINTERNAL: return "internal error";
	case TN_ETIMEDOUT: return "timed out";
	case TN_ECANCELED: return "canceled";
	}
	return "unknown error";
}

int tn_fail(char *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, TN_ERRLEN, fmt, ap);
		va_end(ap);
	}
	return code;
}

int tn_from_errno(int e)
{
	switch (e) {
	case 0: return TN_OK;
	case ENOSPC: case EDQUOT: return TN_ENOSPC;
	case ENOENT: case ENOTDIR: return TN_ENOTFOUND;
	case EACCES: case EPERM: case EROFS: return TN_EDENIED;
	case EEXIST: case ENOTEMPTY: case EBUSY: case EWOULDBLOCK: return TN_ECONFLICT;
	case EINVAL: case ENAMETOOLONG: return TN_EINVAL;
	case EFBIG: case EMFILE: case ENFILE: return TN_ETOOBIG;
	case EINTR: return TN_EAGAIN;
	}
	return TN_EIO;
}

void tn_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "tarn: BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
