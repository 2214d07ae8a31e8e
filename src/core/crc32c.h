/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of WAL frames.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (detected once),
 * else a slicing table.  Any thread may call it.
 */
#ifndef TN_CRC32C_H
#define TN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (start with 0) over n bytes at p. crc32c("123456789") == 0xe3069283. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
