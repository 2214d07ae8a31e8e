/*
 * log.h - the server log: one line per event to stderr and, once
 * log_open() is called, to <lake>/log/server/tarn.log (append).
 *
 * Line format: 2026-11-22T01:53:30.123Z INFO  component: message
 * Any thread may log; lines are written whole under a mutex.
 */
#ifndef TN_LOG_H
#define TN_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Also appends to file path (created 0640). Returns 0 or a TN code. */
int log_open(const char *path, char *err);
void log_close(void);
void log_set_level(enum log_level lvl);
/* Parses "debug" | "info" | "warn" | "error"; -1 if unknown. */
int log_level_parse(const char *s);
/* Silences stderr (the file still gets every line). */
void log_set_quiet(int quiet);

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(c, ...) log_msg(LOG_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...) log_msg(LOG_INFO, c, __VA_ARGS__)
#define log_warn(c, ...) log_msg(LOG_WARN, c, __VA_ARGS__)
#define log_error(c, ...) log_msg(LOG_ERROR, c, __VA_ARGS__)

#endif
