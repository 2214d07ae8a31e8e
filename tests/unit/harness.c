/*
 * harness.c - runs each registered test in a child process with a timeout.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 512
#define TIMEOUT_S 120

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static char tmpdir[256];

void harness_register(const char *name, test_fn fn)
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

const char *test_tmpdir(void)
{
	return tmpdir;
}

static int run_one(int i)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/tarn-unit-%d-%s", (int)getpid(), tests[i].name);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", tmpdir, tmpdir);
	if (system(cmd) != 0)
		return 1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(TIMEOUT_S);
		tests[i].fn();
		fflush(NULL);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %s\n", tests[i].name);
		return 0;
	}
	if (WIFSIGNALED(status))
		printf("FAIL %s: killed by signal %d%s\n", tests[i].name, WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else
		printf("FAIL %s: exit %d\n", tests[i].name, WEXITSTATUS(status));
	return 1;
}

int main(int argc, char **argv)
{
	int failed = 0, ran = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (argc > 1) {
			int want = 0;
			for (int a = 1; a < argc; a++)
				want |= strcmp(argv[a], tests[i].name) == 0;
			if (!want)
				continue;
		}
		failed += run_one(i);
		ran++;
	}
	return failed ? 1 : (ran ? 0 : 2);
}
