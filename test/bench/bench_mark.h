/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef BENCH_MARK_H
#define BENCH_MARK_H

/*
 * Phase marks that a program run under valgrind's lackey (--trace-mem=yes) leaves in
 * its own memory trace, for trace_pair to split the trace by side and phase: a store to
 * BENCH_MARK_ADDR + 64 * mark says that what follows belongs to that phase, or starts or
 * stops the counting (the warm-up runs through the simulated caches uncounted). The page
 * is mapped at a fixed address so that trace_pair knows it before it reads a line.
 */

#include <stdint.h>

#define BENCH_MARK_ADDR		0x5a0000000ull
#define BENCH_MARK_PAGE		4096u

enum bench_mark {
	BENCH_PH_OFF,		/* neither side: set-up, the harness (ignored) */
	BENCH_PH_TX_APP,	/* the sender's application: mbuf allocation, headers */
	BENCH_PH_TX_DRV,	/* the sender's driver: its Tx burst */
	BENCH_PH_RX_DRV,	/* the receiver's driver: its Rx burst and the free */
	BENCH_PH_RX_APP,	/* the receiver's application: checking the frames */
	BENCH_PH_NB,
	BENCH_MARK_SMAPS = BENCH_PH_NB,	/* /proc/self/smaps is in the file named to both */
	BENCH_MARK_COUNT_ON,
	BENCH_MARK_COUNT_OFF,
	BENCH_MARK_NB
};

/* Leave mark @m in the trace. */
static inline void
bench_mark(unsigned int m)
{
	*(volatile uint8_t *)(uintptr_t)(BENCH_MARK_ADDR + 64u * m) = 1;
}

#endif /* BENCH_MARK_H */
