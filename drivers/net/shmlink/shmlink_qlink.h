/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_QLINK_H
#define SHMLINK_QLINK_H

/*
 * A queue's link to the endpoint of its queue pair: every memory ordering between the
 * bursts and the control thread that attaches and detaches peers is here.
 *
 * Invariant: once shmlink_qlink_wait_idle() returns after shmlink_qlink_set() changed a
 * link, no burst still uses the endpoint the link had.
 *
 * It is a Dekker handshake ("store busy, load ep" in a burst against "store ep, load
 * busy" in the control thread), so each side needs a full barrier between its store and
 * its load. Bursts run millions of times a second and detaches a few times a lifetime,
 * so the barrier is asymmetric when the kernel allows it (shmlink_qlink_asym): bursts
 * only keep the compiler from reordering, and the control thread makes every thread of
 * the process execute a full barrier with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
 * before it loads busy. Either a burst's store of busy comes before that barrier, and
 * the control thread sees it, or the burst's load of ep comes after it, and the burst
 * sees the new endpoint. Without membarrier both sides use sequentially consistent
 * accesses (an xchg on x86 per burst).
 *
 * Secondary processes run bursts too (shmlink_mp.c). membarrier reaches the threads of
 * this process only, so theirs use the sequentially consistent accesses, and they mark
 * busy with their pid instead of 1: a secondary killed inside a burst leaves busy set,
 * and the control thread, seeing that no such process exists, stops waiting for it.
 *
 * A flag that the queue's own lcore stores and the control thread reads right after
 * changing the link (the rx interrupt switch) pairs the same way: "store ep, load flag"
 * against "store flag, load ep", sequentially consistent on both sides, so of the two
 * at least one sees the other's store.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_atomic.h>
#include <rte_branch_prediction.h>

#include "shmlink_compat.h"

struct shmlink_ep;

struct shmlink_qlink {
	RTE_ATOMIC(struct shmlink_ep *) ep;
	RTE_ATOMIC(uint32_t) busy;
};

/* True when the control side can use membarrier (set once, when the driver loads;
 * false in a secondary process). */
extern bool shmlink_qlink_asym;
/* What a burst of this process stores in busy: 1 in the primary, the pid in a secondary. */
extern uint32_t shmlink_qlink_token;

/* Burst side: the queue's endpoint, held until shmlink_qlink_leave(); NULL: none. */
static inline struct shmlink_ep *
shmlink_qlink_enter(struct shmlink_qlink *l)
{
	struct shmlink_ep *ep;

	if (likely(shmlink_qlink_asym)) {
		/* Only the primary uses membarrier: its token is 1. */
		rte_atomic_store_explicit(&l->busy, 1, rte_memory_order_relaxed);
		/* Only the compiler must keep the order: membarrier does the rest. */
		rte_compiler_barrier();
		ep = rte_atomic_load_explicit(&l->ep, rte_memory_order_acquire);
	} else {
		rte_atomic_store_explicit(&l->busy, shmlink_qlink_token,
				rte_memory_order_seq_cst);
		ep = rte_atomic_load_explicit(&l->ep, rte_memory_order_seq_cst);
	}
	if (unlikely(ep == NULL))
		rte_atomic_store_explicit(&l->busy, 0, rte_memory_order_release);
	return ep;
}

static inline void
shmlink_qlink_leave(struct shmlink_qlink *l)
{
	rte_atomic_store_explicit(&l->busy, 0, rte_memory_order_release);
}

/* Control side: point the link at @ep (NULL: none). Bursts may still use the old one
 * until shmlink_qlink_wait_idle(). */
static inline void
shmlink_qlink_set(struct shmlink_qlink *l, struct shmlink_ep *ep)
{
	rte_atomic_store_explicit(&l->ep, ep, rte_memory_order_seq_cst);
}

/* Control side, after shmlink_qlink_set(): wait until no burst uses what the links had.
 * Links given as NULL are skipped. */
void shmlink_qlink_wait_idle(struct shmlink_qlink *const *links, unsigned int n);

/* In a secondary process, before its first burst. */
void shmlink_qlink_secondary(void);

/* The queue's lcore sets a flag the control side reads after shmlink_qlink_set(); then
 * it may enter the link. */
static inline void
shmlink_qlink_flag_store(RTE_ATOMIC(bool) *flag, bool val)
{
	rte_atomic_store_explicit(flag, val, rte_memory_order_seq_cst);
	/* shmlink_qlink_enter() may order its load of ep only for the compiler. */
	rte_atomic_thread_fence(rte_memory_order_seq_cst);
}

/* Control side, after shmlink_qlink_set(). */
static inline bool
shmlink_qlink_flag_load(RTE_ATOMIC(bool) *flag)
{
	return rte_atomic_load_explicit(flag, rte_memory_order_seq_cst);
}

#endif /* SHMLINK_QLINK_H */
