/*
 * disk_ceiling.c - the disk ceiling of durable ingest: append the same
 * bytes to a preallocated file (as the WAL does) with one fdatasync per
 * batch, and report batches/s, MB/s and write+fdatasync latency.
 *
 *   disk_ceiling DIR BATCH_BYTES SECONDS
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES (1024LL << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: disk_ceiling DIR BATCH_BYTES SECONDS\n");
		return 2;
	}
	long batch = strtol(argv[2], NULL, 10);
	double secs = strtod(argv[3], NULL);
	char path[4096];
	snprintf(path, sizeof path, "%s/disk-ceiling.dat", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || posix_fallocate(fd, 0, FILE_BYTES) != 0 || fsync(fd) != 0) {
		perror(path);
		return 1;
	}
	char *buf = malloc((size_t)batch);
	memset(buf, 'x', (size_t)batch);
	size_t cap = 1 << 20, n = 0;
	double *lat = malloc(cap * sizeof *lat);
	long long off = 0;
	double t0 = now_s(), t;
	while ((t = now_s()) - t0 < secs && n < cap) {
		if (off + batch > FILE_BYTES)
			off = 0;
		if (pwrite(fd, buf, (size_t)batch, off) != batch || fdatasync(fd) != 0) {
			perror("write");
			return 1;
		}
		off += batch;
		lat[n++] = now_s() - t;
	}
	double el = now_s() - t0;
	qsort(lat, n, sizeof *lat, cmp);
	printf("batches_per_s %.1f\nmb_per_s %.1f\np50_ms %.3f\np99_ms %.3f\n", n / el,
	       n * (double)batch / el / 1e6, lat[n / 2] * 1e3, lat[(size_t)(n * 0.99)] * 1e3);
	close(fd);
	unlink(path);
	free(buf);
	free(lat);
	return 0;
}
