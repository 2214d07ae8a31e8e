/*
 * md5x.c - MD5 of many streams at once (see md5x.h).
 *
 * The lanes.  MD5's 64 steps are written once, as STEPS below, over
 * operation macros (ADD, ROL, the round functions FF GG HH II, KK for a
 * constant) that each implementation defines before expanding it: plain C
 * on one stream, AVX2 on eight lanes (a rotate is two shifts and an or),
 * AVX-512VL on eight lanes (vprold rotates, vpternlogd is any round
 * function in one instruction).  A vector pass loads 32 bytes from each
 * lane twice and transposes the two 8x8 matrices of words, so that
 * register m[i] holds word i of every lane's block.  Lanes past the
 * caller's read a block of zeros and are thrown away.
 *
 * The pool.  A job is a run of memory pieces to hash (every piece but the
 * last a multiple of 64 bytes long).  The thread takes up to eight jobs
 * and hashes, in one pass, at most MD5X_PASS bytes of each (lanes that
 * run out drop out of the pass; with fewer than three lanes, plain C
 * is faster), then puts back those with bytes left and takes new jobs, so jobs
 * that arrive while others run join them at the next pass.  A job's owner
 * waits for it to be done; the thread never touches a done job again.
 */
#include "core/md5x.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/err.h"
#include "core/mem.h"

#include "core/banned.h"

/* The most one pass hashes of one stream: keeps the lanes of a pass even
 * and lets other ready streams in. */
#define MD5X_PASS (16u << 10)

/* ---- the steps, over the operation macros ---- */

/* a + m + k does not wait for the step before: only F, one add, the rotate and the add of b do. */
#define STEP(F, a, b, c, d, m, k, s) a = ADD(b, ROL(ADD(F(b, c, d), ADD(a, ADD(m, KK(k)))), s))

