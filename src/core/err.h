/*
 * err.h - the one error enum of tarn.
 *
 * Every function that can fail returns int: 0 on success or one of the
 * negative TN_E* codes below.  Functions that can fail in interesting ways
 * also take a caller's message buffer (char err[TN_ERRLEN]) and write one
 * complete, lowercase message naming the thing that was wrong.  errno never
 * crosses a module boundary; codes become HTTP statuses, AWS error types and
 * SQLSTATEs only at the edges, each through one table.
 */
#ifndef TN_ERR_H
#define TN_ERR_H

#include <stddef.h>

enum tn_err {
	TN_OK = 0,
	TN_EINVAL = -1,      /* bad input from the caller or the client */
	TN_ENOTFOUND = -2,   /* no such stream, object, token, ... */
	TN_EDENIED = -3,     /* authenticated, but not allowed */
	TN_ETOOBIG = -4,     /* past a cap of core/limits.h */
	TN_EIO = -5,         /* the disk or the OS failed */
	TN_ENOSPC = -6,      /* the disk is full */
	TN_ECONFLICT = -7,   /* exists already, immutable, locked by another */
	TN_EAGAIN = -8,      /* busy: back off and retry (backpressure) */
	TN_EAUTH = -9,       /* not authenticated: missing or bad credentials */
	TN_ECORRUPT = -10,   /* stored data failed its checksum */
	TN_EUNSUPPORTED = -11, /* a valid request tarn does not implement */
	TN_EINTERNAL = -12,  /* a bug or an unexpected library failure */
	TN_ETIMEDOUT = -13,  /* a deadline passed (a query's timeout) */
	TN_ECANCELED = -14,  /* the caller canceled the work */
};

/* Length of every caller message buffer. */
#define TN_ERRLEN 512

/* Returns a static lowercase name for code ("invalid", "not found", ...). */
const char *tn_strerror(int code);

/*
 * Writes a printf-style message into err (TN_ERRLEN bytes) unless err is
 * NULL, and returns code, so a failure path reads
 *     return tn_fail(err, TN_EINVAL, "stream name '%s': too long", name);
 */
int tn_fail(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Maps an errno value to a TN code (ENOSPC -> TN_ENOSPC, ENOENT -> ...). */
int tn_from_errno(int e);

/* Can't-happen: logs file, line and message to stderr, then aborts. */
#define TN_BUG(...) tn_bug(__FILE__, __LINE__, __VA_ARGS__)
void tn_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
