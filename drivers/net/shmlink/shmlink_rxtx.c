/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The fast path. The library moves frames between shared memory and scatter lists; here
 * they become mbufs. Per burst: entering the queue costs no barrier (see struct shmlink_qlink),
 * one library call each way, bulk mbuf allocation and freeing; no syscall, no lock.
 */

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "rte_pmd_shmlink.h"
#include "shmlink_ethdev.h"
#include "shmlink_zc.h"

/* Lines of a frame to prefetch: enough to start the CPU's stream prefetcher, which
 * fetches the rest of a sequential copy on its own. */
#define RX_PREFETCH_LINES 4

/* Start loading the first segment of a frame. */
static inline void
rx_prefetch(const struct shmlink_frame *f)
{
	const uint8_t *p = f->segs[0].addr;
	const uint8_t *end = p + RTE_MIN(f->segs[0].len,
			(uint32_t)(RX_PREFETCH_LINES * RTE_CACHE_LINE_SIZE));

	for (; p < end; p += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p);
}

/* Copy a frame's segments to @dst. */
static inline void
rx_gather(uint8_t *dst, const struct shmlink_frame *f)
{
	uint32_t i;

	for (i = 0; i < f->nb_segs; i++) {
		rte_memcpy(dst, f->segs[i].addr, f->segs[i].len);
		dst += f->segs[i].len;
	}
}

/* A frame larger than one mbuf, into a chain headed by @m (scatter on). */
static int
rx_chain(struct shmlink_rxq *q, const struct shmlink_frame *f, struct rte_mbuf *m)
{
	struct rte_mbuf *cur = m;
	uint32_t si = 0, soff = 0, left = f->len;

	m->pkt_len = f->len;
	m->nb_segs = 1;
	m->data_len = 0;
	while (left > 0) {
		uint32_t n;

		if (cur->data_len == q->data_room) {
			struct rte_mbuf *next = rte_pktmbuf_alloc(q->mp);

			if (next == NULL)
				return -ENOBUFS;
			cur->next = next;
			cur = next;
			m->nb_segs++;
		}
		n = RTE_MIN((uint32_t)(q->data_room - cur->data_len), f->segs[si].len - soff);
		rte_memcpy(rte_pktmbuf_mtod_offset(cur, uint8_t *, cur->data_len),
				(const uint8_t *)f->segs[si].addr + soff, n);
		cur->data_len += n;
		soff += n;
		left -= n;
		if (soff == f->segs[si].len) {
			si++;
			soff = 0;
		}
	}
	return 0;
}

/* Fill @m with frame @f. Returns 0, or -1 if the frame is dropped (counted). */
static inline int
rx_fill(struct shmlink_rxq *q, const struct shmlink_frame *f, struct rte_mbuf *m)
{
	m->port = q->port_id;
	if (likely(f->len <= q->data_room)) {
		rx_gather(rte_pktmbuf_mtod(m, uint8_t *), f);
		m->data_len = (uint16_t)f->len;
		m->pkt_len = f->len;
		return 0;
	}
	if (!q->scatter) {
		q->st.dropped++;
		return -1;
	}
	if (rx_chain(q, f, m) != 0) {
		/* Give the extra segments back, keep the head for the next frame. */
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
		q->st.nombuf++;
		q->st.dropped++;
		return -1;
	}
	return 0;
}

/*
 * Zero-copy: lend frame @i of the burst (token @tokens[i]) as mbuf @m if the primary
 * can, else have it copied: its token is then given back after the burst. Returns true
 * if lent.
 */
static inline bool
rx_lend(struct shmlink_rxq *q, struct shmlink_zc *zc, bool lend, const uint64_t *tokens,
		unsigned int i, struct rte_mbuf *m, uint64_t *back, unsigned int *nback)
{
	if (lend && shmlink_zc_lend(zc, q->mp, &q->frames[i], tokens[i], m)) {
		m->port = q->port_id;
		q->zc_lent++;
		return true;
	}
	back[(*nback)++] = tokens[i];
	return false;
}

/*
 * After a zero-copy burst: the tokens of the frames copied or dropped (from @i on, the
 * frames no mbuf was left for) go back to the peer, and the frames lent are counted
 * before the application can free them.
 */
static void
rx_lend_end(struct shmlink_zc *zc, struct shmlink_ep *ep, const uint64_t *tokens,
		unsigned int i, unsigned int n, uint64_t *back, unsigned int nback,
		uint32_t nb_lent)
{
	for (; i < n; i++)
		back[nback++] = tokens[i];
	shmlink_ep_rx_return(ep, back, nback);
	shmlink_zc_hold(zc, nb_lent);
}