#define STEPS \
	STEP(FF, a, b, c, d, m[0], 0xd76aa478u, 7); STEP(FF, d, a, b, c, m[1], 0xe8c7b756u, 12); \
	STEP(FF, c, d, a, b, m[2], 0x242070dbu, 17); STEP(FF, b, c, d, a, m[3], 0xc1bdceeeu, 22); \
	STEP(FF, a, b, c, d, m[4], 0xf57c0fafu, 7); STEP(FF, d, a, b, c, m[5], 0x4787c62au, 12); \
	STEP(FF, c, d, a, b, m[6], 0xa8304613u, 17); STEP(FF, b, c, d, a, m[7], 0xfd469501u, 22); \
	STEP(FF, a, b, c, d, m[8], 0x698098d8u, 7); STEP(FF, d, a, b, c, m[9], 0x8b44f7afu, 12); \
	STEP(FF, c, d, a, b, m[10], 0xffff5bb1u, 17); STEP(FF, b, c, d, a, m[11], 0x895cd7beu, 22); \
	STEP(FF, a, b, c, d, m[12], 0x6b901122u, 7); STEP(FF, d, a, b, c, m[13], 0xfd987193u, 12); \
	STEP(FF, c, d, a, b, m[14], 0xa679438eu, 17); STEP(FF, b, c, d, a, m[15], 0x49b40821u, 22); \
	STEP(GG, a, b, c, d, m[1], 0xf61e2562u, 5); STEP(GG, d, a, b, c, m[6], 0xc040b340u, 9); \
	STEP(GG, c, d, a, b, m[11], 0x265e5a51u, 14); STEP(GG, b, c, d, a, m[0], 0xe9b6c7aau, 20); \
	STEP(GG, a, b, c, d, m[5], 0xd62f105du, 5); STEP(GG, d, a, b, c, m[10], 0x02441453u, 9); \
	STEP(GG, c, d, a, b, m[15], 0xd8a1e681u, 14); STEP(GG, b, c, d, a, m[4], 0xe7d3fbc8u, 20); \
	STEP(GG, a, b, c, d, m[9], 0x21e1cde6u, 5); STEP(GG, d, a, b, c, m[14], 0xc33707d6u, 9); \
	STEP(GG, c, d, a, b, m[3], 0xf4d50d87u, 14); STEP(GG, b, c, d, a, m[8], 0x455a14edu, 20); \
	STEP(GG, a, b, c, d, m[13], 0xa9e3e905u, 5); STEP(GG, d, a, b, c, m[2], 0xfcefa3f8u, 9); \
	STEP(GG, c, d, a, b, m[7], 0x676f02d9u, 14); STEP(GG, b, c, d, a, m[12], 0x8d2a4c8au, 20); \
	STEP(HH, a, b, c, d, m[5], 0xfffa3942u, 4); STEP(HH, d, a, b, c, m[8], 0x8771f681u, 11); \
	STEP(HH, c, d, a, b, m[11], 0x6d9d6122u, 16); STEP(HH, b, c, d, a, m[14], 0xfde5380cu, 23); \
	STEP(HH, a, b, c, d, m[1], 0xa4beea44u, 4); STEP(HH, d, a, b, c, m[4], 0x4bdecfa9u, 11); \
	STEP(HH, c, d, a, b, m[7], 0xf6bb4b60u, 16); STEP(HH, b, c, d, a, m[10], 0xbebfbc70u, 23); \
	STEP(HH, a, b, c, d, m[13], 0x289b7ec6u, 4); STEP(HH, d, a, b, c, m[0], 0xeaa127fau, 11); \
	STEP(HH, c, d, a, b, m[3], 0xd4ef3085u, 16); STEP(HH, b, c, d, a, m[6], 0x04881d05u, 23); \
	STEP(HH, a, b, c, d, m[9], 0xd9d4d039u, 4); STEP(HH, d, a, b, c, m[12], 0xe6db99e5u, 11); \
	STEP(HH, c, d, a, b, m[15], 0x1fa27cf8u, 16); STEP(HH, b, c, d, a, m[2], 0xc4ac5665u, 23); \
	STEP(II, a, b, c, d, m[0], 0xf4292244u, 6); STEP(II, d, a, b, c, m[7], 0x432aff97u, 10); \
	STEP(II, c, d, a, b, m[14], 0xab9423a7u, 15); STEP(II, b, c, d, a, m[5], 0xfc93a039u, 21); \
	STEP(II, a, b, c, d, m[12], 0x655b59c3u, 6); STEP(II, d, a, b, c, m[3], 0x8f0ccc92u, 10); \
	STEP(II, c, d, a, b, m[10], 0xffeff47du, 15); STEP(II, b, c, d, a, m[1], 0x85845dd1u, 21); \
	STEP(II, a, b, c, d, m[8], 0x6fa87e4fu, 6); STEP(II, d, a, b, c, m[15], 0xfe2ce6e0u, 10); \
	STEP(II, c, d, a, b, m[6], 0xa3014314u, 15); STEP(II, b, c, d, a, m[13], 0x4e0811a1u, 21); \
	STEP(II, a, b, c, d, m[4], 0xf7537e82u, 6); STEP(II, d, a, b, c, m[11], 0xbd3af235u, 10); \
	STEP(II, c, d, a, b, m[2], 0x2ad7d2bbu, 15); STEP(II, b, c, d, a, m[9], 0xeb86d391u, 21)

/* The round functions on plain words; their truth tables are also
 * vpternlogd's immediates (inputs b, c, d as 0xf0, 0xcc, 0xaa). */
#define F_(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define G_(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define H_(b, c, d) ((b) ^ (c) ^ (d))
#define I_(b, c, d) ((c) ^ ((b) | ~(d)))
#define TRUTH(f) ((f(0xf0u, 0xccu, 0xaau)) & 0xffu)

/* ---- plain C: one stream ---- */

static inline uint32_t rol32(uint32_t x, int s)
{
	return x << s | x >> (32 - s);
}

