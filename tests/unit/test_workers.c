/*
 * test_workers.c - the pool of threads for blocking work: work never
 * waits behind other work, idle threads are reused and then exit, and a
 * pool let go while busy is freed by its last thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "core/workers.h"
#include "harness.h"

static pthread_barrier_t all_in;
static atomic_int ran;

/* Each waits for all the others: one queued behind another would hang the test. */
static void meet(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&all_in);
	atomic_fetch_add(&ran, 1);
}

static void count(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

static void wait_ran(int n)
{
	for (int i = 0; i < 5000 && atomic_load(&ran) < n; i++)
		usleep(1000);
	CHECK_INT(atomic_load(&ran), n);
}

TEST(workers_never_queue_work_behind_work)
{
	struct workers *w = workers_new(10000);
	atomic_store(&ran, 0);
	pthread_barrier_init(&all_in, NULL, 16);
	for (int i = 0; i < 16; i++)
		CHECK_INT(workers_run(w, meet, NULL, NULL), 0);
	wait_ran(16);
	/* the 16 threads are idle now: 16 more meet again on the same threads */
	for (int i = 0; i < 16; i++)
		CHECK_INT(workers_run(w, meet, NULL, NULL), 0);
	wait_ran(32);
	CHECK(workers_count(w) <= 32);
	workers_free(w);
	pthread_barrier_destroy(&all_in);
}

TEST(workers_reuse_idle_threads_then_let_them_go)
{
	struct workers *w = workers_new(200);
	atomic_store(&ran, 0);
	for (int i = 0; i < 50; i++) {
		CHECK_INT(workers_run(w, count, NULL, NULL), 0);
		wait_ran(i + 1);
		usleep(1000); /* the thread is back waiting */
	}
	CHECK_INT(workers_count(w), 1);
	for (int i = 0; i < 2000 && workers_count(w) > 0; i++)
		usleep(1000);
	CHECK_INT(workers_count(w), 0);
	CHECK_INT(workers_run(w, count, NULL, NULL), 0); /* a new thread after they all left */
	wait_ran(51);
	workers_free(w);
}

static void slow(void *arg)
{
	usleep(100000);
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(workers_freed_while_busy)
{
	static atomic_int done;
	struct workers *w = workers_new(10000);
	for (int i = 0; i < 4; i++)
		CHECK_INT(workers_run(w, slow, &done, NULL), 0);
	workers_free(w); /* the last of the four threads frees the pool (ASan: no leak, no reuse) */
	for (int i = 0; i < 2000 && atomic_load(&done) < 4; i++)
		usleep(1000);
	CHECK_INT(atomic_load(&done), 4);
	usleep(20000);
	workers_free(NULL);
}