/* The rx burst on endpoint @ep, entered by the caller; @efd < 0 in the primary, else the
 * secondary's FD of the peer's eventfd (no signal coalescing there: shmlink_sigq holds
 * the primary's). @zc: the queue pair's zero-copy state, NULL on a port that copies;
 * only the primary lends (the free callback is its code). */
static __rte_always_inline uint16_t
rx_burst(struct shmlink_rxq *q, struct shmlink_ep *ep, struct rte_mbuf **bufs,
		uint16_t nb_pkts, int efd, struct shmlink_zc *zc)
{
	uint64_t tokens[SHMLINK_BURST_MAX], back[SHMLINK_BURST_MAX];
	unsigned int n, i, k = 0, have, nback = 0;
	uint32_t nb_lent = 0;
	uint64_t bytes = 0;
	uint16_t agreed;

	if (q->sig != NULL && efd < 0)
		shmlink_sig_poll(q->sig, ep);
	if (zc != NULL && shmlink_zc_reclaim_due(zc))
		shmlink_zc_reclaim(zc, ep);
	/* An idle port, what most polls of a sandbox host find, costs this call only. */
	if (shmlink_ep_rx_idle(ep))
		return 0;
	nb_pkts = RTE_MIN(nb_pkts, SHMLINK_BURST_MAX);
	n = zc != NULL ? shmlink_ep_rx_burst_hold(ep, q->frames, nb_pkts, q->segs,
			SHMLINK_BURST_SEGS, tokens) :
		shmlink_ep_rx_burst(ep, q->frames, nb_pkts, q->segs, SHMLINK_BURST_SEGS);
	if (n == 0) {
		shmlink_ep_rx_release(ep);
		if (unlikely(shmlink_ep_broken(ep)))
			shmlink_peer_report_broken(q->pmd);
		return 0;
	}
	have = n;
	if (unlikely(rte_pktmbuf_alloc_bulk(q->mp, bufs, n) != 0)) {
		for (have = 0; have < n; have++) {
			bufs[have] = rte_pktmbuf_alloc(q->mp);
			if (bufs[have] == NULL)
				break;
		}
		q->st.nombuf += n - have;
	}
	/* bufs[k] is the next free mbuf; a dropped frame leaves it for the next one.
	 * The next frame's bytes are in the peer CPU's cache: ask for them while this
	 * one is copied. */
	if (have > 0)
		rx_prefetch(&q->frames[0]);
	for (i = 0; i < n && k < have; i++) {
		if (i + 1 < n)
			rx_prefetch(&q->frames[i + 1]);
		if (zc != NULL && rx_lend(q, zc, efd < 0, tokens, i, bufs[k], back, &nback)) {
			bytes += q->frames[i].len;
			k++;
			nb_lent++;
			continue;
		}
		if (rx_fill(q, &q->frames[i], bufs[k]) == 0) {
			bytes += q->frames[i].len;
			k++;
			q->zc_copied += zc != NULL;
		}
		if (q->evict_min != 0 && q->frames[i].len >= q->evict_min) {
			shmlink_frame_evict(&q->frames[i]);
			q->evicted++;
		}
	}
	agreed = shmlink_ep_offloads(ep);
	shmlink_ep_rx_release(ep);
	if (zc != NULL)
		rx_lend_end(zc, ep, tokens, i, n, back, nback, nb_lent);
	if (k < have)
		rte_pktmbuf_free_bulk(&bufs[k], have - k);
	shmlink_rx_offload(q, agreed, bufs, k);
	q->st.packets += k;
	q->st.bytes += bytes;
	return (uint16_t)k;
}

/* The primary's bursts; @lend: the port has zero_copy=rx, whose queue pair state is set
 * before its endpoint, so it is there once the endpoint is. */
static __rte_always_inline uint16_t
rx_burst_primary(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts, bool lend)
{
	struct shmlink_rxq *q = queue;
	struct shmlink_ep *ep = shmlink_qlink_enter(&q->link);
	uint16_t n;

	if (ep == NULL)
		return 0;
	n = rx_burst(q, ep, bufs, nb_pkts, -1, lend ? q->pmd->zc[q->queue_id] : NULL);
	shmlink_qlink_leave(&q->link);
	return n;
}

uint16_t
shmlink_rx_burst(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	return rx_burst_primary(queue, bufs, nb_pkts, false);
}

