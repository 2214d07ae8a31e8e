/*
 * test_core.c - core utilities: CRC32C, buffers, time, encodings, config.
 */
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/crc32c.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "harness.h"

TEST(crc32c_known_vectors)
{
	/* RFC 3720 B.4 and the classic check value. */
	CHECK_INT(crc32c(0, "123456789", 9), 0xe3069283u);
	unsigned char zeros[32] = { 0 };
	CHECK_INT(crc32c(0, zeros, 32), 0x8a9136aau);
	unsigned char ones[32];
	memset(ones, 0xff, 32);
	CHECK_INT(crc32c(0, ones, 32), 0x62a8ab43u);
	unsigned char inc[32];
	for (int i = 0; i < 32; i++)
		inc[i] = (unsigned char)i;
	CHECK_INT(crc32c(0, inc, 32), 0x46dd794eu);
	/* Incremental equals one-shot, at every split point. */
	const char *s = "the quick brown fox jumps over the lazy dog, twice over";
	uint32_t whole = crc32c(0, s, strlen(s));
	for (size_t k = 0; k <= strlen(s); k++)
		CHECK_INT(crc32c(crc32c(0, s, k), s + k, strlen(s) - k), whole);
}

TEST(buf_caps_and_json_strings)
{
	struct buf b = BUF_INIT(8);
	CHECK_INT(buf_puts(&b, "12345678"), 0);
	CHECK_INT(buf_puts(&b, "9"), TN_ETOOBIG);
	CHECK_STR(b.data, "12345678");
	buf_release(&b);
	buf_init(&b, 0);
	buf_json_str(&b, "a\"b\\c\n\x01", 7);
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_release(&b);
	/* decimals without printf */
	buf_init(&b, 0);
	buf_put_u64(&b, 0);
	buf_putc(&b, ' ');
	buf_put_u64(&b, 7);
	buf_putc(&b, ' ');
	buf_put_u64(&b, 1000000);
	buf_putc(&b, ' ');
	buf_put_u64(&b, UINT64_MAX);
	CHECK_STR(b.data, "0 7 1000000 18446744073709551615");
	buf_release(&b);
}

TEST(time_parse_forms)
{
	int64_t ms;
	CHECK_INT(time_parse("2026-11-22T01:53:30Z", 20, &ms), 0);
	CHECK_INT(ms, 1795312410000LL);
	CHECK_INT(time_parse("2026-11-22T03:53:30.250+02:00", 29, &ms), 0);
	CHECK_INT(ms, 1795312410250LL);
	CHECK_INT(time_parse("2026-11-22", 10, &ms), 0);
	CHECK_INT(ms, 1795305600000LL);
	CHECK_INT(time_parse("20261122T015330Z", 16, &ms), 0);
	CHECK_INT(ms, 1795312410000LL);
	CHECK_INT(time_parse("1795312410", 10, &ms), 0);
	CHECK_INT(ms, 1795312410000LL);
	CHECK_INT(time_parse("1795312410000", 13, &ms), 0);
	CHECK_INT(ms, 1795312410000LL);
	CHECK(time_parse("2026-02-30", 10, &ms) != 0);
	CHECK(time_parse("yesterday", 9, &ms) != 0);
	CHECK(time_parse("2026-11-22T25:00:00Z", 20, &ms) != 0);
	struct utc u;
	time_utc(1795312410123LL, &u);
	CHECK_INT(u.year, 2026);
	CHECK_INT(u.month, 11);
	CHECK_INT(u.day, 22);
	CHECK_INT(u.hour, 1);
	CHECK_INT(u.min, 53);
	CHECK_INT(u.sec, 30);
	CHECK_INT(u.ms, 123);
	CHECK_INT(time_from_utc(&u), 1795312410123LL);
}

