/*
 * workers.h - threads for blocking work, kept for the next piece of work.
 *
 * A piece of work given to workers_run starts at once: on a thread that
 * is idle, or on a new one, never queued behind other work (a long query
 * must not hold up an upload's fsync).  A thread that finishes waits up to
 * the pool's idle time for more before it exits, so a busy server starts
 * no thread per request (on the benchmark machine a thread started per
 * 4 KiB upload's commit cost 100-130 us of CPU).
 */
#ifndef TN_WORKERS_H
#define TN_WORKERS_H

struct workers;
typedef void (*workers_fn)(void *arg);

/* A pool whose idle threads exit after idle_ms.  Caller frees with workers_free(). */
struct workers *workers_new(unsigned idle_ms);
/*
 * Runs fn(arg) on a thread of w: one idle, or one started now.  Returns 0,
 * or TN_EAGAIN with a message when no thread can be started (fn has not
 * run).  Any thread.
 */
int workers_run(struct workers *w, workers_fn fn, void *arg, char *err);
/* Threads alive (idle or busy): for tests. */
unsigned workers_count(struct workers *w);
/*
 * Lets w's threads go (NULL: nothing): idle ones exit now, busy ones when
 * their work returns; w is freed by the last.  No workers_run may follow
 * or be in progress.
 */
void workers_free(struct workers *w);

#endif