static void blocks_c(uint32_t st[4], const uint8_t *p, size_t nblocks)
{
#define ADD(x, y) ((x) + (y))
#define ROL(x, s) rol32((x), (s))
#define KK(k) (k)
#define FF F_
#define GG G_
#define HH H_
#define II I_
	uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
	for (; nblocks; nblocks--, p += 64) {
		uint32_t m[16];
		for (int i = 0; i < 16; i++)
			m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
			       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
		STEPS;
		a += a0;
		b += b0;
		c += c0;
		d += d0;
	}
	st[0] = a;
	st[1] = b;
	st[2] = c;
	st[3] = d;
#undef ADD
#undef ROL
#undef KK
#undef FF
#undef GG
#undef HH
#undef II
}

static void lanes_c(uint32_t (*state)[4], const uint8_t *const *data, int lanes, size_t nblocks)
{
	for (int l = 0; l < lanes; l++)
		blocks_c(state[l], data[l], nblocks);
}

/* ---- eight lanes ---- */

#if defined(__x86_64__)

static const uint8_t zero_block[64];

/*
 * Words w..w+7 of the current block of each lane, transposed: out[i] holds
 * word w+i of lanes 0..7.  Unpacking pairs 32-bit words, then 64-bit
 * pairs, then swaps the 128-bit halves.
 */
#define TRANSPOSE(p, w, out)                                                             \
	do {                                                                             \
		__m256i r_[8], t_[8], u_[8];                                               \
		for (int l_ = 0; l_ < 8; l_++)                                             \
			r_[l_] = _mm256_loadu_si256((const __m256i *)(p[l_] + 4 * (w)));   \
		for (int l_ = 0; l_ < 8; l_ += 2) {                                        \
			t_[l_] = _mm256_unpacklo_epi32(r_[l_], r_[l_ + 1]);                \
			t_[l_ + 1] = _mm256_unpackhi_epi32(r_[l_], r_[l_ + 1]);            \
		}                                                                          \
		for (int l_ = 0; l_ < 8; l_ += 4) {                                        \
			u_[l_] = _mm256_unpacklo_epi64(t_[l_], t_[l_ + 2]);                \
			u_[l_ + 1] = _mm256_unpackhi_epi64(t_[l_], t_[l_ + 2]);            \
			u_[l_ + 2] = _mm256_unpacklo_epi64(t_[l_ + 1], t_[l_ + 3]);        \
			u_[l_ + 3] = _mm256_unpackhi_epi64(t_[l_ + 1], t_[l_ + 3]);        \
		}                                                                          \
		for (int i_ = 0; i_ < 4; i_++) {                                           \
			out[(w) + i_] = _mm256_permute2x128_si256(u_[i_], u_[i_ + 4], 0x20); \
			out[(w) + i_ + 4] =                                                \
				_mm256_permute2x128_si256(u_[i_], u_[i_ + 4], 0x31);       \
		}                                                                          \
	} while (0)

/*
 * The body of one eight-lane implementation, the operation macros defined
 * around it: state in and out through a b c d, lane pointers advanced.
 */
