/*
 * buf.h - the one growable byte buffer, and the one non-owning slice.
 *
 * struct buf: data, len, cap, max.  data is always NUL-terminated (an empty
 * buf points at a shared static "" until the first append), so buf->data
 * can be used as a C string when the content has no NUL.  Appends that
 * would grow len past max fail with TN_ETOOBIG and leave the buf unchanged
 * (curl's dynbuf "toobig"); max 0 means SIZE_MAX/2.  Appends may move data:
 * never keep a pointer into a buf across an append.
 *
 * struct str: pointer + length, borrowed, not NUL-terminated (ngx_str_t).
 *
 * A buf is owned by one thread at a time.
 */
#ifndef TN_BUF_H
#define TN_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;  /* 0 while data points at the static empty string */
	size_t max;
};

struct str {
	const char *p;
	size_t n;
};

#define BUF_INIT(max_) { (char *)buf_empty_, 0, 0, (max_) }
extern const char buf_empty_[1];

/* Initializes an empty buf whose len may not pass max (0: no cap). */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buf is empty and reusable. Accepts NULL. */
void buf_release(struct buf *b);
/* Sets len to 0, keeping the storage. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes. TN_ETOOBIG past max. */
int buf_grow(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends v in decimal (no printf: for the answers of every request). */
int buf_put_u64(struct buf *b, uint64_t v);
/* Shortens to len n (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/*
 * Hands the storage to the caller (who frees it with free()) and leaves the
 * buf empty.  Returns a heap string even for an empty buf.
 */
char *buf_detach(struct buf *b, size_t *len);
/* Appends s as a JSON string literal, quotes included, escaping as needed. */
int buf_json_str(struct buf *b, const char *s, size_t n);

static inline struct str str_make(const char *p, size_t n)
{
	struct str s = { p, n };
	return s;
}
struct str str_cstr(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eq_cstr(struct str a, const char *s);
bool str_ieq_cstr(struct str a, const char *s);
bool str_starts_with(struct str a, const char *prefix);
/* Trims ASCII whitespace on both ends. */
struct str str_trim(struct str s);

#endif