uint16_t
shmlink_rx_burst_zc(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	return rx_burst_primary(queue, bufs, nb_pkts, true);
}

uint16_t
shmlink_rx_burst_secondary(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	struct shmlink_rxq *q = queue;
	int efd;
	struct shmlink_ep *ep = shmlink_mp_enter(&q->link, q->pmd, q->port_id, q->queue_id,
			&efd);
	uint16_t n;

	if (ep == NULL)
		return 0;
	n = rx_burst(q, ep, bufs, nb_pkts, efd, q->pmd->zc[q->queue_id]);
	shmlink_qlink_leave(&q->link);
	return n;
}

/* An mbuf the link can never carry; one segment is kept for a header copy. */
static inline bool
tx_unsendable(const struct rte_mbuf *m, uint32_t max)
{
	return m->pkt_len > max || m->pkt_len == 0 || m->nb_segs >= SHMLINK_BURST_SEGS;
}

/*
 * Describe up to SHMLINK_BURST_MAX mbufs as frames, stopping before one whose segments
 * do not fit or that cannot be sent. Unsendable mbufs at the start are freed and
 * counted: *skipped says how many; the frames describe the mbufs that follow them, bit
 * i of *filled set if the port filled the checksums of frame i (shmlink_offload.c).
 * 0 frames and 0 skipped: the first mbuf asks for an offload that cannot be met.
 */
static unsigned int
tx_describe(struct shmlink_txq *q, uint16_t agreed, struct rte_mbuf **bufs, unsigned int nb,
		unsigned int *skipped, uint64_t *filled)
{
	uint32_t max = shmlink_max_frame(q->pmd->mtu, q->pmd->raw_ip);
	unsigned int i, nsegs = 0;
	uint64_t fill = 0;

	for (i = 0; i < nb && tx_unsendable(bufs[i], max); i++) {
		rte_pktmbuf_free(bufs[i]);
		q->st.errors++;
	}
	*skipped = i;
	bufs += i;
	nb -= i;
	for (i = 0; i < nb && i < SHMLINK_BURST_MAX; i++) {
		struct rte_mbuf *m = bufs[i];
		struct shmlink_frame *f = &q->frames[i];

		/* One segment more than the mbuf's: room for a copy of its headers. */
		if (tx_unsendable(m, max) || nsegs + m->nb_segs >= SHMLINK_BURST_SEGS)
			break;
		if (unlikely(m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK))) {
			int rc = shmlink_tx_offload(q, agreed, m, i, f, &q->segs[nsegs]);

			if (rc < 0)
				break;
			if (rc == 0) {
				nsegs += f->nb_segs;
				fill |= UINT64_C(1) << i;
				continue;
			}
		}
		f->segs = &q->segs[nsegs];
		f->nb_segs = m->nb_segs;
		f->len = m->pkt_len;
		for (; m != NULL; m = m->next) {
			q->segs[nsegs].addr = rte_pktmbuf_mtod(m, void *);
			q->segs[nsegs].len = m->data_len;
			nsegs++;
		}
	}
	*filled = fill;
	return i;
}

/*
 * Coalesced signalling, after @sent frames went out: a peer that polls needs nothing; for
 * one that may sleep, the first frame starts the delay and signal_batch frames end it.
 */
static void
tx_signal(struct shmlink_txq *q, struct shmlink_ep *ep, unsigned int sent)
{
	struct shmlink_sigq *sig = q->sig;

	if (sent == 0 || !shmlink_ep_tx_peer_waits(ep)) {
		shmlink_sig_poll(sig, ep);
		return;
	}
	if (shmlink_sig_arm(sig, q->pmd->signal_delay_tsc))
		q->sig_frames = 0;
	q->sig_frames += sent;
	if (q->sig_frames >= q->pmd->signal_batch)
		shmlink_sig_flush(sig, ep);
	else
		shmlink_sig_poll(sig, ep);
}

/* The tx burst on endpoint @ep, entered by the caller; @efd as for rx_burst(); @zc: the
 * queue's lent TX buffers (zero_copy=tx, the primary), else NULL. */