#define LANES_BODY                                                                       \
	const uint8_t *p[8];                                                             \
	size_t step[8];                                                                  \
	uint32_t sa[8] = { 0 }, sb[8] = { 0 }, sc[8] = { 0 }, sd[8] = { 0 };            \
	for (int l = 0; l < 8; l++) {                                                    \
		p[l] = l < lanes ? data[l] : zero_block;                                 \
		step[l] = l < lanes ? 64 : 0;                                            \
		if (l < lanes) {                                                         \
			sa[l] = state[l][0];                                             \
			sb[l] = state[l][1];                                             \
			sc[l] = state[l][2];                                             \
			sd[l] = state[l][3];                                             \
		}                                                                        \
	}                                                                                \
	__m256i a = _mm256_loadu_si256((const __m256i *)sa);                            \
	__m256i b = _mm256_loadu_si256((const __m256i *)sb);                            \
	__m256i c = _mm256_loadu_si256((const __m256i *)sc);                            \
	__m256i d = _mm256_loadu_si256((const __m256i *)sd);                            \
	for (; nblocks; nblocks--) {                                                     \
		__m256i m[16];                                                           \
		TRANSPOSE(p, 0, m);                                                      \
		TRANSPOSE(p, 8, m);                                                      \
		for (int l = 0; l < 8; l++)                                              \
			p[l] += step[l];                                                 \
		__m256i a0 = a, b0 = b, c0 = c, d0 = d;                                  \
		STEPS;                                                                   \
		a = _mm256_add_epi32(a, a0);                                             \
		b = _mm256_add_epi32(b, b0);                                             \
		c = _mm256_add_epi32(c, c0);                                             \
		d = _mm256_add_epi32(d, d0);                                             \
	}                                                                                \
	_mm256_storeu_si256((__m256i *)sa, a);                                           \
	_mm256_storeu_si256((__m256i *)sb, b);                                           \
	_mm256_storeu_si256((__m256i *)sc, c);                                           \
	_mm256_storeu_si256((__m256i *)sd, d);                                           \
	for (int l = 0; l < lanes; l++) {                                                \
		state[l][0] = sa[l];                                                     \
		state[l][1] = sb[l];                                                     \
		state[l][2] = sc[l];                                                     \
		state[l][3] = sd[l];                                                     \
	}

__attribute__((target("avx2")))
static void lanes_avx2(uint32_t (*state)[4], const uint8_t *const *data, int lanes,
		       size_t nblocks)
{
	const __m256i ones = _mm256_set1_epi32(-1);
#define ADD(x, y) _mm256_add_epi32((x), (y))
#define ROL(x, s) _mm256_or_si256(_mm256_slli_epi32((x), (s)), _mm256_srli_epi32((x), 32 - (s)))
#define KK(k) _mm256_set1_epi32((int)(k))
#define XOR _mm256_xor_si256
#define FF(b, c, d) XOR((d), _mm256_and_si256((b), XOR((c), (d))))
#define GG(b, c, d) XOR((c), _mm256_and_si256((d), XOR((b), (c))))
#define HH(b, c, d) XOR(XOR((b), (c)), (d))
#define II(b, c, d) XOR((c), _mm256_or_si256((b), XOR((d), ones)))
	LANES_BODY
#undef ADD
#undef ROL
#undef KK
#undef XOR
#undef FF
#undef GG
#undef HH
#undef II
}

__attribute__((target("avx2,avx512f,avx512vl")))
static void lanes_avx512(uint32_t (*state)[4], const uint8_t *const *data, int lanes,
			 size_t nblocks)
{
#define ADD(x, y) _mm256_add_epi32((x), (y))
#define ROL(x, s) _mm256_rol_epi32((x), (s))
#define KK(k) _mm256_set1_epi32((int)(k))
#define FF(b, c, d) _mm256_ternarylogic_epi32((b), (c), (d), TRUTH(F_))
#define GG(b, c, d) _mm256_ternarylogic_epi32((b), (c), (d), TRUTH(G_))
#define HH(b, c, d) _mm256_ternarylogic_epi32((b), (c), (d), TRUTH(H_))
#define II(b, c, d) _mm256_ternarylogic_epi32((b), (c), (d), TRUTH(I_))
	LANES_BODY
#undef ADD
#undef ROL
#undef KK
#undef FF
#undef GG
#undef HH
#undef II
}

#endif /* __x86_64__ */

/* ---- choosing ---- */

typedef void (*lanes_fn)(uint32_t (*state)[4], const uint8_t *const *data, int lanes,
			 size_t nblocks);
static enum md5x_impl best = MD5X_SCALAR;
static lanes_fn impl_fn = lanes_c;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		best = MD5X_AVX2;
	if (best == MD5X_AVX2 && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl"))
		best = MD5X_AVX512;
	impl_fn = best == MD5X_AVX512 ? lanes_avx512 : best == MD5X_AVX2 ? lanes_avx2 : lanes_c;
#endif
}

