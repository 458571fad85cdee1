/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Zero-copy: slots, the return ring and the region's last reference (shmlink_zc.h). The
 * burst side costs one bulk dequeue when frames came back and one atomic add per burst
 * that lends; the application's side one enqueue and one atomic subtraction per frame
 * it frees, or one of each per burst for the frames a Tx burst of ours frees.
 */

#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "shmlink_zc.h"

/* The most slots a queue pair has: about 64 MiB of 2048-byte buffers. */
#define ZC_MAX_SLOTS	32768u

/* The most TX chunks lent by one shmlink_zc_tx_alloc(): a burst's worth. */
#define ZC_TX_ALLOC_MAX	64u

bool shmlink_zc_lending;

uint32_t
shmlink_zc_nb_slots(uint64_t nb_bufs)
{
	uint64_t n = nb_bufs / 2;

	return n == 0 ? 1 : n > ZC_MAX_SLOTS ? ZC_MAX_SLOTS : (uint32_t)n;
}

struct shmlink_zc *
shmlink_zc_create(uint32_t nb_slots, void *region, uint64_t size, bool tx, int socket)
{
	/* A ring of 2^n slots holds 2^n - 1: room for every slot. */
	uint32_t ring_count = rte_align32pow2(nb_slots + 1);
	ssize_t ring_size = rte_ring_get_memsize_elem(sizeof(uint32_t), ring_count);
	size_t off_free, off_ring, off_slots, bytes;
	struct shmlink_zc *zc;
	uint32_t i;

	if (ring_size < 0)
		return NULL;
	off_free = RTE_ALIGN_CEIL(sizeof(*zc), RTE_CACHE_LINE_SIZE);
	off_ring = RTE_ALIGN_CEIL(off_free + nb_slots * sizeof(uint32_t), RTE_CACHE_LINE_SIZE);
	off_slots = RTE_ALIGN_CEIL(off_ring + (size_t)ring_size, RTE_CACHE_LINE_SIZE);
	bytes = off_slots + nb_slots * sizeof(struct shmlink_zc_slot);
	zc = rte_zmalloc_socket("shmlink_zc", bytes, RTE_CACHE_LINE_SIZE, socket);
	if (zc == NULL)
		return NULL;
	zc->free = RTE_PTR_ADD(zc, off_free);
	zc->back = RTE_PTR_ADD(zc, off_ring);
	zc->slots = RTE_PTR_ADD(zc, off_slots);
	/* Not rte_ring_create(): nothing looks this ring up by name. */
	if (rte_ring_init(zc->back, "shmlink_zc", ring_count, RING_F_SC_DEQ) != 0) {
		rte_free(zc);
		return NULL;
	}
	zc->nb_slots = nb_slots;
	for (i = 0; i < nb_slots; i++) {
		zc->slots[i].zc = zc;
		zc->free[i] = nb_slots - 1 - i;
	}
	zc->nb_free = nb_slots;
	zc->region = region;
	zc->region_size = size;
	zc->tx = tx;
	zc->iova_base = rte_eal_iova_mode() == RTE_IOVA_VA ? (rte_iova_t)(uintptr_t)region :
			RTE_BAD_IOVA;
	rte_atomic_store_explicit(&zc->refs, 1, rte_memory_order_relaxed);
	return zc;
}

static void
zc_put_n(struct shmlink_zc *zc, uint32_t n)
{
	/* Acquire-release: whoever frees sees every other holder done with the region. */
	if (rte_atomic_fetch_sub_explicit(&zc->refs, n, rte_memory_order_acq_rel) != n)
		return;
	if (zc->unmap)
		munmap(zc->region, zc->region_size);
	rte_free(zc);
}

static void
zc_put(struct shmlink_zc *zc)
{
	zc_put_n(zc, 1);
}

void
shmlink_zc_release(struct shmlink_zc *zc, bool unmap)
{
	if (zc == NULL)
		return;
	zc->unmap = unmap;
	zc_put(zc);
}

/* DPDK's callback when the last mbuf of a lent frame is freed, on any thread. The slot
 * goes on the ring before the reference: the object outlives the enqueue. */
static void
zc_free_cb(void *addr __rte_unused, void *opaque)
{
	struct shmlink_zc_slot *s = opaque;
	struct shmlink_zc *zc = s->zc;
	uint32_t idx = (uint32_t)(s - zc->slots);

	/* The ring holds every slot: it is never full. */
	rte_ring_mp_enqueue_elem(zc->back, &idx, sizeof(idx));
	zc_put(zc);
}

