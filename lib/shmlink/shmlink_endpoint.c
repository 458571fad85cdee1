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

void *
ep_zalloc(const struct shmlink_ep_conf *conf, size_t n, size_t size, size_t align)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	if (conf->zalloc != NULL)
		return conf->zalloc(bytes, align, conf->mem_arg);
	/* aligned_alloc() wants a multiple of the alignment. */
	bytes = (bytes + align - 1) / align * align;
	p = aligned_alloc(align, bytes);
	if (p != NULL)
		memset(p, 0, bytes);
	return p;
}

void
ep_free(const struct shmlink_ep_conf *conf, void *p)
{
	if (p == NULL)
		return;
	if (conf->free != NULL)
		conf->free(p, conf->mem_arg);
	else
		free(p);
}

const struct ep_role_ops *const ep_role_ops[2] = {
	[SHMLINK_ROLE_CLIENT] = &client_ops,
	[SHMLINK_ROLE_SERVER] = &server_ops,
};

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
	ep = ep_zalloc(conf, 1, sizeof(*ep), EP_CACHE_LINE);
	if (ep == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ep->role = role;
	ep->txdir = role == SHMLINK_ROLE_CLIENT ? EP_TXQ : EP_RXQ;
	ep->conf = *conf;
	if (ep->conf.buffer_size == 0)
		ep->conf.buffer_size = SHMLINK_DEFAULT_BUFFER_SIZE;
	if (ep->conf.max_frame == 0)
		ep->conf.max_frame = SHMLINK_DEFAULT_MAX_FRAME;
	ep->max_wire = ep->conf.max_frame + (ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0);
	/* Only a client trims: gVisor's server over-reports sizes (spec §8.1-1). */
	ep->trims = ep->conf.trim && role == SHMLINK_ROLE_CLIENT;
	ep->rx_plain = !ep->conf.virtio_hdr && !ep->trims;
	ep->rx_trim_eth = !ep->conf.virtio_hdr && ep->trims && !ep->conf.raw_ip;
	if (ep->max_wire < ep->conf.max_frame) {
		ep_free(conf, ep);
		errno = EINVAL;
		return NULL;
	}
	rc = ep_ops(ep)->create(ep, txq, rxq);
	if (rc != 0) {
		ep_free(conf, ep);
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
	if (ep_ops(ep)->destroy != NULL)
		ep_ops(ep)->destroy(ep);
	ep_free(&ep->conf, ep);
}

unsigned int
shmlink_ep_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames, unsigned int n)
{
	if (shmlink_ep_broken(ep))
		return 0;
	return ep_ops(ep)->tx_burst(ep, frames, n);
}

/* shmlink_ep_rx_burst() after a burst its caller did not release: apart, so that the
 * usual path makes no call before the role's and needs no stack frame. */
static __attribute__((noinline)) unsigned int
ep_rx_burst_release_first(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs,
		uint64_t *tokens)
{
	shmlink_ep_rx_release(ep);
	if (shmlink_ep_broken(ep))
		return 0;
	return ep_ops(ep)->rx_burst(ep, frames, max, segs, max_segs, tokens);
}

unsigned int
shmlink_ep_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames, unsigned int max,
		struct shmlink_seg *segs, unsigned int max_segs)
{
	if (ep->rx.pending)
		return ep_rx_burst_release_first(ep, frames, max, segs, max_segs, NULL);
	if (shmlink_ep_broken(ep))
		return 0;
	return ep_ops(ep)->rx_burst(ep, frames, max, segs, max_segs, NULL);
}

unsigned int
shmlink_ep_rx_burst_hold(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs,
		uint64_t *tokens)
{
	if (ep->conf.rx_hold == 0)
		return 0;
	if (ep->rx.pending)
		return ep_rx_burst_release_first(ep, frames, max, segs, max_segs, tokens);
	if (shmlink_ep_broken(ep))
		return 0;
	return ep_ops(ep)->rx_burst(ep, frames, max, segs, max_segs, tokens);
}

void
shmlink_ep_rx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n)
{
	if (n > 0 && ep->conf.rx_hold > 0)
		ep_ops(ep)->rx_return(ep, tokens, n);
}

uint32_t
shmlink_ep_rx_lent(const struct shmlink_ep *ep)
{
	return ep->conf.rx_hold > 0 ? ep_ops(ep)->rx_lent(ep) : 0;
}

