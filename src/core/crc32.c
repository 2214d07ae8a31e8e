/*
 * crc32.c - CRC-32 (IEEE) and CRC-64/NVME by slicing-by-8.
 *
 * Both CRCs are reflected, so one table step is
 *     crc = T[0][(crc ^ byte) & 0xff] ^ (crc >> 8)
 * and slicing-by-8 folds eight bytes per step with tables T[k], where
 * T[k][i] is T[k-1][i] advanced over one more zero byte.  Eight input
 * bytes are read little-endian (assembled byte by byte: alignment- and
 * endian-safe; compilers turn it into one load).  Tables (8 KiB and
 * 16 KiB) are built once under pthread_once; afterwards everything is
 * read-only, so any thread may call.  Init and final xor are all-ones:
 * the public functions complement on the way in and out, so a running
 * value can be extended across calls.
 */
#include "core/crc32.h"

#include <pthread.h>

#include "core/banned.h"

#define POLY32 0xedb88320u              /* 0x04c11db7 reflected */
#define POLY64 0x9a6c9329ac4bc9b5ull    /* 0xad93d23594c93659 reflected */

static uint32_t t32[8][256];
static uint64_t t64[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		uint64_t d = i;
		for (int k = 0; k < 8; k++) {
			c = c & 1 ? (c >> 1) ^ POLY32 : c >> 1;
			d = d & 1 ? (d >> 1) ^ POLY64 : d >> 1;
		}
		t32[0][i] = c;
		t64[0][i] = d;
	}
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++) {
			t32[k][i] = (t32[k - 1][i] >> 8) ^ t32[0][t32[k - 1][i] & 0xff];
			t64[k][i] = (t64[k - 1][i] >> 8) ^ t64[0][t64[k - 1][i] & 0xff];
		}
}

static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint32_t crc32_ieee(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	pthread_once(&once, init);
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = le32(s) ^ crc, hi = le32(s + 4);
		crc = t32[7][lo & 0xff] ^ t32[6][(lo >> 8) & 0xff] ^ t32[5][(lo >> 16) & 0xff] ^
		      t32[4][lo >> 24] ^ t32[3][hi & 0xff] ^ t32[2][(hi >> 8) & 0xff] ^
		      t32[1][(hi >> 16) & 0xff] ^ t32[0][hi >> 24];
		s += 8;
		n -= 8;
	}
	while (n--)
		crc = t32[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint64_t crc64_nvme(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	pthread_once(&once, init);
	crc = ~crc;
	while (n >= 8) {
		uint64_t v = ((uint64_t)le32(s) | (uint64_t)le32(s + 4) << 32) ^ crc;
		crc = t64[7][v & 0xff] ^ t64[6][(v >> 8) & 0xff] ^ t64[5][(v >> 16) & 0xff] ^
		      t64[4][(v >> 24) & 0xff] ^ t64[3][(v >> 32) & 0xff] ^
		      t64[2][(v >> 40) & 0xff] ^ t64[1][(v >> 48) & 0xff] ^ t64[0][v >> 56];
		s += 8;
		n -= 8;
	}
	while (n--)
		crc = t64[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
