/*
 * test_md5x.c - MD5 of many streams at once: every implementation of the
 * lanes against OpenSSL's MD5, and the pool's jobs: many at once from
 * several threads, pieces of uneven counts and sizes, empty jobs.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/crypto.h"
#include "core/md5x.h"
#include "harness.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next();
}

static void hex(const uint8_t md[16], char out[33])
{
	for (int i = 0; i < 16; i++) {
		out[2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	out[32] = '\0';
}

/* MD5 of p through the lanes alone: lane l of `lanes` hashes p, the others junk. */
static void lanes_md5(const uint8_t *p, size_t n, int lanes, int lane, uint8_t out[16])
{
	uint32_t st[MD5X_LANES][4];
	const uint8_t *data[MD5X_LANES];
	static uint8_t junk[MD5X_LANES][1 << 14];
	size_t nb = n / 64;
	for (int l = 0; l < lanes; l++) {
		md5x_init(st[l]);
		fill(junk[l], sizeof junk[l]);
		data[l] = l == lane ? p : junk[l];
	}
	CHECK(nb * 64 <= sizeof junk[0]);
	md5x_blocks(st, data, lanes, nb);
	md5x_finish(st[lane], p + nb * 64, n % 64, n, out);
}

/* RFC 1321's test suite, through every implementation this CPU runs. */
TEST(md5x_known_vectors)
{
	static const struct {
		const char *in, *md5;
	} v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890"
		  "1234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	int ran = 0;
	for (int impl = MD5X_SCALAR; impl <= MD5X_AVX512; impl++) {
		if (md5x_use((enum md5x_impl)impl))
			continue;
		ran++;
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
			for (int lanes = 1; lanes <= MD5X_LANES; lanes++) {
				uint8_t md[16];
				char h[33];
				lanes_md5((const uint8_t *)v[i].in, strlen(v[i].in), lanes,
					  lanes - 1, md);
				hex(md, h);
				CHECK_STR(h, v[i].md5);
			}
	}
	CHECK(ran >= 1);
}

/* Random lengths (every length mod 64 among them) on every lane of every implementation. */
TEST(md5x_lanes_match_openssl)
{
	static uint8_t p[1 << 14];
	fill(p, sizeof p);
	for (int impl = MD5X_SCALAR; impl <= MD5X_AVX512; impl++) {
		if (md5x_use((enum md5x_impl)impl))
			continue;
		for (int t = 0; t < 200; t++) {
			size_t n = t < 130 ? (size_t)t : next() % sizeof p;
			int lanes = 1 + (int)(next() % MD5X_LANES);
			int lane = (int)(next() % (unsigned)lanes);
			uint8_t want[16], got[16];
			crypto_md5(p, n, want);
			lanes_md5(p, n, lanes, lane, got);
			CHECK(memcmp(want, got, 16) == 0);
		}
	}
}

struct submitter {
	struct md5x_pool *pool;
	unsigned seed;
	int failures;
};

/* Rounds of 1 to 8 jobs at once, each of 0 to 40 pieces (the last of any length). */
static void *submit_jobs(void *arg)
{
	struct submitter *s = arg;
	enum { MAXJ = 8, MAXP = 40 };
	static __thread uint8_t data[MAXJ][MAXP * 4096 + 100];
	for (int round = 0; round < 30; round++) {
		struct iovec iov[MAXJ][MAXP];
		struct md5x_job *job[MAXJ];
		int nj = 1 + (int)(rand_r(&s->seed) % MAXJ), np[MAXJ];
		for (int j = 0; j < nj; j++) {
			size_t off = 0;
			np[j] = (int)(rand_r(&s->seed) % (MAXP + 1));
			for (int i = 0; i < np[j]; i++) {
				size_t len = i + 1 < np[j] ? 64 * (rand_r(&s->seed) % 65)
							   : rand_r(&s->seed) % 4197;
				for (size_t b = 0; b < len; b++)
					data[j][off + b] = (uint8_t)rand_r(&s->seed);
				iov[j][i] = (struct iovec){ data[j] + off, len };
				off += len;
			}
			job[j] = md5x_start(s->pool, iov[j], np[j]);
		}
		for (int j = 0; j < nj; j++) {
			uint8_t got[16], want[16];
			struct crypto_digest *d = crypto_digest_new(CRYPTO_MD5);
			md5x_wait(s->pool, job[j], got);
			for (int i = 0; i < np[j]; i++)
				crypto_digest_update(d, iov[j][i].iov_base, iov[j][i].iov_len);
			crypto_digest_final(d, want);
			s->failures += memcmp(got, want, 16) != 0;
		}
	}
	return NULL;
}

TEST(md5x_pool_jobs_match_openssl)
{
	for (int impl = MD5X_SCALAR; impl <= MD5X_AVX512; impl++) {
		if (md5x_use((enum md5x_impl)impl))
			continue;
		struct md5x_pool *pool = md5x_pool_new();
		struct submitter s[3];
		pthread_t t[3];
		for (int i = 0; i < 3; i++) {
			s[i] = (struct submitter){ pool, 7u + (unsigned)i * 1000u + (unsigned)impl, 0 };
			CHECK_INT(pthread_create(&t[i], NULL, submit_jobs, &s[i]), 0);
		}
		for (int i = 0; i < 3; i++) {
			pthread_join(t[i], NULL);
			CHECK_INT(s[i].failures, 0);
		}
		md5x_pool_free(pool);
	}
}

/* No piece, one empty piece, one byte, one block, and a whole MiB in pieces of 256 KiB. */
TEST(md5x_pool_edges)
{
	struct md5x_pool *pool = md5x_pool_new();
	size_t big = (1u << 20) + 13;
	uint8_t *p = malloc(big), got[16], want[16];
	fill(p, big);
	struct iovec one[1] = { { p, 0 } };
	md5x_wait(pool, md5x_start(pool, one, 0), got);
	crypto_md5(p, 0, want);
	CHECK(memcmp(got, want, 16) == 0);
	size_t sizes[] = { 0, 1, 64 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		one[0].iov_len = sizes[i];
		md5x_wait(pool, md5x_start(pool, one, 1), got);
		crypto_md5(p, sizes[i], want);
		CHECK(memcmp(got, want, 16) == 0);
	}
	struct iovec four[5];
	for (int i = 0; i < 5; i++)
		four[i] = (struct iovec){ p + (size_t)i * (256u << 10),
					  i < 4 ? 256u << 10 : 13 };
	md5x_wait(pool, md5x_start(pool, four, 5), got);
	crypto_md5(p, big, want);
	CHECK(memcmp(got, want, 16) == 0);
	free(p);
	md5x_pool_free(pool);
	md5x_pool_free(NULL);
}
