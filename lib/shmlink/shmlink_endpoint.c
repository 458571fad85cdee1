/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <stdlib.h>

#include "shmlink_ep_priv.h"

#if defined(__x86_64__)
#include <cpuid.h>

bool ep_copy_avx2;
static bool ep_clflushopt;

__attribute__((constructor)) static void
ep_copy_init(void)
{
	unsigned int a, b, c, d;

	__builtin_cpu_init();
	ep_copy_avx2 = __builtin_cpu_supports("avx2");
	/* CPUID leaf 7, EBX bit 23: CLFLUSHOPT. */
	ep_clflushopt = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23)) != 0;
}
#endif

bool
shmlink_frame_evict_works(void)
{
#if defined(__x86_64__)
	return ep_clflushopt;
#else
	return false;
#endif
}

/*
 * No fence after the flushes: they are hints. If the peer writes a line before its flush
 * is done, the flush writes the new bytes back, and coherence keeps them right.
 */
void
shmlink_frame_evict(const struct shmlink_frame *f)
{
#if defined(__x86_64__)
	uint32_t i;

	if (!ep_clflushopt)
		return;
	for (i = 0; i < f->nb_segs; i++) {
		uintptr_t p = (uintptr_t)f->segs[i].addr & ~(uintptr_t)(EP_CACHE_LINE - 1);
		uintptr_t end = (uintptr_t)f->segs[i].addr + f->segs[i].len;

		/* The first and last lines are those of the segment's first and last
		 * bytes: inside the mapped region. */
		for (; p < end && f->segs[i].len > 0; p += EP_CACHE_LINE)
			__asm__ volatile("clflushopt %0" : "+m" (*(volatile char *)p));
	}
#else
	(void)f;
#endif
}

static const char *const ep_err_names[SHMLINK_ERR_COUNT] = {
	[SHMLINK_ERR_RING] = "ring_damaged",
	[SHMLINK_ERR_TX_DESC] = "bad_tx_descriptor",
	[SHMLINK_ERR_TX_COMPL] = "bad_tx_completion",
	[SHMLINK_ERR_POSTED_BUF] = "bad_posted_buffer",
	[SHMLINK_ERR_RX_COMPL] = "bad_rx_completion",
};