static __rte_always_inline uint16_t
tx_burst(struct shmlink_txq *q, struct shmlink_ep *ep, struct rte_mbuf **bufs,
		uint16_t nb_pkts, int efd, struct shmlink_zc *zc)
{
	unsigned int done = 0, total = 0;
	uint16_t agreed;

	agreed = shmlink_ep_offloads(ep);
	while (done < nb_pkts) {
		unsigned int skipped, nf, sent, i;
		uint64_t bytes = 0, filled;

		nf = tx_describe(q, agreed, bufs + done, nb_pkts - done, &skipped, &filled);
		done += skipped;
		if (unlikely(nf == 0 && skipped == 0 && done < nb_pkts)) {
			rte_pktmbuf_free(bufs[done++]);	/* its offload cannot be met */
			q->st.errors++;
		}
		if (nf == 0)
			continue;
		sent = shmlink_ep_tx_burst(ep, q->frames, nf);
		for (i = 0; i < sent; i++)
			bytes += q->frames[i].len;
		if (unlikely(filled != 0))
			q->ost.tx_filled += rte_popcount64(sent < 64 ?
					filled & ((UINT64_C(1) << sent) - 1) : filled);
		if (zc != NULL || shmlink_zc_lending)
			shmlink_zc_sent_free(zc, ep, bufs + done, sent);
		else
			rte_pktmbuf_free_bulk(bufs + done, sent);
		q->st.packets += sent;
		q->st.bytes += bytes;
		done += sent;
		total += sent;
		if (sent < nf) {
			if (unlikely(shmlink_ep_broken(ep)))
				shmlink_peer_report_broken(q->pmd);
			break;
		}
	}
	/* The endpoints defer their signals: they are sent here, or coalesced. */
	if (efd >= 0) {
		if (total != 0)
			shmlink_ep_tx_signal_fd(ep, efd);
	} else if (q->sig != NULL) {
		tx_signal(q, ep, total);
	} else if (total != 0) {
		shmlink_ep_tx_signal(ep);
	}
	return (uint16_t)done;
}

uint16_t
shmlink_tx_burst(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	struct shmlink_txq *q = queue;
	struct shmlink_ep *ep = shmlink_qlink_enter(&q->link);
	uint16_t n;

	if (ep == NULL)
		return 0;
	n = tx_burst(q, ep, bufs, nb_pkts, -1, NULL);
	shmlink_qlink_leave(&q->link);
	return n;
}

/* zero_copy=tx: the primary's burst, which first takes back the TX chunks of the mbufs
 * the application freed (and the port, after sending them). */
uint16_t
shmlink_tx_burst_zc(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	struct shmlink_txq *q = queue;
	struct shmlink_ep *ep = shmlink_qlink_enter(&q->link);
	struct shmlink_zc *zc;
	uint16_t n;

	if (ep == NULL)
		return 0;
	zc = q->pmd->zc_tx[q->queue_id];
	if (zc != NULL && shmlink_zc_reclaim_due(zc))
		shmlink_zc_reclaim(zc, ep);
	n = tx_burst(q, ep, bufs, nb_pkts, -1, zc);
	shmlink_qlink_leave(&q->link);
	return n;
}

uint16_t
rte_pmd_shmlink_tx_alloc(uint16_t port_id, uint16_t queue_id, struct rte_mempool *mp,
		struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct rte_eth_dev *dev;
	struct shmlink_txq *q;
	struct shmlink_ep *ep;
	struct shmlink_zc *zc;
	uint16_t n;

	if (!rte_eth_dev_is_valid_port(port_id) || mp == NULL || pkts == NULL ||
			rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	dev = &rte_eth_devices[port_id];
	if (!shmlink_dev_is_ours(dev) || queue_id >= dev->data->nb_tx_queues)
		return 0;
	q = dev->data->tx_queues[queue_id];
	if (q == NULL || (ep = shmlink_qlink_enter(&q->link)) == NULL)
		return 0;
	zc = q->pmd->zc_tx[queue_id];
	n = 0;
	if (zc != NULL) {
		if (shmlink_zc_reclaim_due(zc))
			shmlink_zc_reclaim(zc, ep);
		n = (uint16_t)shmlink_zc_tx_alloc(zc, ep, mp, pkts, nb_pkts);
	}
	shmlink_qlink_leave(&q->link);
	return n;
}

uint16_t
shmlink_tx_burst_secondary(void *queue, struct rte_mbuf **bufs, uint16_t nb_pkts)
{
	struct shmlink_txq *q = queue;
	int efd;
	struct shmlink_ep *ep = shmlink_mp_enter(&q->link, q->pmd, q->port_id, q->queue_id,
			&efd);
	uint16_t n;

	if (ep == NULL)
		return 0;
	n = tx_burst(q, ep, bufs, nb_pkts, efd, NULL);
	shmlink_qlink_leave(&q->link);
	return n;
}
