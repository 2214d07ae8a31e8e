/*
 * harness.h - a small unit test harness (after libuv's test/runner.c).
 *
 * TEST(name) { ... } registers a test; each test runs in its own forked
 * process with a timeout, so a crash or hang fails that test alone.  The
 * runner prints "ok NAME" or "FAIL NAME: reason" per test; tests/run.sh
 * counts those lines.  Run one test: build/tests/test_x NAME.
 */
#ifndef TN_HARNESS_H
#define TN_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void harness_register(const char *name, test_fn fn);

#define TEST(name)                                                            \
	static void name(void);                                               \
	__attribute__((constructor)) static void register_##name(void)        \
	{                                                                     \
		harness_register(#name, name);                                \
	}                                                                     \
	static void name(void)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                             \
			exit(1);                                              \
		}                                                             \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_) {                                               \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",  \
				__FILE__, __LINE__, #a, a_, b_);              \
			exit(1);                                              \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                      \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",   \
				b_ ? b_ : "(null)");                          \
			exit(1);                                              \
		}                                                             \
	} while (0)

/* A fresh empty directory for this test (removed by the runner). */
const char *test_tmpdir(void);

#endif
