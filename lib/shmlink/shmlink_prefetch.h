/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_PREFETCH_H
#define SHMLINK_PREFETCH_H

#include <stdint.h>

/*
 * Prefetch hints for shared memory (private to the library, not installed).
 *
 * A line we are about to write was most likely last touched by the peer's CPU. Fetched
 * for reading, it arrives shared and the store still has to take it away from the peer:
 * a second cross-core round trip. PREFETCHW asks for it exclusive at once. Compilers
 * only emit PREFETCHW for __builtin_prefetch(p, 1) when the target has PRFCHW, which
 * the baseline x86-64 target lacks; every x86-64 CPU decodes the instruction (as a NOP
 * where it does not implement it), so it is emitted here directly.
 */

static inline void
shmlink_prefetch_r(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

static inline void
shmlink_prefetch_w(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m" (*(const volatile char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* A cache line, the unit of the prefetches below and of the endpoint's layout. */
#define EP_CACHE_LINE 64

/* Most lines of a buffer to prefetch for writing: a 2048-byte buffer. The CPU's stream
 * prefetcher fetches lines for reading, so every line to be written is asked for:
 * prefetching 4 lines of the next frame's chunk instead of all of them made a client
 * send 1518-byte frames a third slower (512 bytes: 38% slower). */
#define EP_PREFETCH_LINES 32

/* Prefetch for writing the first EP_PREFETCH_LINES lines of a buffer of @len bytes at
 * @p. A shared buffer's lines were last read by the peer's CPU: asking for them a frame
 * ahead hides the wait at the stores of the copy. */
static inline void
ep_prefetch_w(const uint8_t *p, uint32_t len)
{
	const uint8_t *end = p + (len < EP_PREFETCH_LINES * EP_CACHE_LINE ? len :
			EP_PREFETCH_LINES * EP_CACHE_LINE);

	for (; p < end; p += EP_CACHE_LINE)
		shmlink_prefetch_w(p);
}

#endif /* SHMLINK_PREFETCH_H */
