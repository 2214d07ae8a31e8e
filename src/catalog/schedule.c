/*
 * schedule.c - the crawl scheduler's thread.
 *
 * State under s->mu: a set of touched prefixes (deduplicated, capped: past
 * the cap, "everything"), the time of the last touch, the time of the next
 * scheduled full crawl.  The thread sleeps on s->cv until a touch or a
 * deadline, takes the pending set when the debounce delay has passed
 * since the last touch, and crawls outside the lock.
 */
#include "catalog/schedule.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/banned.h"

struct crawl_sched {
	struct catalog *cat;
	int64_t debounce_ms, interval_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	char *pending[CRAWL_SCHED_MAX_PENDING];
	size_t npending;
	bool everything;       /* the pending set overflowed */
	int64_t last_touch_ms;
	int64_t next_full_ms;  /* 0: no schedule */
	uint64_t rounds;
};

static void crawl_one(struct crawl_sched *s, const char *target)
{
	struct crawl_opts o = { target, 0 };
	struct crawl_report rep;
	char err[TN_ERRLEN];
	int rc = catalog_crawl(s->cat, &o, &rep, err);
	if (rc)
		log_warn("crawl", "automatic crawl of '%s': %s", target ? target : "all zones", err);
	else if (rep.tables_new || rep.tables_changed || rep.files_bad)
		log_info("crawl", "'%s': %u new and %u changed tables, %u files read, %u bad, %lld ms",
			 target ? target : "all zones", rep.tables_new, rep.tables_changed,
			 rep.files_read, rep.files_bad, (long long)rep.duration_ms);
	crawl_report_release(&rep);
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *sched_main(void *arg)
{
	struct crawl_sched *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t now = time_now_ms();
		bool due_touch = (s->npending || s->everything) &&
				 now - s->last_touch_ms >= s->debounce_ms;
		bool due_full = s->next_full_ms && now >= s->next_full_ms;
		if (!due_touch && !due_full) {
			int64_t wait = 1000;
			if (s->npending || s->everything)
				wait = s->debounce_ms - (now - s->last_touch_ms);
			if (s->next_full_ms && s->next_full_ms - now < wait)
				wait = s->next_full_ms - now;
			struct timespec ts;
			deadline_in(&ts, wait > 0 ? wait : 1);
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			continue;
		}
		char *batch[CRAWL_SCHED_MAX_PENDING];
		size_t n = s->npending;
		bool all = s->everything || due_full;
		memcpy(batch, s->pending, n * sizeof *batch);
		s->npending = 0;
		s->everything = false;
		if (due_full)
			s->next_full_ms = now + s->interval_ms;
		pthread_mutex_unlock(&s->mu);
		if (all)
			crawl_one(s, NULL);
		else
			for (size_t i = 0; i < n; i++)
				crawl_one(s, batch[i]);
		for (size_t i = 0; i < n; i++)
			free(batch[i]);
		pthread_mutex_lock(&s->mu);
		s->rounds++;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int crawl_sched_start(struct catalog *c, int64_t debounce_ms, int64_t interval_ms,
		      struct crawl_sched **out, char *err)
{
	struct crawl_sched *s = xcalloc(1, sizeof *s);
	s->cat = c;
	s->debounce_ms = debounce_ms;
	s->interval_ms = interval_ms;
	s->next_full_ms = interval_ms > 0 ? time_now_ms() + interval_ms : 0;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return tn_fail(err, TN_EINTERNAL, "cannot start the crawl scheduler");
	}
	*out = s;
	return 0;
}

void crawl_sched_stop(struct crawl_sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < s->npending; i++)
		free(s->pending[i]);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void crawl_sched_touch(struct crawl_sched *s, const char *prefix)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->last_touch_ms = time_now_ms();
	bool known = s->everything;
	for (size_t i = 0; i < s->npending && !known; i++)
		known = !strcmp(s->pending[i], prefix);
	if (!known) {
		if (s->npending < CRAWL_SCHED_MAX_PENDING)
			s->pending[s->npending++] = xstrdup(prefix);
		else
			s->everything = true;
	}
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

uint64_t crawl_sched_rounds(struct crawl_sched *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t r = s->rounds;
	pthread_mutex_unlock(&s->mu);
	return r;
}