const char *
shmlink_err_name(enum shmlink_err e)
{
	if ((unsigned int)e >= SHMLINK_ERR_COUNT)
		return "unknown";
	return ep_err_names[e];
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void
ep_fill_bufs(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used)
{
	struct ep_cursor cur = { .seg = f->segs, .off = 0 };
	uint32_t hdr = ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	uint32_t left = f->len;
	uint32_t i;

	/* The common case: one piece into one buffer. */
	if (nb == 1 && hdr == 0 && f->nb_segs == 1) {
		memcpy(base + bufs[0].offset, f->segs[0].addr, left);
		used[0] = left;
		return;
	}
	for (i = 0; i < nb; i++) {
		uint8_t *dst = base + bufs[i].offset;
		uint32_t room = bufs[i].size;
		uint32_t n = 0, c;

		if (hdr > 0) {
			/* gVisor writes an all-zero header: no flags, no GSO. */
			n = min_u32(hdr, room);
			memset(dst, 0, n);
			hdr -= n;
		}
		c = min_u32(room - n, left);
		ep_cursor_copy(&cur, dst + n, c);
		left -= c;
		used[i] = n + c;
	}
}

/* Gather the first @len bytes of a frame into @dst; returns how many there were. */
static uint32_t
ep_peek(const struct shmlink_frame *f, uint8_t *dst, uint32_t len)
{
	struct ep_cursor cur = { .seg = f->segs, .off = 0 };

	len = min_u32(len, f->len);
	ep_cursor_copy(&cur, dst, len);
	return len;
}

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

#define ETH_HDR_LEN	14u
#define VLAN_HDR_LEN	4u
#define ETYPE_IPV4	0x0800u
#define ETYPE_IPV6	0x86ddu
#define ETYPE_ARP	0x0806u
#define ETYPE_VLAN	0x8100u
#define IPV6_HDR_LEN	40u

/*
 * The length the frame's own headers claim: L2 header plus IPv4 total length, IPv6
 * header plus payload length, or the ARP message. 0 if it cannot tell.
 */
static uint32_t
ep_l3_frame_len(const struct shmlink_ep *ep, const struct shmlink_frame *f)
{
	uint8_t h[ETH_HDR_LEN + VLAN_HDR_LEN + IPV6_HDR_LEN];
	uint32_t have;

	/* Copy the headers once (the peer may rewrite them), in one go if they lie in
	 * the first piece. */
	if (f->segs[0].len >= sizeof(h)) {
		memcpy(h, f->segs[0].addr, sizeof(h));
		have = sizeof(h);
	} else {
		have = ep_peek(f, h, sizeof(h));
	}
	uint32_t l2 = 0, etype = 0;
	const uint8_t *l3;

	if (!ep->conf.raw_ip) {
		if (have < ETH_HDR_LEN)
			return 0;
		l2 = ETH_HDR_LEN;
		etype = be16(h + 12);
		if (etype == ETYPE_VLAN) {
			if (have < ETH_HDR_LEN + VLAN_HDR_LEN)
				return 0;
			l2 += VLAN_HDR_LEN;
			etype = be16(h + 16);
		}
	}
	l3 = h + l2;
	if (have < l2 + 8)
		return 0;
	if (ep->conf.raw_ip)
		etype = (l3[0] >> 4) == 4 ? ETYPE_IPV4 : (l3[0] >> 4) == 6 ? ETYPE_IPV6 : 0;
	switch (etype) {
	case ETYPE_IPV4:
		return be16(l3 + 2) >= 20 ? l2 + be16(l3 + 2) : 0;
	case ETYPE_IPV6:
		return l2 + IPV6_HDR_LEN + be16(l3 + 4);
	case ETYPE_ARP:
		/* fixed part, then two hardware and two protocol addresses */
		return l2 + 8 + 2u * l3[4] + 2u * l3[5];
	default:
		return 0;
	}
}

static void
ep_trim(struct shmlink_ep *ep, struct shmlink_frame *f)
{
	uint32_t want = ep_l3_frame_len(ep, f);
	uint32_t left, i;

	if (want == 0 || want >= f->len)
		return;
	left = want;
	for (i = 0; i < f->nb_segs; i++) {
		if (f->segs[i].len >= left) {
			f->segs[i].len = left;
			break;
		}
		left -= f->segs[i].len;
	}
	f->nb_segs = left == 0 ? i : i + 1;
	f->len = want;
	ep->rx.st.rx_trimmed++;
}

bool
ep_make_frame(struct shmlink_ep *ep, uint8_t *base, const struct shmlink_buf *bufs,
		uint32_t nb, uint32_t wire, struct shmlink_frame *f, struct shmlink_seg *segs)
{
	uint32_t skip = ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	uint32_t left = wire, k = 0, i;
	bool client_trims = ep->conf.trim && ep->role == SHMLINK_ROLE_CLIENT;

	if (wire <= skip) {
		ep->rx.st.rx_runt++;
		return false;
	}
	/* A client that trims judges the length after trimming: gVisor's server reports
	 * whole posted buffers (spec §8.1-1), longer than the frame. */
	if (wire > ep->max_wire && !client_trims) {
		ep->rx.st.rx_oversize++;
		return false;
	}
	f->segs = segs;
	/* The common case: a whole frame in its first buffer, no header to skip. */
	if (skip == 0 && bufs[0].size >= wire) {
		segs[0].addr = base + bufs[0].offset;
		segs[0].len = wire;
		f->nb_segs = 1;
		f->len = wire;
		goto trim;
	}
	for (i = 0; i < nb && left > 0; i++) {
		uint32_t n = min_u32(bufs[i].size, left);
		uint32_t off = min_u32(skip, n);

		left -= n;
		skip -= off;
		if (n > off) {
			segs[k].addr = base + bufs[i].offset + off;
			segs[k].len = n - off;
			k++;
		}
	}
	f->nb_segs = k;
	f->len = wire - (ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0);
trim:
	if (client_trims) {
		ep_trim(ep, f);
		if (f->len > ep->conf.max_frame) {
			ep->rx.st.rx_oversize++;
			return false;
		}
	}
	return true;
}

struct shmlink_ep *
shmlink_ep_create(enum shmlink_role role, const struct shmlink_qmap *txq,
		const struct shmlink_qmap *rxq, const struct shmlink_ep_conf *conf)
{
	struct shmlink_ep *ep;
	int rc;

	if (txq == NULL || rxq == NULL || conf == NULL ||
			(role != SHMLINK_ROLE_CLIENT && role != SHMLINK_ROLE_SERVER)) {
		errno = EINVAL;
		return NULL;
	}
	ep = aligned_alloc(EP_CACHE_LINE, sizeof(*ep));
	if (ep == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(ep, 0, sizeof(*ep));
	ep->role = role;
	ep->conf = *conf;
	if (ep->conf.buffer_size == 0)
		ep->conf.buffer_size = SHMLINK_DEFAULT_BUFFER_SIZE;
	if (ep->conf.max_frame == 0)
		ep->conf.max_frame = SHMLINK_DEFAULT_MAX_FRAME;
	ep->max_wire = ep->conf.max_frame + (ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0);
	ep->rx_plain = !ep->conf.virtio_hdr && !(ep->conf.trim && role == SHMLINK_ROLE_CLIENT);
	ep->rx_trim_eth = !ep->conf.virtio_hdr && ep->conf.trim && role == SHMLINK_ROLE_CLIENT &&
			!ep->conf.raw_ip;
	if (ep->max_wire < ep->conf.max_frame) {
		free(ep);
		errno = EINVAL;
		return NULL;
	}
	rc = role == SHMLINK_ROLE_CLIENT ? client_create(ep, txq, rxq) :
			server_create(ep, txq, rxq);
	if (rc != 0) {
		free(ep);
		errno = -rc;
		return NULL;
	}
	return ep;
}

void
shmlink_ep_destroy(struct shmlink_ep *ep)
{
	if (ep == NULL)
		return;
	if (ep->role == SHMLINK_ROLE_CLIENT)
		client_destroy(ep);
	free(ep);
}

unsigned int
shmlink_ep_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames, unsigned int n)
{
	if (shmlink_ep_broken(ep))
		return 0;
	if (ep->role == SHMLINK_ROLE_CLIENT)
		return client_tx_burst(ep, frames, n);
	return server_tx_burst(ep, frames, n);
}

unsigned int
shmlink_ep_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames, unsigned int max,
		struct shmlink_seg *segs, unsigned int max_segs)
{
	if (ep->rx.pending)
		shmlink_ep_rx_release(ep);
	if (shmlink_ep_broken(ep))
		return 0;
	if (ep->role == SHMLINK_ROLE_CLIENT)
		return client_rx_burst(ep, frames, max, segs, max_segs);
	return server_rx_burst(ep, frames, max, segs, max_segs);
}

