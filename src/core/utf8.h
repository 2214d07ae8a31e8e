/*
 * utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).  Any thread.
 */
#ifndef TN_UTF8_H
#define TN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), or 0 if invalid or cut short. */
size_t utf8_seq_len(const unsigned char *p, size_t n);
/* True if p[0..n) is entirely valid UTF-8. */
bool utf8_valid(const char *p, size_t n);

#endif
