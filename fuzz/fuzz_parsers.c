/*
 * fuzz_parsers.c - libFuzzer target for the small parsers that take
 * client input: SigV4 Authorization headers, timestamps, object keys,
 * listen addresses, base64, stream options.
 *
 * The first input byte picks the parser; the rest is its input.  Beyond
 * "never crashes, never reads out of bounds", each checks one property:
 *   - an accepted object key has no empty, "." or ".." segment;
 *   - a parsed timestamp formats and parses back to the same millisecond;
 *   - base64 that decodes re-encodes to a string that decodes the same;
 *   - accepted stream options pass stream_opts_check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "stream/stream.h"
#include "fuzz.h"
#include "core/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char err[TN_ERRLEN];
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	switch (data[0] % 6) {
	case 0: {
		struct sigv4_auth a;
		sigv4_parse_authorization(s, &a, err);
		break;
	}
	case 1: {
		int64_t ms, back;
		if (time_parse(p, n, &ms) == 0 && ms > -62135596800000LL &&
		    ms < 253402300799000LL) {
			char iso[40];
			time_format_iso_ms(ms, iso, sizeof iso);
			REQUIRE(time_parse(iso, strlen(iso), &back) == 0 && back == ms);
		}
		break;
	}
	case 2:
		if (store_key_check(p, n, err) == 0) {
			REQUIRE(n > 0 && p[0] != '/' && p[n - 1] != '/');
			REQUIRE(!memmem(p, n, "//", 2) && !memchr(p, '\0', n));
			REQUIRE(strcmp(s, "..") && strncmp(s, "../", 3) && !strstr(s, "/../") &&
				!(n >= 3 && !strcmp(s + n - 3, "/..")));
		}
		break;
	case 3: {
		char host[128];
		int port;
		if (config_parse_addr(s, host, sizeof host, &port, err) == 0)
			REQUIRE(port >= 0 && port <= 65535 && host[0]);
		break;
	}
	case 4: {
		struct buf out = BUF_INIT(1 << 20), enc = BUF_INIT(0), again = BUF_INIT(1 << 20);
		if (base64_decode(p, n, &out) == 0) {
			REQUIRE(base64_encode(out.data, out.len, &enc) == 0);
			REQUIRE(base64_decode(enc.data, enc.len, &again) == 0);
			REQUIRE(again.len == out.len && !memcmp(again.data, out.data, out.len));
		}
		buf_release(&out);
		buf_release(&enc);
		buf_release(&again);
		break;
	}
	case 5: {
		struct stream_opts o = { 0 };
		o.buffer_bytes = 1 << 20;
		if (stream_opts_from_json(p, n, &o, err) == 0)
			REQUIRE(stream_opts_check(&o, err) == 0);
		break;
	}
	}
	free(s);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct buf b = BUF_INIT(0);
		FILE *f = fopen(argv[i], "rb");
		char chunk[4096];
		size_t r;
		while (f && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_append(&b, chunk, r);
		if (f)
			fclose(f);
		LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
		buf_release(&b);
	}
	return 0;
}
#endif
