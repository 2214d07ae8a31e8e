/*
 * workers.c - threads for blocking work, kept for reuse (see workers.h).
 *
 * One queue of work, one condition variable.  `pending` counts work not
 * yet taken, `idle` threads waiting; workers_run wakes an idle thread only
 * while idle threads outnumber the work pending, and starts a thread
 * otherwise, so nothing waits for a busy thread.  A thread waiting past
 * the idle time exits unless work is pending.
 *
 * Lifetime: the pool is shared by its threads and its owner, counted in
 * `refs`; whoever drops the last reference frees it, after unlocking (a
 * mutex may be destroyed once unlocked, whichever thread unlocked it).
 */
#include "core/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"

#include "core/banned.h"

struct work {
	workers_fn fn;
	void *arg;
	struct work *next;
};

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* work pending, or stop */
	struct work *head, *tail;
	unsigned pending, idle, threads, refs;
	unsigned idle_ms;
	bool stop;
};

static void pool_unref_locked(struct workers *w)
{
	bool last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (last) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
	}
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (!w->head) {
			if (w->stop)
				break;
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += w->idle_ms / 1000;
			until.tv_nsec += (long)(w->idle_ms % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			w->idle++;
			int e = 0;
			while (!w->head && !w->stop && e != ETIMEDOUT)
				e = pthread_cond_timedwait(&w->cv, &w->mu, &until);
			w->idle--;
			if (!w->head)
				break; /* idle too long, or stopping */
		}
		struct work *job = w->head;
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		w->pending--;
		pthread_mutex_unlock(&w->mu);
		job->fn(job->arg);
		free(job);
		pthread_mutex_lock(&w->mu);
	}
	w->threads--;
	pool_unref_locked(w);
	return NULL;
}

struct workers *workers_new(unsigned idle_ms)
{
	struct workers *w = xcalloc(1, sizeof *w);
	pthread_condattr_t ca;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->idle_ms = idle_ms;
	w->refs = 1;
	return w;
}

int workers_run(struct workers *w, workers_fn fn, void *arg, char *err)
{
	struct work *job = xmalloc(sizeof *job);
	job->fn = fn;
	job->arg = arg;
	job->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->stop)
		TN_BUG("workers_run after workers_free");
	bool wake = w->idle > w->pending;
	if (!wake) {
		pthread_attr_t attr;
		pthread_t t;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int e = pthread_create(&t, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
		if (e) {
			unsigned n = w->threads;
			pthread_mutex_unlock(&w->mu);
			free(job);
			return tn_fail(err, TN_EAGAIN, "cannot start a thread (%u running): %s", n,
				       strerror(e));
		}
		w->threads++;
		w->refs++;
	}
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->pending++;
	pthread_mutex_unlock(&w->mu);
	/* after the unlock: the woken thread does not wait for the mutex still held here */
	if (wake)
		pthread_cond_signal(&w->cv);
	return 0;
}

unsigned workers_count(struct workers *w)
{
	pthread_mutex_lock(&w->mu);
	unsigned n = w->threads;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void workers_free(struct workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pool_unref_locked(w);
}