enum md5x_impl md5x_best(void)
{
	pthread_once(&once, detect);
	return best;
}

int md5x_use(enum md5x_impl impl)
{
	pthread_once(&once, detect);
	if (impl > best)
		return -1;
#if defined(__x86_64__)
	impl_fn = impl == MD5X_AVX512 ? lanes_avx512 : impl == MD5X_AVX2 ? lanes_avx2 : lanes_c;
#else
	impl_fn = lanes_c;
#endif
	return 0;
}

void md5x_init(uint32_t state[4])
{
	state[0] = 0x67452301u;
	state[1] = 0xefcdab89u;
	state[2] = 0x98badcfeu;
	state[3] = 0x10325476u;
}

void md5x_blocks(uint32_t (*state)[4], const uint8_t *const *data, int lanes, size_t nblocks)
{
	pthread_once(&once, detect);
	if (lanes < 1 || lanes > MD5X_LANES)
		TN_BUG("md5x_blocks: %d lanes", lanes);
	if (nblocks)
		impl_fn(state, data, lanes, nblocks);
}

void md5x_finish(uint32_t state[4], const uint8_t *tail, size_t n, uint64_t total,
		 uint8_t out[16])
{
	uint8_t last[128] = { 0 };
	size_t len = n < 56 ? 64 : 128;
	uint64_t bits = total * 8;
	if (n)
		memcpy(last, tail, n);
	last[n] = 0x80;
	for (int i = 0; i < 8; i++)
		last[len - 8 + i] = (uint8_t)(bits >> (8 * i));
	blocks_c(state, last, len / 64);
	for (int w = 0; w < 4; w++)
		for (int i = 0; i < 4; i++)
			out[4 * w + i] = (uint8_t)(state[w] >> (8 * i));
}

/* ---- the pool ---- */

struct md5x_job {
	const struct iovec *iov;     /* the pieces (borrowed) */
	int iovcnt;
	int at;                      /* the piece being hashed */
	size_t off;                  /* bytes of it hashed */
	uint64_t total;              /* bytes in all pieces */
	uint32_t st[4];
	bool done;                   /* under pool->mu */
	uint8_t md[16];
	struct md5x_job *next;       /* the pool's list of jobs to hash */
};

struct md5x_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;         /* the thread: a job, or stop */
	pthread_cond_t done;         /* owners: a job is done */
	pthread_t thread;
	bool stop;
	struct md5x_job *head, *tail;
};

static void job_push(struct md5x_pool *p, struct md5x_job *j)
{
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
}

/* Hashes n[i] blocks from at[i] into st[i] for k lanes, lanes dropping out as they end. */
static void hash_pass(uint32_t (*st)[4], const uint8_t **at, size_t *n, int k)
{
	/* measured: an AVX-512VL lane hashes half what plain C does, an AVX2 lane a third */
	int min_lanes = best == MD5X_AVX512 ? 3 : best == MD5X_AVX2 ? 4 : MD5X_LANES + 1;
	int idx[MD5X_LANES], live = 0;
	for (int i = 0; i < k; i++)
		if (n[i])
			idx[live++] = i;
	while (live > 0) {
		uint32_t ls[MD5X_LANES][4];
		const uint8_t *lp[MD5X_LANES];
		size_t run = n[idx[0]];
		for (int i = 1; i < live; i++)
			if (n[idx[i]] < run)
				run = n[idx[i]];
		for (int i = 0; i < live; i++) {
			memcpy(ls[i], st[idx[i]], sizeof ls[i]);
			lp[i] = at[idx[i]];
		}
		if (live >= min_lanes)
			md5x_blocks(ls, lp, live, run);
		else
			lanes_c(ls, lp, live, run);
		int left = 0;
		for (int i = 0; i < live; i++) {
			memcpy(st[idx[i]], ls[i], sizeof ls[i]);
			at[idx[i]] += run * 64;
			n[idx[i]] -= run;
			if (n[idx[i]])
				idx[left++] = idx[i];
		}
		live = left;
	}
}