unsigned int
shmlink_ep_tx_lend(struct shmlink_ep *ep, struct shmlink_tx_chunk *chunks, unsigned int n)
{
	if (ep->conf.tx_hold == 0 || ep_ops(ep)->tx_lend == NULL || shmlink_ep_broken(ep))
		return 0;
	return ep_ops(ep)->tx_lend(ep, chunks, n);
}

void
shmlink_ep_tx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n)
{
	if (n > 0 && ep->conf.tx_hold > 0 && ep_ops(ep)->tx_return != NULL)
		ep_ops(ep)->tx_return(ep, tokens, n);
}

uint32_t
shmlink_ep_tx_lent(const struct shmlink_ep *ep)
{
	return ep->conf.tx_hold > 0 && ep_ops(ep)->tx_lent != NULL ? ep_ops(ep)->tx_lent(ep) : 0;
}

void
shmlink_ep_rx_release(struct shmlink_ep *ep)
{
	/* Nothing held, nothing reserved: an empty poll releases nothing. */
	if (!ep->rx.pending)
		return;
	ep_ops(ep)->rx_release(ep);
	ep->rx.pending = false;
}

bool
shmlink_ep_rx_idle(const struct shmlink_ep *ep)
{
	const struct shmlink_pipe_rx *p = ep->theirs[EP_OTHER(ep->txdir)];

	/* What else an empty burst does: release the last burst, post buffers again (a
	 * client), or find the ring or the endpoint broken. */
	if (ep->rx.pending || (ep->role == SHMLINK_ROLE_CLIENT && ep->rx.c.nb_repost > 0) ||
			(ep->role == SHMLINK_ROLE_SERVER && ep->rx.s.nb_backlog > 0) ||
			shmlink_ep_broken(ep))
		return false;
	return pipe_rx_empty(p);
}

bool
shmlink_ep_rx_ready(struct shmlink_ep *ep)
{
	struct shmlink_pipe_rx *p = ep->theirs[EP_OTHER(ep->txdir)];
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
	return ep->rx_notify;
}

bool
shmlink_ep_tx_signal(struct shmlink_ep *ep)
{
	return ep_tx_signal(ep, ep->tx_notify);
}

bool
shmlink_ep_tx_signal_fd(struct shmlink_ep *ep, int efd)
{
	struct shmlink_notify n = { .word = ep->tx_notify->word, .efd = efd };

	return ep_tx_signal(ep, &n);
}

bool
shmlink_ep_tx_peer_waits(const struct shmlink_ep *ep)
{
	return shmlink_notify_wanted(ep->tx_notify);
}

bool
shmlink_ep_tx_ready(const struct shmlink_ep *ep)
{
	return ep_ops(ep)->tx_ready == NULL || ep_ops(ep)->tx_ready(ep);
}

uint16_t
shmlink_ep_offloads(const struct shmlink_ep *ep)
{
	return ep->conf.offloads;
}

bool
shmlink_ep_broken(const struct shmlink_ep *ep)
{
	return ep->ours[EP_TXQ]->broken || ep->ours[EP_RXQ]->broken ||
		ep->theirs[EP_TXQ]->broken || ep->theirs[EP_RXQ]->broken;
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
	to->tx_in_place += from->tx_in_place;
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

void
shmlink_ep_buffers_get(const struct shmlink_ep *ep, struct shmlink_ep_buffers *b)
{
	memset(b, 0, sizeof(*b));
	if (ep_ops(ep)->buffers_get != NULL)
		ep_ops(ep)->buffers_get(ep, b);
}

void
shmlink_ep_rings_get(const struct shmlink_ep *ep, struct shmlink_ep_rings *r)
{
	/* Our writers, in the order of struct shmlink_ep_rings: our transmit direction's,
	 * then our receive direction's. */
	const struct shmlink_pipe_tx *a = ep->ours[ep->txdir];
	const struct shmlink_pipe_tx *b = ep->ours[EP_OTHER(ep->txdir)];

	r->used[0] = shmlink_pipe_tx_used(a);
	r->used[1] = shmlink_pipe_tx_used(b);
	r->size[0] = a->ring_len;
	r->size[1] = b->ring_len;
}
