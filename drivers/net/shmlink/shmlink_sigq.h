/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_SIGQ_H
#define SHMLINK_SIGQ_H

/*
 * Signal coalescing (devargs signal_delay_us, signal_batch): a burst sent to a peer that
 * sleeps sets a deadline instead of writing the peer's eventfd; the signal goes out once
 * signal_batch frames wait or, at the deadline, from the next burst of either queue of
 * the pair (an application polls its rx queues without pause).
 *
 * Invariant: a deadline that was set is taken by exactly one thread, which sends the
 * signal. The two queues of a pair may run on two lcores: only the tx lcore sets the
 * deadline, anyone may take it, with an atomic exchange (whoever reads non-zero
 * signals).
 */

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include <shmlink.h>

#include "shmlink_compat.h"

struct shmlink_sigq {
	RTE_ATOMIC(uint64_t) deadline;	/* TSC of the pending signal; 0: none */
} __rte_cache_aligned;

/* Tx lcore: start the delay unless a signal is pending; true if it started it. */
static inline bool
shmlink_sig_arm(struct shmlink_sigq *s, uint64_t delay_tsc)
{
	if (rte_atomic_load_explicit(&s->deadline, rte_memory_order_acquire) != 0)
		return false;
	rte_atomic_store_explicit(&s->deadline, rte_rdtsc() + delay_tsc,
			rte_memory_order_release);
	return true;
}

/* Send the pending signal, if any. */
static inline void
shmlink_sig_flush(struct shmlink_sigq *s, struct shmlink_ep *ep)
{
	if (rte_atomic_exchange_explicit(&s->deadline, 0, rte_memory_order_acq_rel) != 0)
		shmlink_ep_tx_signal(ep);
}

/* Send the pending signal if its deadline has passed. */
static inline void
shmlink_sig_poll(struct shmlink_sigq *s, struct shmlink_ep *ep)
{
	uint64_t d = rte_atomic_load_explicit(&s->deadline, rte_memory_order_relaxed);

	if (unlikely(d != 0) && rte_rdtsc() >= d)
		shmlink_sig_flush(s, ep);
}

#endif /* SHMLINK_SIGQ_H */