void
shmlink_ep_rx_release(struct shmlink_ep *ep)
{
	/* Nothing held, nothing reserved: an empty poll releases nothing. */
	if (!ep->rx.pending)
		return;
	if (ep->role == SHMLINK_ROLE_CLIENT)
		client_rx_release(ep);
	else
		server_rx_release(ep);
	ep->rx.pending = false;
}

static struct shmlink_pipe_rx *
ep_rx_pipe(struct shmlink_ep *ep)
{
	return ep->role == SHMLINK_ROLE_CLIENT ? &ep->rx.c.compl : &ep->rx.s.desc;
}

bool
shmlink_ep_rx_ready(struct shmlink_ep *ep)
{
	struct shmlink_pipe_rx *p = ep_rx_pipe(ep);
	uint64_t mark = shmlink_pipe_rx_mark(p);
	uint32_t len;
	bool ready;

	ready = pipe_rx_pull(p, &len) != NULL || p->broken;
	shmlink_pipe_rx_rewind(p, mark);
	return ready;
}

const struct shmlink_notify *
shmlink_ep_rx_notify(const struct shmlink_ep *ep)
{
	return ep->role == SHMLINK_ROLE_CLIENT ? &ep->rx.c.notify : &ep->rx.s.notify;
}

/* The notification of our transmit direction: the peer's word and eventfd. */
static const struct shmlink_notify *
ep_tx_notify(const struct shmlink_ep *ep)
{
	return ep->role == SHMLINK_ROLE_CLIENT ? &ep->tx.c.notify : &ep->tx.s.notify;
}

