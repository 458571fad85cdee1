/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_ZC_H
#define SHMLINK_ZC_H

/*
 * Zero-copy (devarg zero_copy): received frames lent to the application as mbufs with
 * external buffers in the peer's shared data region (shmlink_ep_rx_burst_hold()), and,
 * in the client role, chunks of our TX data region lent as empty mbufs to build frames
 * in (shmlink_ep_tx_lend(), rte_pmd_shmlink_tx_alloc()).
 *
 * One struct shmlink_zc per queue pair, direction and attached peer. Each lent frame
 * (or TX chunk) takes a slot,
 * whose rte_mbuf_ext_shared_info its mbufs share; when the application frees the last of
 * them, DPDK calls the slot's free callback, on whatever thread freed it. That thread puts
 * the slot on the return ring (multi-producer); the queue's own burst takes it off
 * (single consumer) and gives the frame back to the peer (a TX chunk back to the
 * endpoint's pool), so that only the burst's thread ever writes the endpoint.
 *
 * The data region stays mapped until the last lent frame comes back, however long after
 * its peer detached: the object holds one reference for the attachment and one per lent
 * frame, and the last to go unmaps the region and frees the object.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_atomic.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <shmlink.h>

#include "shmlink_compat.h"

struct shmlink_zc;

struct shmlink_zc_slot {
	struct rte_mbuf_ext_shared_info shinfo;	/* the frame's mbufs share it */
	struct shmlink_zc *zc;
	uint64_t token;				/* shmlink_ep_rx_burst_hold()'s, or
						 * shmlink_ep_tx_lend()'s */
};

struct shmlink_zc {
	RTE_ATOMIC(uint32_t) refs;	/* the attachment's, and one per lent frame */
	uint32_t nb_slots;		/* frames the application may hold at once */
	uint32_t nb_free;		/* burst thread: slots in @free */
	uint32_t *free;			/* burst thread: free slots, a stack */
	void *region;			/* the receive data region, lent from */
	uint64_t region_size;
	bool unmap;			/* the last reference unmaps @region */
	bool tx;			/* lends TX chunks, not received frames */
	rte_iova_t iova_base;		/* IOVA of @region (RTE_BAD_IOVA: unknown) */
	struct rte_ring *back;		/* slots of frames the application freed */
	struct shmlink_zc_slot *slots;
};

/* The slots to give a queue pair whose receive direction has @nb_bufs buffers: half,
 * so that the application can never hold so many frames that the peer stops sending. */
uint32_t shmlink_zc_nb_slots(uint64_t nb_bufs);

/* An object of @nb_slots slots lending frames of receive region @region (@size bytes),
 * or with @tx chunks of transmit region @region, holding the attachment's reference.
 * NULL: no memory. */
struct shmlink_zc *shmlink_zc_create(uint32_t nb_slots, void *region, uint64_t size,
		bool tx, int socket);

/* The attachment's end: drop its reference; with @unmap, the caller hands its mapping
 * of the region over, to be unmapped at the last reference. NULL is allowed. */
void shmlink_zc_release(struct shmlink_zc *zc, bool unmap);

/* Burst thread: give every frame (TX chunk) the application freed back to the peer (the
 * endpoint). */
void shmlink_zc_reclaim(struct shmlink_zc *zc, struct shmlink_ep *ep);

/* Burst thread: whether the application freed any lent frame since the last reclaim
 * (two loads: what an idle port's poll pays). */
static inline bool
shmlink_zc_reclaim_due(const struct shmlink_zc *zc)
{
	return !rte_ring_empty(zc->back);
}

/*
 * Burst thread: lend frame @f (token @token) as mbuf chain @m, with more mbufs from @mp
 * for its other segments. Returns false, with @m untouched, if it cannot: no slot free,
 * a segment longer than an mbuf can say, no mbuf; the caller copies the frame then.
 */
bool shmlink_zc_lend(struct shmlink_zc *zc, struct rte_mempool *mp,
		const struct shmlink_frame *f, uint64_t token, struct rte_mbuf *m);

/*
 * TX burst thread (@tx): up to @n empty mbufs from @mp, each over one TX chunk of @ep
 * lent to it, RTE_PKTMBUF_HEADROOM of it before the data. Returns how many; fewer when
 * no slot, chunk or mbuf is left.
 */
unsigned int shmlink_zc_tx_alloc(struct shmlink_zc *zc, struct shmlink_ep *ep,
		struct rte_mempool *mp, struct rte_mbuf **pkts, unsigned int n);

/*
 * TX burst thread: free @n mbufs its port has sent on endpoint @ep. Lent one-segment
 * mbufs that nothing else holds skip DPDK's free of an external buffer and the callback:
 * TX buffers of @own (the queue's, zero_copy=tx; NULL if none) go straight back to @ep;
 * frames lent by a receive queue, of this port or another (an application forwarding
 * them), go onto that queue's return ring several at a time. Their mbufs go back to
 * their pool as plain ones; the others are freed as usual.
 */
void shmlink_zc_sent_free(struct shmlink_zc *own, struct shmlink_ep *ep,
		struct rte_mbuf **pkts, unsigned int n);

/* Whether this process lends anything (a primary with a zero_copy port): only then
 * do TX bursts look for lent mbufs among those they free. */
extern bool shmlink_zc_lending;

/* Burst thread: @n frames were lent by this burst, before the application has them. */
void shmlink_zc_hold(struct shmlink_zc *zc, uint32_t n);

/* Frames lent now (for the xstats; any thread, approximate). */
uint32_t shmlink_zc_lent(const struct shmlink_zc *zc);

#endif /* SHMLINK_ZC_H */
