/*
 * log.c - line-oriented logging to stderr and a file.
 */
#include "core/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/banned.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static enum log_level log_min = LOG_INFO;
static int log_quiet;

static const char *const level_names[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };

int log_open(const char *path, char *err)
{
	int fd = os_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, err);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&log_mu);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&log_mu);
	return 0;
}

void log_close(void)
{
	pthread_mutex_lock(&log_mu);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	pthread_mutex_unlock(&log_mu);
}

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

void log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

int log_level_parse(const char *s)
{
	if (!strcmp(s, "debug")) return LOG_DEBUG;
	if (!strcmp(s, "info")) return LOG_INFO;
	if (!strcmp(s, "warn")) return LOG_WARN;
	if (!strcmp(s, "error")) return LOG_ERROR;
	return -1;
}

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
	if (lvl < log_min)
		return;
	char line[2048];
	char ts[40];
	time_format_iso_ms(time_now_ms(), ts, sizeof ts);
	int n = snprintf(line, sizeof line, "%s %s %s: ", ts, level_names[lvl], component);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	pthread_mutex_lock(&log_mu);
	if (!log_quiet) {
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
	}
	if (log_fd >= 0) {
		ssize_t w = write(log_fd, line, len);
		(void)w;
	}
	pthread_mutex_unlock(&log_mu);
}
