/*
 * crc32.h - CRC-32 (IEEE 802.3, zlib's) and CRC-64/NVME: two of the
 * checksums S3 clients attach to uploads (x-amz-checksum-crc32 and
 * x-amz-checksum-crc64nvme; CRC-32C lives in core/crc32c.h).
 *
 * Both are reflected CRCs with init and final xor all-ones, computed with
 * slicing-by-8 tables built once.  The names avoid zlib's crc32(), which
 * libraries loaded in the same process export.  Any thread may call them.
 */
#ifndef TN_CRC32_H
#define TN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extends crc (start with 0) over n bytes at p: the value zlib's crc32()
 * gives.  crc32_ieee(0, "123456789", 9) == 0xcbf43926.
 */
uint32_t crc32_ieee(uint32_t crc, const void *p, size_t n);

/*
 * Extends crc (start with 0) over n bytes at p: CRC-64/NVME (polynomial
 * 0xad93d23594c93659), the one S3 calls CRC64NVME.
 * crc64_nvme(0, "123456789", 9) == 0xae8b14860a799888.
 */
uint64_t crc64_nvme(uint64_t crc, const void *p, size_t n);

#endif
