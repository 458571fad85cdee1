/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_COPY_H
#define SHMLINK_COPY_H

/* Copying frames into and out of shared memory (private to the library). */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shmlink_endpoint.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Whether the CPU has AVX2 (set once when the library is loaded). */
extern bool ep_copy_avx2 __attribute__((visibility("hidden")));

/* ep_copy()'s 64-byte steps as two 32-byte loads and stores. */
__attribute__((target("avx2"))) static inline void
ep_copy_64s_avx2(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	for (; n > 0; n--, dst += 64, src += 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)src);
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + 32));

		_mm256_storeu_si256((__m256i *)(void *)dst, a);
		_mm256_storeu_si256((__m256i *)(void *)(dst + 32), b);
	}
}
#endif

/*
 * Copy a frame into shared memory in 64-byte steps of plain vector loads and stores.
 * The destination lines were last read by the peer's CPU, and libc's memcpy (AVX-512 on
 * the benchmark machine) is much slower into such lines: with 16-byte steps a server
 * sending 512-byte frames sent 1.7-2.3 times as many (64 bytes: +15%, 1518 bytes: +7%);
 * a client's copies into its own chunks stayed within 3% either way. 32-byte steps,
 * where the CPU has AVX2, gave 13-20% more again at 1518 bytes and 5-13% at 512 (not
 * used for a single step: at 64 bytes they were 0-6% slower).
 */
static inline void
ep_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
#if defined(__x86_64__)
	if (len >= 128 && ep_copy_avx2) {
		uint32_t n = len / 64;

		ep_copy_64s_avx2(dst, src, n);
		dst += n * 64;
		src += n * 64;
		len -= n * 64;
	}
#endif
	while (len >= 64) {
		memcpy(dst, src, 64);
		dst += 64;
		src += 64;
		len -= 64;
	}
	while (len >= 16) {
		memcpy(dst, src, 16);
		dst += 16;
		src += 16;
		len -= 16;
	}
	memcpy(dst, src, len);
}

/* A read position in a frame's segments. */
struct ep_cursor {
	const struct shmlink_seg *seg;
	uint32_t off;
};

/* Copy @len bytes from the frame at @cur to @dst, advancing @cur. The caller knows the
 * frame holds that many bytes. */
static inline void
ep_cursor_copy(struct ep_cursor *cur, uint8_t *dst, uint32_t len)
{
	while (len > 0) {
		uint32_t n = cur->seg->len - cur->off;

		if (n == 0) {
			cur->seg++;
			cur->off = 0;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(dst, (const uint8_t *)cur->seg->addr + cur->off, n);
		dst += n;
		len -= n;
		cur->off += n;
	}
}

#endif /* SHMLINK_COPY_H */
