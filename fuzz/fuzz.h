/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point's
 * declaration and REQUIRE, which aborts (a finding) when a property fails.
 */
#ifndef TN_FUZZ_H
#define TN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                              \
	do {                                                                    \
		if (!(c)) {                                                     \
			fprintf(stderr, "property failed: %s\n", #c);           \
			abort();                                                \
		}                                                               \
	} while (0)

#endif