void
shmlink_zc_reclaim(struct shmlink_zc *zc, struct shmlink_ep *ep)
{
	uint32_t idx[64];
	uint64_t tokens[RTE_DIM(idx)];
	unsigned int n, i;

	while ((n = rte_ring_sc_dequeue_burst_elem(zc->back, idx, sizeof(idx[0]),
			RTE_DIM(idx), NULL)) > 0) {
		for (i = 0; i < n; i++) {
			tokens[i] = zc->slots[idx[i]].token;
			zc->free[zc->nb_free++] = idx[i];
		}
		if (zc->tx)
			shmlink_ep_tx_return(ep, tokens, n);
		else
			shmlink_ep_rx_return(ep, tokens, n);
	}
}

/* Take a free slot for token @token, its mbufs to share it @refs times. */
static struct shmlink_zc_slot *
zc_slot_take(struct shmlink_zc *zc, uint64_t token, uint16_t refs)
{
	struct shmlink_zc_slot *s = &zc->slots[zc->free[--zc->nb_free]];

	s->token = token;
	s->shinfo.free_cb = zc_free_cb;
	s->shinfo.fcb_opaque = s;
	rte_mbuf_ext_refcnt_set(&s->shinfo, refs);
	return s;
}

/* Point @m at segment @seg of a lent frame, sharing @s. */
static void
zc_attach(struct shmlink_zc *zc, struct rte_mbuf *m, const struct shmlink_seg *seg,
		struct shmlink_zc_slot *s)
{
	rte_iova_t iova = zc->iova_base == RTE_BAD_IOVA ? RTE_BAD_IOVA :
			zc->iova_base + RTE_PTR_DIFF(seg->addr, zc->region);

	rte_pktmbuf_attach_extbuf(m, seg->addr, iova, (uint16_t)seg->len, &s->shinfo);
	m->data_len = (uint16_t)seg->len;
}

bool
shmlink_zc_lend(struct shmlink_zc *zc, struct rte_mempool *mp, const struct shmlink_frame *f,
		uint64_t token, struct rte_mbuf *m)
{
	struct rte_mbuf *more[SHMLINK_FRAME_MAX_BUFS];
	struct shmlink_zc_slot *s;
	uint32_t i, nb_more = f->nb_segs - 1;

	if (zc->nb_free == 0 || f->nb_segs > SHMLINK_FRAME_MAX_BUFS)
		return false;
	for (i = 0; i < f->nb_segs; i++)
		if (f->segs[i].len > UINT16_MAX)
			return false;
	if (nb_more > 0 && rte_pktmbuf_alloc_bulk(mp, more, nb_more) != 0)
		return false;
	s = zc_slot_take(zc, token, (uint16_t)f->nb_segs);
	zc_attach(zc, m, &f->segs[0], s);
	for (i = 0; i < nb_more; i++) {
		zc_attach(zc, more[i], &f->segs[i + 1], s);
		(i == 0 ? m : more[i - 1])->next = more[i];
	}
	m->nb_segs = (uint16_t)f->nb_segs;
	m->pkt_len = f->len;
	return true;
}

unsigned int
shmlink_zc_tx_alloc(struct shmlink_zc *zc, struct shmlink_ep *ep, struct rte_mempool *mp,
		struct rte_mbuf **pkts, unsigned int n)
{
	struct shmlink_tx_chunk ch[ZC_TX_ALLOC_MAX];
	unsigned int got, i;

	n = RTE_MIN(RTE_MIN(n, (unsigned int)RTE_DIM(ch)), zc->nb_free);
	/* The buffers first: when the peer is behind there are fewer than asked. */
	got = n > 0 ? shmlink_ep_tx_lend(ep, ch, n) : 0;
	if (got == 0)
		return 0;
	if (rte_pktmbuf_alloc_bulk(mp, pkts, got) != 0) {
		for (i = 0; i < got; i++)
			shmlink_ep_tx_return(ep, &ch[i].token, 1);
		return 0;
	}
	for (i = 0; i < got; i++) {
		struct shmlink_seg seg = { .addr = ch[i].addr, .len = ch[i].size };
		struct rte_mbuf *m = pkts[i];

		zc_attach(zc, m, &seg, zc_slot_take(zc, ch[i].token, 1));
		m->data_off = (uint16_t)RTE_MIN((uint32_t)RTE_PKTMBUF_HEADROOM, ch[i].size);
		m->data_len = 0;
	}
	shmlink_zc_hold(zc, got);
	return got;
}

