/*
 * fuzz_wal.c - libFuzzer target for WAL recovery and reading.
 *
 * The input is turned into a segment file (a valid header, then a stream
 * of pieces): raw bytes, zeros, plain frames and packed frames, the
 * frames with correct CRCs so the fuzzer gets past them to what lies
 * behind -- lengths, flags, sequence numbers, LZ4 blocks that do or do
 * not unpack, inner frames that do or do not fit.  The format is the one
 * wal.h documents.  Properties, beyond "never crashes, never reads out of
 * bounds":
 *   - wal_open either recovers or refuses with TN_ECORRUPT;
 *   - every record it recovers reads back, in order, from the start and
 *     from the middle;
 *   - appends after recovery (plain and packed) are durable and survive
 *     a reopen (checked for a quarter of the inputs: it is the slow part).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>

#include "core/crc32c.h"
#include "core/err.h"
#include "stream/wal.h"
#include "fuzz.h"
#include "core/banned.h"

/* From the format in wal.h. */
#define F_QUARANTINE 1u
#define F_BATCH_END 2u
#define F_PACKED 4u
#define MAX_SEG (256u << 10)

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A frame header for len bytes of data after rlen of reason; CRC over header and body. */
static size_t frame(uint8_t *out, uint32_t len, uint32_t rlen, unsigned flags, uint64_t seq,
		    const uint8_t *body, bool crc)
{
	memset(out, 0, 40);
	put32(out + 4, len);
	put32(out + 8, rlen);
	out[12] = (uint8_t)flags;
	put64(out + 16, seq);
	put64(out + 24, 1000);
	put64(out + 32, 2000);
	memcpy(out + 40, body, (size_t)len + rlen);
	if (crc)
		put32(out, crc32c(0, out + 4, 36 + (size_t)len + rlen));
	return 40 + (size_t)len + rlen;
}

/* Builds the segment from the input; returns its length. */
static size_t build(struct in *in, uint8_t *seg, size_t cap)
{
	static uint8_t raw[16384], z[LZ4_COMPRESSBOUND(16384)], body[16384];
	size_t at = 64;
	uint64_t seq = 1;
	memset(seg, 0, 64);
	memcpy(seg, "TARNWAL1", 8);
	put32(seg + 8, 2);
	put32(seg + 12, 64);
	put64(seg + 16, 1);
	put32(seg + 60, crc32c(0, seg, 60));
	while (in->n && at + 40 + sizeof raw + 8 < cap) {
		unsigned op = take(in);
		if (op % 4 == 0 || op % 4 == 3) {          /* raw bytes or zeros */
			size_t k = take(in);
			for (size_t i = 0; i < k && at < cap; i++)
				seg[at++] = op % 4 == 0 ? (uint8_t)take(in) : 0;
		} else if (op % 4 == 1) {                   /* a plain frame */
			uint32_t len = take(in) % 64, rlen = (op & 8) ? take(in) % 16 : 0;
			for (uint32_t i = 0; i < len + rlen; i++)
				body[i] = (uint8_t)take(in);
			unsigned flags = (op >> 4) & 3;
			at += frame(seg + at, len, rlen, flags | (rlen ? F_QUARANTINE : 0),
				    seq + ((op & 64) ? 1 : 0), body, !(op & 128));
			seq++;
		} else {                                    /* a packed frame */
			uint32_t count = 1 + take(in) % 8;
			size_t r = 0;
			for (uint32_t i = 0; i < count; i++) {
				uint32_t len = take(in) % 48;
				for (uint32_t k = 0; k < len; k++)
					body[k] = (uint8_t)take(in);
				r += frame(raw + r, len, 0, (op & 8) ? 8 : 0, 0, body, false);
			}
			if (op & 16)                         /* a count that does not match */
				count += take(in) % 3;
			int zl = LZ4_compress_default((const char *)raw, (char *)z + 8, (int)r,
						      (int)sizeof z - 8);
			REQUIRE(zl > 0);
			if (op & 32)                         /* damage the block */
				z[8 + take(in) % (unsigned)zl] ^= (uint8_t)(1 + take(in));
			put32(z, count);
			put32(z + 4, (uint32_t)r + ((op & 64) ? 1 : 0));
			at += frame(seg + at, (uint32_t)zl + 8, 0, F_PACKED | F_BATCH_END, seq, z,
				    !(op & 128));
			seq += count;
		}
	}
	return at;
}

static void check_reads(struct wal *w, uint64_t from, uint64_t to)
{
	char err[TN_ERRLEN];
	struct wal_cursor *c;
	struct wal_entry e;
	REQUIRE(wal_cursor_open(w, from, &c, err) == 0);
	for (uint64_t s = from; s <= to; s++) {
		REQUIRE(wal_cursor_next(c, to, &e, err) == 1);
		REQUIRE(e.seq == s);
		REQUIRE(e.len <= 1u << 20);
	}
	REQUIRE(wal_cursor_next(c, to, &e, err) == 0);
	wal_cursor_close(c);
}

static char dir[64], wdir[96], path[160];

static void cleanup(void)
{
	wal_destroy(wdir, NULL);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t seg[MAX_SEG];
	char err[TN_ERRLEN];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/dev/shm/tarn-fuzz-wal-%d", (int)getpid());
		REQUIRE(mkdir(dir, 0700) == 0);
		snprintf(wdir, sizeof wdir, "%s/wal", dir);
		snprintf(path, sizeof path, "%s/%020d.wal", wdir, 1);
		atexit(cleanup);
	}
	wal_destroy(wdir, NULL);
	REQUIRE(mkdir(wdir, 0700) == 0);
	struct in in = { data, size };
	size_t n = build(&in, seg, sizeof seg);
	FILE *f = fopen(path, "wb");
	REQUIRE(f && fwrite(seg, 1, n, f) == n && fclose(f) == 0);

	struct wal *w;
	int rc = wal_open(wdir, 0, MAX_SEG, &w, err);
	if (rc) {
		REQUIRE(rc == TN_ECORRUPT);
		return 0;
	}
	uint64_t durable = wal_durable_seq(w);
	if (durable) {
		check_reads(w, 1, durable);
		check_reads(w, 1 + durable / 2, durable);
	}
	if (size % 4) {  /* appends and a reopen (slow: fsyncs) for a quarter of the inputs */
		wal_close(w);
		return 0;
	}
	/* Appends after recovery: one gathered record, one packed batch. */
	static char big[64][100];
	struct wal_rec recs[64];
	for (int i = 0; i < 64; i++) {
		int len = snprintf(big[i], sizeof big[i], "{\"n\":%d,\"pad\":\"%060d\"}", i, i);
		recs[i] = (struct wal_rec){ big[i], (size_t)len, NULL, 0, 3000 };
	}
	uint64_t first;
	REQUIRE(wal_append(w, recs, 1, 5, &first, err) == 0 && first == durable + 1);
	REQUIRE(wal_append(w, recs, 64, 5, &first, err) == 0 && first == durable + 2);
	REQUIRE(wal_sync_to(w, durable + 65, err) == 0);
	check_reads(w, 1, durable + 65);
	wal_close(w);
	REQUIRE(wal_open(wdir, 0, MAX_SEG, &w, err) == 0);
	REQUIRE(wal_durable_seq(w) == durable + 65);
	check_reads(w, durable + 1, durable + 65);
	wal_close(w);
	return 0;
}