/* The job's next whole blocks, at most MD5X_PASS bytes, within one piece. */
static size_t job_blocks(struct md5x_job *j, const uint8_t **at)
{
	while (j->at < j->iovcnt && j->off + 64 > j->iov[j->at].iov_len) {
		if (j->at + 1 == j->iovcnt)
			break; /* the last piece's tail: md5x_finish's */
		if (j->off != j->iov[j->at].iov_len)
			TN_BUG("md5x: piece %d is %zu bytes, not a multiple of 64", j->at,
			       j->iov[j->at].iov_len);
		j->at++;
		j->off = 0;
	}
	if (j->at >= j->iovcnt)
		return 0;
	size_t blocks = (j->iov[j->at].iov_len - j->off) / 64;
	if (blocks > MD5X_PASS / 64)
		blocks = MD5X_PASS / 64;
	*at = (const uint8_t *)j->iov[j->at].iov_base + j->off;
	return blocks;
}

static void job_finish(struct md5x_job *j)
{
	const uint8_t *tail = NULL;
	size_t n = 0;
	if (j->at < j->iovcnt) {
		tail = (const uint8_t *)j->iov[j->at].iov_base + j->off;
		n = j->iov[j->at].iov_len - j->off;
	}
	md5x_finish(j->st, tail, n, j->total, j->md);
}

static void *hasher(void *arg)
{
	struct md5x_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (!p->head)
			break;
		struct md5x_job *take[MD5X_LANES];
		int k = 0;
		while (k < MD5X_LANES && p->head) {
			take[k++] = p->head;
			p->head = p->head->next;
		}
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		/* off the lock: the jobs taken are the thread's until put back or done */
		uint32_t st[MD5X_LANES][4];
		const uint8_t *at[MD5X_LANES];
		size_t n[MD5X_LANES], nb[MD5X_LANES];
		for (int i = 0; i < k; i++) {
			at[i] = NULL;
			n[i] = nb[i] = job_blocks(take[i], &at[i]);
			memcpy(st[i], take[i]->st, sizeof st[i]);
		}
		hash_pass(st, at, n, k);
		bool finished[MD5X_LANES];
		for (int i = 0; i < k; i++) {
			struct md5x_job *j = take[i];
			const uint8_t *next;
			memcpy(j->st, st[i], sizeof j->st);
			j->off += nb[i] * 64;
			finished[i] = job_blocks(j, &next) == 0;
			if (finished[i])
				job_finish(j);
		}
		pthread_mutex_lock(&p->mu);
		bool any = false;
		for (int i = 0; i < k; i++) {
			if (finished[i]) {
				take[i]->done = true;
				any = true;
			} else {
				job_push(p, take[i]);
			}
		}
		if (any)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct md5x_pool *md5x_pool_new(void)
{
	struct md5x_pool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	md5x_best();
	int e = pthread_create(&p->thread, NULL, hasher, p);
	if (e)
		TN_BUG("md5x: cannot start the hashing thread: %s", strerror(e));
	return p;
}

void md5x_pool_free(struct md5x_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->head)
		TN_BUG("md5x_pool_free: a job is still queued");
	p->stop = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

struct md5x_job *md5x_start(struct md5x_pool *p, const struct iovec *iov, int iovcnt)
{
	struct md5x_job *j = xcalloc(1, sizeof *j);
	j->iov = iov;
	j->iovcnt = iovcnt;
	for (int i = 0; i < iovcnt; i++)
		j->total += iov[i].iov_len;
	md5x_init(j->st);
	pthread_mutex_lock(&p->mu);
	bool idle = !p->head;
	job_push(p, j);
	pthread_mutex_unlock(&p->mu);
	if (idle)
		pthread_cond_signal(&p->work);
	return j;
}

void md5x_wait(struct md5x_pool *p, struct md5x_job *j, uint8_t out[16])
{
	pthread_mutex_lock(&p->mu);
	while (!j->done)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	memcpy(out, j->md, 16);
	free(j);
}
