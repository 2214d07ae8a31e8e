/*
 * mem.h - allocation that cannot fail.
 *
 * Out of memory aborts with a message (as Redis zmalloc and Git wrapper.c
 * do).  Hostile input can never drive tarn here because every growable
 * thing has a cap in core/limits.h.  Any thread may call these.
 */
#ifndef TN_MEM_H
#define TN_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a heap string formatted like printf; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
