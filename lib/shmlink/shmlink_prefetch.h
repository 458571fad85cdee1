/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_PREFETCH_H
#define SHMLINK_PREFETCH_H

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

#endif /* SHMLINK_PREFETCH_H */
