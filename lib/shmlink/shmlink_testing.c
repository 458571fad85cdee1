/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* Test-only access to an endpoint's internals (testing/shmlink_testing.h). */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmlink_frame.h"
#include "testing/shmlink_testing.h"

void
shmlink_testing_ep_get(struct shmlink_ep *ep, struct shmlink_testing_ep *t)
{
	*t = (struct shmlink_testing_ep){
		.txq_ours = ep->ours[EP_TXQ],
		.txq_theirs = ep->theirs[EP_TXQ],
		.rxq_ours = ep->ours[EP_RXQ],
		.rxq_theirs = ep->theirs[EP_RXQ],
		.max_frame = ep->conf.max_frame,
	};
	if (ep->role == SHMLINK_ROLE_CLIENT) {
		t->tx_buf_size = ep->tx.c.buf_size;
		t->rx_buf_size = ep->rx.c.buf_size;
		t->tx_nb_ids = ep->tx.c.nb_ids;
		t->rx_nb_bufs = ep->rx.c.nb_bufs;
	}
}

static int
testing_fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Each of the @n values of @v (taken @stride apart in a ring of @ring from @first) is
 * below @limit and seen once; @seen has @limit bytes. */
static int
testing_once(const uint32_t *v, uint32_t first, uint32_t n, uint32_t ring, uint32_t limit,
		uint8_t *seen, const char *what, char *why, size_t why_len)
{
	uint32_t k;

	memset(seen, 0, limit);
	for (k = 0; k < n; k++) {
		uint32_t x = v[(first + k) % ring];

		if (x >= limit || seen[x])
			return testing_fail(why, why_len, "%s %u out of range or free twice",
					what, x);
		seen[x] = 1;
	}
	return 0;
}

int
shmlink_testing_ep_check(const struct shmlink_ep *ep, char *why, size_t why_len)
{
	const struct client_tx *t = &ep->tx.c;
	const struct client_rx *r = &ep->rx.c;
	uint32_t k, posted = 0, lent = 0;
	uint8_t *seen;
	int rc;

	if (ep->role != SHMLINK_ROLE_CLIENT)
		return 0;
	if (t->nb_free_chunks > t->nb_chunks || t->nb_free_ids > t->nb_ids)
		return testing_fail(why, why_len, "%u of %u chunks, %u of %u ids free",
				t->nb_free_chunks, t->nb_chunks, t->nb_free_ids, t->nb_ids);
	/* The free chunks are a ring: nb_free_chunks of them from chunk_head on. */
	if (t->chunk_head >= t->nb_chunks || t->chunk_tail >= t->nb_chunks ||
			(t->chunk_head + t->nb_free_chunks) % t->nb_chunks != t->chunk_tail)
		return testing_fail(why, why_len, "chunk ring: head %u tail %u, %u free of %u",
				t->chunk_head, t->chunk_tail, t->nb_free_chunks, t->nb_chunks);
	seen = malloc(EP_MAX_BUFFERS);
	if (seen == NULL)
		return testing_fail(why, why_len, "out of memory");
	rc = testing_once(t->free_ids, 0, t->nb_free_ids, t->nb_ids, t->nb_ids, seen,
			"TX id", why, why_len);
	for (k = 0; rc == 0 && k < t->nb_free_ids; k++)
		if (t->id_chunk[t->free_ids[k]] != EP_NONE)
			rc = testing_fail(why, why_len, "TX id %u free while in flight",
					t->free_ids[k]);
	if (rc == 0)
		rc = testing_once(t->free_chunks, t->chunk_head, t->nb_free_chunks,
				t->nb_chunks, t->nb_chunks, seen, "TX chunk", why, why_len);
	free(seen);
	if (rc != 0)
		return rc;
	for (k = 0; k < r->nb_bufs; k++) {
		posted += r->posted[k] == CLIENT_BUF_POSTED;
		lent += r->posted[k] == CLIENT_BUF_LENT;
	}
	if (posted != r->nb_posted ||
			r->nb_posted + r->nb_repost + r->nb_held + lent != r->nb_bufs)
		return testing_fail(why, why_len,
				"RX buffers: %u posted (%u flagged), %u to post, %u held, %u lent, of %u",
				r->nb_posted, posted, r->nb_repost, r->nb_held, lent, r->nb_bufs);
	return 0;
}

void *
shmlink_testing_pipe_tx_push(struct shmlink_pipe_tx *tx, uint32_t size, bool fast)
{
	return fast ? pipe_tx_push(tx, size) : shmlink_pipe_tx_push(tx, size);
}

void
shmlink_testing_pipe_tx_flush(struct shmlink_pipe_tx *tx, bool fast)
{
	if (fast)
		pipe_tx_flush(tx);
	else
		shmlink_pipe_tx_flush(tx);
}

const void *
shmlink_testing_pipe_rx_pull(struct shmlink_pipe_rx *rx, uint32_t *len, bool fast)
{
	return fast ? pipe_rx_pull(rx, len) : shmlink_pipe_rx_pull(rx, len);
}

void
shmlink_testing_pipe_rx_flush(struct shmlink_pipe_rx *rx, bool fast)
{
	if (fast)
		pipe_rx_flush(rx);
	else
		shmlink_pipe_rx_flush(rx);
}

void
shmlink_testing_fill(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used,
		bool fast)
{
	if (fast)
		ep_fill(ep, f, base, bufs, nb, used);
	else
		ep_fill_bufs(ep, f, base, bufs, nb, used);
}

bool
shmlink_testing_frame(struct shmlink_ep *ep, uint8_t *base, const struct shmlink_buf *bufs,
		uint32_t nb, uint32_t wire, struct shmlink_frame *f, struct shmlink_seg *segs,
		bool fast)
{
	return fast ? ep_frame(ep, base, bufs, nb, wire, f, segs) :
			ep_make_frame(ep, base, bufs, nb, wire, f, segs);
}