bool
shmlink_ep_tx_signal(struct shmlink_ep *ep)
{
	return ep_tx_signal(ep, ep_tx_notify(ep));
}

bool
shmlink_ep_tx_peer_waits(const struct shmlink_ep *ep)
{
	return shmlink_notify_wanted(ep_tx_notify(ep));
}

bool
shmlink_ep_broken(const struct shmlink_ep *ep)
{
	if (ep->role == SHMLINK_ROLE_CLIENT)
		return ep->tx.c.desc.broken || ep->tx.c.compl.broken ||
			ep->rx.c.fill.broken || ep->rx.c.compl.broken;
	return ep->tx.s.fill.broken || ep->tx.s.compl.broken ||
		ep->rx.s.desc.broken || ep->rx.s.compl.broken;
}

void
shmlink_ep_stats_add(struct shmlink_ep_stats *to, const struct shmlink_ep_stats *from)
{
	int i;

	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		to->err[i] += from->err[i];
	to->rx_oversize += from->rx_oversize;
	to->rx_runt += from->rx_runt;
	to->rx_trimmed += from->rx_trimmed;
	to->tx_oversize += from->tx_oversize;
	to->signals += from->signals;
}

void
shmlink_ep_stats_get(const struct shmlink_ep *ep, struct shmlink_ep_stats *st)
{
	memset(st, 0, sizeof(*st));
	shmlink_ep_stats_add(st, &ep->tx.st);
	shmlink_ep_stats_add(st, &ep->rx.st);
	/* A damaged ring is seen by the pipe layer; report it once per endpoint. */
	if (st->err[SHMLINK_ERR_RING] == 0 && shmlink_ep_broken(ep))
		st->err[SHMLINK_ERR_RING] = 1;
}

enum shmlink_role
shmlink_ep_role(const struct shmlink_ep *ep)
{
	return ep->role;
}

void
shmlink_ep_buffers_get(const struct shmlink_ep *ep, struct shmlink_ep_buffers *b)
{
	memset(b, 0, sizeof(*b));
	if (ep->role != SHMLINK_ROLE_CLIENT)
		return;
	b->tx_chunks = ep->tx.c.nb_chunks;
	b->tx_chunks_inflight = ep->tx.c.nb_chunks - ep->tx.c.nb_free_chunks;
	b->rx_bufs = ep->rx.c.nb_bufs;
	b->rx_bufs_posted = ep->rx.c.nb_posted;
}

/* Bytes between what we will write next and what the reader last gave back. */
static uint64_t
ep_pipe_used(const struct shmlink_pipe_tx *t)
{
	uint64_t free_ahead = t->head - t->next;	/* reclaimed, not yet written */

	/* Across a revolution, the index space skips the bytes [ring_len, 2^32). */
	if ((t->head >> 32) != (t->next >> 32))
		free_ahead -= (UINT64_C(1) << 32) - t->ring_len;
	return free_ahead >= t->ring_len ? 0 : t->ring_len - free_ahead;
}

void
shmlink_ep_rings_get(const struct shmlink_ep *ep, struct shmlink_ep_rings *r)
{
	const struct shmlink_pipe_tx *a, *b;

	if (ep->role == SHMLINK_ROLE_CLIENT) {
		a = &ep->tx.c.desc;
		b = &ep->rx.c.fill;
	} else {
		a = &ep->tx.s.compl;
		b = &ep->rx.s.compl;
	}
	r->used[0] = ep_pipe_used(a);
	r->used[1] = ep_pipe_used(b);
	r->size[0] = a->ring_len;
	r->size[1] = b->ring_len;
}