TEST(base64_hex_roundtrip)
{
	struct buf b = BUF_INIT(0), d = BUF_INIT(0);
	for (size_t n = 0; n < 40; n++) {
		char src[40];
		for (size_t i = 0; i < n; i++)
			src[i] = (char)(i * 37 + n);
		buf_reset(&b);
		buf_reset(&d);
		CHECK_INT(base64_encode(src, n, &b), 0);
		CHECK_INT(b.len % 4, 0);
		CHECK_INT(base64_decode(b.data, b.len, &d), 0);
		CHECK_INT(d.len, n);
		CHECK(memcmp(d.data, src, n) == 0);
	}
	buf_reset(&b);
	base64_encode("hello", 5, &b);
	CHECK_STR(b.data, "aGVsbG8=");
	buf_reset(&d);
	CHECK(base64_decode("aGV*bG8=", 8, &d) != 0);
	char hex[65];
	uint8_t h[32];
	crypto_sha256("abc", 3, h);
	hex_encode(h, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	buf_release(&b);
	buf_release(&d);
}

TEST(seal_and_open_secret)
{
	uint8_t key[32], other[32];
	memset(key, 7, 32);
	memset(other, 8, 32);
	struct buf s = BUF_INIT(0), o = BUF_INIT(0);
	CHECK_INT(crypto_seal(key, "wJalrXUtnFEMI", 13, &s), 0);
	CHECK(strstr(s.data, "wJalr") == NULL);
	CHECK_INT(crypto_open(key, s.data, s.len, &o), 0);
	CHECK_STR(o.data, "wJalrXUtnFEMI");
	buf_reset(&o);
	CHECK_INT(crypto_open(other, s.data, s.len, &o), TN_ECORRUPT);
	s.data[5] ^= 1;
	CHECK(crypto_open(key, s.data, s.len, &o) != 0);
	buf_release(&s);
	buf_release(&o);
}

TEST(config_yaml_and_errors)
{
	char path[512], err[TN_ERRLEN];
	snprintf(path, sizeof path, "%s/tarn.yaml", test_tmpdir());
	const char *y = "http:\n  listen: 127.0.0.1:0\nstreams:\n  buffer_size: 8MiB\n"
			"  buffer_interval: 1s\n  auto_create: false\n";
	CHECK_INT(os_write_file_atomic(path, y, strlen(y), 0644, err), 0);
	struct tn_config c;
	config_defaults(&c);
	CHECK_INT(c.streams_buffer_bytes, 5 << 20);
	CHECK_INT(config_load(&c, path, err), 0);
	CHECK_STR(c.http_listen, "127.0.0.1:0");
	CHECK_INT(c.streams_buffer_bytes, 8 << 20);
	CHECK_INT(c.streams_buffer_s, 1);
	CHECK(!c.streams_auto_create);
	const char *bad = "streams:\n  buffer_size: lots\n";
	CHECK_INT(os_write_file_atomic(path, bad, strlen(bad), 0644, err), 0);
	CHECK_INT(config_load(&c, path, err), TN_EINVAL);
	CHECK(strstr(err, ":2:") && strstr(err, "streams.buffer_size"));
	const char *unknown = "streams:\n  bufer_size: 1MiB\n";
	CHECK_INT(os_write_file_atomic(path, unknown, strlen(unknown), 0644, err), 0);
	CHECK_INT(config_load(&c, path, err), TN_EINVAL);
	CHECK(strstr(err, "unknown setting 'streams.bufer_size'"));
	char host[64];
	int port;
	CHECK_INT(config_parse_addr("[::1]:9000", host, sizeof host, &port, err), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 9000);
	CHECK(config_parse_addr("localhost", host, sizeof host, &port, err) != 0);
	/* The generated file parses back to the same values. */
	struct buf d = BUF_INIT(0);
	config_dump(&c, true, &d);
	CHECK_INT(os_write_file_atomic(path, d.data, d.len, 0644, err), 0);
	struct tn_config c2;
	config_defaults(&c2);
	CHECK_INT(config_load(&c2, path, err), 0);
	CHECK(memcmp(&c, &c2, sizeof c) == 0);
	buf_release(&d);
}

TEST(utf8_validation)
{
	CHECK(utf8_valid("plain ascii", 11));
	CHECK(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	CHECK(!utf8_valid("\xc3", 1));            /* cut short */
	CHECK(!utf8_valid("\xc0\xaf", 2));        /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	CHECK(!utf8_valid("\xff", 1));
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
}
