/*
 * schedule.h - automatic crawls: after new objects land, and on a timer.
 *
 * The flusher (and later uploads) call crawl_sched_touch() with the folder
 * they wrote; the scheduler's thread waits until no new touch came for the
 * debounce delay, then crawls each touched folder incrementally (so a
 * stream flushing every second costs one small crawl per quiet moment, not
 * one per flush).  Every interval it also crawls all catalogued zones
 * incrementally (Glue's scheduled crawler).  Crawls run one at a time on
 * the scheduler's thread; a crawl asked for over REST may run beside it
 * and the catalog serializes the two.
 */
#ifndef TN_SCHEDULE_H
#define TN_SCHEDULE_H

#include <stdint.h>

struct catalog;
struct crawl_sched;

/*
 * Starts the scheduler's thread.  debounce_ms: quiet time before touched
 * folders are crawled; interval_ms: time between full-lake incremental
 * crawls (0: none).  Caller stops it with crawl_sched_stop().
 */
int crawl_sched_start(struct catalog *c, int64_t debounce_ms, int64_t interval_ms,
		      struct crawl_sched **out, char *err);
/* Stops the thread (a running crawl finishes first) and frees. Accepts NULL. */
void crawl_sched_stop(struct crawl_sched *s);
/*
 * Notes that objects under the key prefix changed.  Cheap, never blocks on
 * a crawl; any thread.  Past CRAWL_SCHED_MAX_PENDING distinct prefixes the
 * next round crawls every zone instead.
 */
void crawl_sched_touch(struct crawl_sched *s, const char *prefix);
/* Crawls done by the scheduler since start (for tests and stats). */
uint64_t crawl_sched_rounds(struct crawl_sched *s);

#define CRAWL_SCHED_MAX_PENDING 256

#endif
