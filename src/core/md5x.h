/*
 * md5x.h - MD5 of many byte runs at once, on a hashing thread.
 *
 * One MD5 is a chain: a stream's blocks are hashed one after the other, at
 * about 4.5 cycles a byte on one core whatever the code.  Blocks of
 * different streams are independent, and eight of them fit the eight
 * 32-bit lanes of a vector register: a pass over eight lanes costs about
 * what two blocks of one stream cost on the benchmark machine (AMD family
 * 26, whose vector instructions take two cycles).  A pool's thread hashes
 * jobs (runs of bytes in memory) together, a run of blocks of up to eight
 * of them per pass, and its owner collects the digest when it needs it: an
 * upload held in memory is hashed while its fsync runs, in the same passes
 * as the other uploads committing at the time.  One job alone goes at the
 * speed of one core in plain C.
 */
#ifndef TN_MD5X_H
#define TN_MD5X_H

#include <stddef.h>
#include <stdint.h>

struct md5x_pool;
struct md5x_job;
struct iovec;

/* Starts a pool and its hashing thread.  Caller frees with md5x_pool_free(). */
struct md5x_pool *md5x_pool_new(void);
/* Stops the thread and frees p (NULL: nothing).  Every job must be waited for first. */
void md5x_pool_free(struct md5x_pool *p);

/*
 * Starts hashing the bytes of iov[0..iovcnt) on p's thread: every piece
 * but the last must be a multiple of 64 bytes long.  The pieces and iov
 * are borrowed: unchanged and alive until md5x_wait.  Any thread.
 */
struct md5x_job *md5x_start(struct md5x_pool *p, const struct iovec *iov, int iovcnt);
/* Waits for j, writes the MD5 of its bytes to out and frees j. */
void md5x_wait(struct md5x_pool *p, struct md5x_job *j, uint8_t out[16]);

/* ---- the lanes (the pool's thread; exposed for tests and benchmarks) ---- */

#define MD5X_LANES 8

/* How md5x_blocks computes: plain C, AVX2, or AVX-512VL's rotate and
 * three-input logic on the same eight lanes. */
enum md5x_impl { MD5X_SCALAR, MD5X_AVX2, MD5X_AVX512 };

/* The best implementation this CPU runs (the one in use unless changed). */
enum md5x_impl md5x_best(void);
/* Makes md5x_blocks use impl; -1 when this CPU cannot run it.  Tests only:
 * not safe while another thread hashes. */
int md5x_use(enum md5x_impl impl);
/* Initial state of one stream (MD5's a, b, c, d). */
void md5x_init(uint32_t state[4]);
/* Hashes nblocks 64-byte blocks into each of lanes (1..MD5X_LANES)
 * streams: lane l's state is state[l], its blocks start at data[l]. */
void md5x_blocks(uint32_t (*state)[4], const uint8_t *const *data, int lanes, size_t nblocks);
/* Ends a stream whose state has hashed total - n bytes, n < 64 of them
 * still unhashed at tail: MD5's padding, then the digest into out. */
void md5x_finish(uint32_t state[4], const uint8_t *tail, size_t n, uint64_t total,
		 uint8_t out[16]);

#endif