/* Whether @m is a lent one-segment mbuf (of any queue of this copy of the driver) that
 * nothing else holds. */
static inline bool
zc_lent_alone(const struct rte_mbuf *m)
{
	return m->nb_segs == 1 && RTE_MBUF_HAS_EXTBUF(m) && m->shinfo->free_cb == zc_free_cb &&
			rte_mbuf_refcnt_read(m) == 1 && rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
}

/* Make @m a plain mbuf of its pool again, as rte_pktmbuf_detach() does after freeing
 * the external buffer (which the caller has taken back itself). */
static inline void
zc_mbuf_plain(struct rte_mbuf *m)
{
	uint16_t priv = rte_pktmbuf_priv_size(m->pool);
	uint32_t size = (uint32_t)(sizeof(struct rte_mbuf) + priv);

	m->priv_size = priv;
	m->buf_addr = (char *)m + size;
	rte_mbuf_iova_set(m, rte_mempool_virt2iova(m) + size);
	m->buf_len = rte_pktmbuf_data_room_size(m->pool);
	m->ol_flags = 0;
	m->shinfo = NULL;
}

/* Slots of one object, freed by a thread other than its burst's: onto its return ring
 * (one enqueue for all), then their references. */
struct zc_batch {
	struct shmlink_zc *zc;
	unsigned int n;
	uint32_t idx[ZC_TX_ALLOC_MAX];
};

static void
zc_batch_flush(struct zc_batch *b)
{
	if (b->n == 0)
		return;
	/* The ring holds every slot: it is never full. */
	rte_ring_mp_enqueue_bulk_elem(b->zc->back, b->idx, sizeof(b->idx[0]), b->n, NULL);
	zc_put_n(b->zc, b->n);
	b->n = 0;
}

/* Slots of @own, the burst's own object: straight back to the endpoint. */
struct zc_own {
	unsigned int nt;
	unsigned int back;
	uint64_t tokens[ZC_TX_ALLOC_MAX];
};

static void
zc_own_flush(struct shmlink_ep *ep, struct zc_own *o)
{
	if (o->nt > 0)
		shmlink_ep_tx_return(ep, o->tokens, o->nt);
	o->nt = 0;
}

void
shmlink_zc_sent_free(struct shmlink_zc *own, struct shmlink_ep *ep, struct rte_mbuf **pkts,
		unsigned int n)
{
	struct zc_batch b = { .zc = NULL, .n = 0 };
	struct zc_own o = { .nt = 0, .back = 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct shmlink_zc_slot *s;

		if (!zc_lent_alone(pkts[i]))
			continue;
		s = pkts[i]->shinfo->fcb_opaque;
		if (s->zc == own) {
			if (o.nt == RTE_DIM(o.tokens))
				zc_own_flush(ep, &o);
			o.tokens[o.nt++] = s->token;
			own->free[own->nb_free++] = (uint32_t)(s - own->slots);
			o.back++;
		} else {
			if (s->zc != b.zc || b.n == RTE_DIM(b.idx)) {
				zc_batch_flush(&b);
				b.zc = s->zc;
			}
			b.idx[b.n++] = (uint32_t)(s - s->zc->slots);
		}
		zc_mbuf_plain(pkts[i]);
	}
	zc_own_flush(ep, &o);
	/* Never the last reference of @own: the attachment holds one while a burst runs. */
	if (o.back > 0)
		rte_atomic_fetch_sub_explicit(&own->refs, o.back, rte_memory_order_release);
	zc_batch_flush(&b);
	rte_pktmbuf_free_bulk(pkts, n);
}

void
shmlink_zc_hold(struct shmlink_zc *zc, uint32_t n)
{
	if (n > 0)
		rte_atomic_fetch_add_explicit(&zc->refs, n, rte_memory_order_relaxed);
}

uint32_t
shmlink_zc_lent(const struct shmlink_zc *zc)
{
	uint32_t out = zc->nb_slots - zc->nb_free, back = rte_ring_count(zc->back);

	return out > back ? out - back : 0;
}
