/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The client role, as gVisor's sharedmem.New (spec §6.1, §6.2). The client owns both
 * data regions: TX data is a pool of buffer_size chunks lent to the server per frame
 * until its completion comes back; RX data is a set of buffers posted to the server,
 * buffer i at offset i * buffer_size with id i, re-posted once their frame is consumed.
 */

#include <errno.h>
#include <stdlib.h>

#include "shmlink_frame.h"

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void *
client_array(const struct shmlink_ep *ep, uint32_t n, size_t size)
{
	return ep_zalloc(&ep->conf, n, size, sizeof(uint32_t));
}

static int
client_tx_create(struct shmlink_ep *ep, const struct shmlink_qmap *txq)
{
	struct client_tx *t = &ep->tx.c;
	uint32_t i;

	if (shmlink_pipe_tx_init(&t->desc, txq->tx_pipe, txq->tx_pipe_size) != 0 ||
			shmlink_pipe_rx_init(&t->compl, txq->rx_pipe, txq->rx_pipe_size) != 0)
		return -EINVAL;
	t->notify = txq->notify;
	t->data = txq->data;
	t->buf_size = ep->conf.buffer_size;
	t->buf_shift = (t->buf_size & (t->buf_size - 1)) == 0 ?
			(uint32_t)__builtin_ctz(t->buf_size) : 0;
	t->nb_chunks = (uint32_t)min_u64(txq->data_size / t->buf_size, EP_MAX_BUFFERS);
	/* The server pushes one completion per frame and gVisor's panics when that pipe
	 * is full (spec §8.1-2): never have more frames in flight than it holds. */
	t->nb_ids = (uint32_t)min_u64(t->nb_chunks,
			shmlink_pipe_capacity(t->compl.ring_len, SHMLINK_TXC_SIZE));
	if (t->nb_chunks == 0 || t->nb_ids == 0)
		return -EINVAL;
	t->free_chunks = client_array(ep, t->nb_chunks, sizeof(uint32_t));
	t->chunk_next = client_array(ep, t->nb_chunks, sizeof(uint32_t));
	t->id_chunk = client_array(ep, t->nb_ids, sizeof(uint32_t));
	t->free_ids = client_array(ep, t->nb_ids, sizeof(uint32_t));
	if (ep->conf.tx_hold > 0) {
		t->chunk_state = client_array(ep, t->nb_chunks, 1);
		t->chunk_gen = client_array(ep, t->nb_chunks, sizeof(uint32_t));
	}
	if (t->free_chunks == NULL || t->chunk_next == NULL || t->id_chunk == NULL ||
			t->free_ids == NULL || (ep->conf.tx_hold > 0 &&
			(t->chunk_state == NULL || t->chunk_gen == NULL)))
		return -ENOMEM;
	/* Chunk 0 and id 0 come out first. */
	for (i = 0; i < t->nb_chunks; i++)
		t->free_chunks[i] = i;
	t->nb_free_chunks = t->nb_chunks;
	t->chunk_head = 0;
	t->chunk_tail = 0;
	for (i = 0; i < t->nb_ids; i++) {
		t->free_ids[i] = t->nb_ids - 1 - i;
		t->id_chunk[i] = EP_NONE;
	}
	t->nb_free_ids = t->nb_ids;
	return 0;
}

static void client_rx_post(struct client_rx *r);

static int
client_rx_create(struct shmlink_ep *ep, const struct shmlink_qmap *rxq)
{
	struct client_rx *r = &ep->rx.c;
	uint64_t avail, reserve, nb;
	uint32_t i;

	if (shmlink_pipe_tx_init(&r->fill, rxq->tx_pipe, rxq->tx_pipe_size) != 0 ||
			shmlink_pipe_rx_init(&r->compl, rxq->rx_pipe, rxq->rx_pipe_size) != 0)
		return -EINVAL;
	r->notify = rxq->notify;
	r->data = rxq->data;
	r->buf_size = ep->conf.buffer_size;
	/*
	 * Post no more than the fill pipe holds, and few enough that the completions for
	 * all of them fit the completion pipe with room for one large frame's record:
	 * gVisor's server loses buffers when that pipe is full (spec §8.1-3).
	 */
	nb = min_u64(rxq->data_size / r->buf_size,
			shmlink_pipe_capacity(r->fill.ring_len, SHMLINK_RXP_SIZE));
	avail = r->compl.ring_len - SHMLINK_PIPE_HDR_SIZE;
	reserve = min_u64(shmlink_pipe_slot_bytes(shmlink_rxc_len(SHMLINK_FRAME_MAX_BUFS)),
			avail / 2);
	nb = min_u64(nb, (avail - reserve) / shmlink_pipe_slot_bytes(shmlink_rxc_len(1)));
	nb = min_u64(nb, EP_MAX_BUFFERS);
	if (nb == 0)
		return -EINVAL;
	r->nb_bufs = (uint32_t)nb;
	r->posted = client_array(ep, r->nb_bufs, 1);
	r->repost = client_array(ep, r->nb_bufs, sizeof(uint32_t));
	r->held = client_array(ep, r->nb_bufs, sizeof(uint32_t));
	if (ep->conf.rx_hold > 0) {
		r->lent_next = client_array(ep, r->nb_bufs, sizeof(uint32_t));
		r->lent_gen = client_array(ep, r->nb_bufs, sizeof(uint32_t));
	}
	if (r->posted == NULL || r->repost == NULL || r->held == NULL ||
			(ep->conf.rx_hold > 0 && (r->lent_next == NULL || r->lent_gen == NULL)))
		return -ENOMEM;
	for (i = 0; i < r->nb_bufs; i++)
		r->repost[i] = r->nb_bufs - 1 - i;
	r->nb_repost = r->nb_bufs;
	shmlink_notify_disarm(&r->notify);
	client_rx_post(r);
	return 0;
}

static void
client_destroy(struct shmlink_ep *ep)
{
	const struct shmlink_ep_conf *c = &ep->conf;

	ep_free(c, ep->tx.c.free_chunks);
	ep_free(c, ep->tx.c.chunk_next);
	ep_free(c, ep->tx.c.id_chunk);
	ep_free(c, ep->tx.c.free_ids);
	ep_free(c, ep->tx.c.chunk_state);
	ep_free(c, ep->tx.c.chunk_gen);
	ep_free(c, ep->rx.c.posted);
	ep_free(c, ep->rx.c.repost);
	ep_free(c, ep->rx.c.held);
	ep_free(c, ep->rx.c.lent_next);
	ep_free(c, ep->rx.c.lent_gen);
}

static int
client_create(struct shmlink_ep *ep, const struct shmlink_qmap *txq,
		const struct shmlink_qmap *rxq)
{
	int rc;

	rc = client_tx_create(ep, txq);
	if (rc == 0)
		rc = client_rx_create(ep, rxq);
	if (rc != 0) {
		client_destroy(ep);
		return rc;
	}
	ep->ours[EP_TXQ] = &ep->tx.c.desc;
	ep->theirs[EP_TXQ] = &ep->tx.c.compl;
	ep->ours[EP_RXQ] = &ep->rx.c.fill;
	ep->theirs[EP_RXQ] = &ep->rx.c.compl;
	ep->rx_notify = &ep->rx.c.notify;
	ep->tx_notify = &ep->tx.c.notify;
	return 0;
}

/*
 * The chunk pool is first in first out, unlike gVisor's (the wire does not care which
 * chunk a frame uses): a chunk comes back into use after every other free one, by when
 * the server's CPU, which read it last, has most likely let go of its lines. Reusing
 * the chunk completed last makes every store of the next copy wait for the server's
 * CPU to give up a line it has just read.
 */
static inline uint32_t
client_chunk_take(struct client_tx *t)
{
	uint32_t c = t->free_chunks[t->chunk_head];

	if (++t->chunk_head == t->nb_chunks)
		t->chunk_head = 0;
	t->nb_free_chunks--;
	return c;
}

/* Chunks are unique, so the ring never holds more than nb_chunks. */
static inline void
client_chunk_put(struct client_tx *t, uint32_t c)
{
	t->free_chunks[t->chunk_tail] = c;
	if (++t->chunk_tail == t->nb_chunks)
		t->chunk_tail = 0;
	t->nb_free_chunks++;
}

/* Chunk @c of a completed frame: back to the pool, unless still lent (tx_hold). */
static inline void
client_chunk_done(struct client_tx *t, uint32_t c)
{
	if (t->chunk_state != NULL) {
		t->chunk_state[c] &= ~CHUNK_FLY;
		if (t->chunk_state[c] != 0)
			return;
	}
	client_chunk_put(t, c);
}

/* Take back the chunks of every completed frame. */
static void
client_tx_reap(struct shmlink_ep *ep)
{
	struct client_tx *t = &ep->tx.c;
	bool pulled = false;
	const void *rec;
	uint32_t len;

	/* Bounded: the reader never gets more than one ring ahead of its last flush. */
	while ((rec = pipe_rx_pull(&t->compl, &len)) != NULL) {
		uint32_t c, n;
		uint64_t id;

		if (!pulled) {
			/* The server has completed frames: fetch the next ones' lines
			 * together rather than one miss after the other. */
			pipe_rx_prefetch(&t->compl, EP_PREFETCH_SLOTS *
					shmlink_pipe_slot_bytes(SHMLINK_TXC_SIZE));
			pulled = true;
		}
		if (q_txc_decode(rec, len, &id) != 0 || id >= t->nb_ids ||
				t->id_chunk[id] == EP_NONE) {
			ep->tx.st.err[SHMLINK_ERR_TX_COMPL]++;
			continue;
		}
		for (c = t->id_chunk[id], n = 0; c != EP_NONE && n < t->nb_chunks; n++) {
			client_chunk_done(t, c);
			c = t->chunk_next[c];
		}
		t->id_chunk[id] = EP_NONE;
		t->free_ids[t->nb_free_ids++] = (uint32_t)id;
	}
	pipe_rx_flush(&t->compl);
}

/* Append chunk @c to frame @id's chain, whose last chunk is *@prev (EP_NONE: none yet). */
static inline void
client_chain_add(struct client_tx *t, uint32_t id, uint32_t *prev, uint32_t c)
{
	t->chunk_next[c] = EP_NONE;
	if (*prev == EP_NONE)
		t->id_chunk[id] = c;
	else
		t->chunk_next[*prev] = c;
	*prev = c;
}

/* Lend @nb chunks to frame @id; fill @bufs with where the frame's @wire bytes go. */
static void
client_tx_take(struct client_tx *t, uint32_t id, uint32_t nb, uint32_t wire,
		struct shmlink_buf *bufs)
{
	uint32_t k, prev = EP_NONE;

	for (k = 0; k < nb; k++) {
		uint32_t c = client_chunk_take(t);
		uint32_t left = wire - k * t->buf_size;

		bufs[k].offset = (uint64_t)c * t->buf_size;
		bufs[k].size = left < t->buf_size ? left : t->buf_size;
		client_chain_add(t, id, &prev, c);
	}
}

/* Undo client_tx_take() for a frame that could not be pushed. */
static void
client_tx_give_back(struct client_tx *t, uint32_t id)
{
	uint32_t c = t->id_chunk[id];

	while (c != EP_NONE) {
		client_chunk_put(t, c);
		c = t->chunk_next[c];
	}
	t->id_chunk[id] = EP_NONE;
	t->free_ids[t->nb_free_ids++] = id;
}

/* tx_hold: the chunk that @len bytes at @p lie in, if it is lent and not in flight;
 * EP_NONE otherwise. */
static uint32_t
client_tx_lent_chunk(const struct client_tx *t, const uint8_t *p, uint32_t len)
{
	uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)t->data), c;

	/* Most frames of a lending port are elsewhere: one compare for them. */
	if ((uintptr_t)p < (uintptr_t)t->data || off >= (uint64_t)t->nb_chunks * t->buf_size)
		return EP_NONE;
	/* A frame's chunk on every frame sent in place: no division for the usual sizes. */
	c = t->buf_shift != 0 ? off >> t->buf_shift : off / t->buf_size;
	if (len == 0 || t->chunk_state[c] != CHUNK_LENT || len > (c + 1) * t->buf_size - off)
		return EP_NONE;
	return (uint32_t)c;
}

/* Undo client_tx_place() of frame @id's first @nb buffers @bufs. */
static void
client_tx_unplace(struct client_tx *t, uint32_t id, const struct shmlink_buf *bufs, uint32_t nb)
{
	uint32_t k;

	for (k = 0; k < nb; k++)
		t->chunk_state[bufs[k].offset / t->buf_size] &= ~CHUNK_FLY;
	t->id_chunk[id] = EP_NONE;
}

/*
 * tx_hold: describe frame @f in @bufs where it lies, with @vh bytes of virtio header
 * before its first piece, if every piece is in a lent chunk not in flight, one chunk
 * each; mark those chunks in flight and chain them as frame @id's. Returns how many
 * buffers, or 0 (nothing marked): the frame is copied.
 */
static uint32_t
client_tx_place(struct client_tx *t, const struct shmlink_frame *f, uint32_t vh, uint32_t id,
		struct shmlink_buf *bufs)
{
	uint32_t k, c = EP_NONE, prev = EP_NONE;

	if (f->nb_segs == 0 || f->nb_segs > SHMLINK_FRAME_MAX_BUFS)
		return 0;
	for (k = 0; k < f->nb_segs; k++) {
		uint32_t pre = k == 0 ? vh : 0;
		const uint8_t *p = (const uint8_t *)f->segs[k].addr - pre;

		c = client_tx_lent_chunk(t, p, f->segs[k].len + pre);
		if (c == EP_NONE)
			break;
		t->chunk_state[c] |= CHUNK_FLY;
		client_chain_add(t, id, &prev, c);
		bufs[k].offset = (uint64_t)(p - t->data);
		bufs[k].size = f->segs[k].len + pre;
	}
	if (c != EP_NONE)
		return k;
	client_tx_unplace(t, id, bufs, k);
	return 0;
}

/*
 * tx_hold: send frame @f where the caller built it, if it lies in lent chunks (with an
 * id free). Returns 1 if pushed, 0 if it is to be copied, -1 if the descriptor pipe is
 * full. A frame in more pieces than a copy takes chunks is copied when its descriptor
 * does not fit: in a small pipe it may never fit, and the frame would block the queue.
 */
static int
client_tx_placed(struct shmlink_ep *ep, const struct shmlink_frame *f, uint32_t vh,
		struct shmlink_buf *bufs)
{
	struct client_tx *t = &ep->tx.c;
	uint32_t id = t->free_ids[t->nb_free_ids - 1];
	uint32_t nb = client_tx_place(t, f, vh, id, bufs);

	if (nb == 0)
		return 0;
	if (q_txd_push(&t->desc, id, f->len + vh, bufs, nb) != 0) {
		client_tx_unplace(t, id, bufs, nb);
		return nb > (f->len + vh + t->buf_size - 1) / t->buf_size ? 0 : -1;
	}
	t->nb_free_ids--;
	ep->tx.st.tx_in_place++;
	/* gVisor writes an all-zero header: no flags, no GSO. */
	if (vh > 0)
		memset(t->data + bufs[0].offset, 0, vh);
	return 1;
}

static unsigned int
client_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames, unsigned int n)
{
	struct client_tx *t = &ep->tx.c;
	struct shmlink_buf bufs[SHMLINK_FRAME_MAX_BUFS];
	uint32_t used[SHMLINK_FRAME_MAX_BUFS];
	uint32_t vh = ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	unsigned int i, sent = 0;

	client_tx_reap(ep);
	/* The server read these slots last: ask for all of them before writing any. */
	pipe_tx_prefetch(&t->desc, (uint64_t)n * shmlink_pipe_slot_bytes(shmlink_txd_len(1)));
	for (i = 0; i < n; i++) {
		uint64_t wire = (uint64_t)frames[i].len + vh;
		uint64_t nb = (wire + t->buf_size - 1) / t->buf_size;
		uint32_t id;

		if (frames[i].len == 0 || nb > SHMLINK_FRAME_MAX_BUFS || nb > t->nb_chunks) {
			ep->tx.st.tx_oversize++;
			continue;
		}
		if (t->nb_free_ids == 0)
			break;
		if (t->chunk_state != NULL) {
			int rc = client_tx_placed(ep, &frames[i], vh, bufs);

			if (rc < 0)
				break;
			if (rc > 0) {
				sent++;
				continue;
			}
		}
		if (nb > t->nb_free_chunks)
			break;
		id = t->free_ids[--t->nb_free_ids];
		client_tx_take(t, id, (uint32_t)nb, (uint32_t)wire, bufs);
		/* Nothing is visible to the server before the flush, so the data may follow
		 * the descriptor. */
		if (q_txd_push(&t->desc, id, (uint32_t)wire, bufs, (uint32_t)nb) != 0) {
			client_tx_give_back(t, id);
			break;
		}
		/* The next frame's first chunk is the head of the pool now. */
		if (i + 1 < n && t->nb_free_chunks > 0)
			ep_prefetch_w(t->data + (uint64_t)t->free_chunks[t->chunk_head] *
					t->buf_size, min_u32(frames[i + 1].len + vh,
					t->buf_size));
		ep_fill(ep, &frames[i], t->data, bufs, (uint32_t)nb, used);
		sent++;
	}
	if (sent > 0) {
		pipe_tx_flush(&t->desc);
		if (!ep->conf.defer_signals)
			ep_tx_signal(ep, &t->notify);
	}
	return i;
}

/* Post every buffer waiting to go back to the server; one flush. */
static void
client_rx_post(struct client_rx *r)
{
	pipe_tx_prefetch(&r->fill, (uint64_t)min_u32(r->nb_repost, 2 * EP_PREFETCH_SLOTS) *
			shmlink_pipe_slot_bytes(SHMLINK_RXP_SIZE));
	while (r->nb_repost > 0) {
		uint32_t id = r->repost[r->nb_repost - 1];
		struct shmlink_buf b = {
			.offset = (uint64_t)id * r->buf_size,
			.size = r->buf_size,
			.userdata = 0,
			.id = id,
		};

		if (q_rxp_push(&r->fill, &b) != 0)
			break;
		r->posted[id] = CLIENT_BUF_POSTED;
		r->nb_posted++;
		r->nb_repost--;
	}
	pipe_tx_flush(&r->fill);
}

/*
 * Take back the buffers a completion names, if they are ours and with the server
 * (spec §8.2: id known and posted, offset as posted, size within the buffer).
 * Returns false if anything was wrong; buffers whose ids check out are taken back all
 * the same.
 */
static bool
client_rx_take(struct client_rx *r, struct shmlink_buf *bufs, uint32_t nb, uint32_t total)
{
	uint64_t sum = 0;
	bool ok = true;
	uint32_t k;

	for (k = 0; k < nb; k++) {
		uint64_t id = bufs[k].id;

		if (id >= r->nb_bufs || r->posted[id] != CLIENT_BUF_POSTED) {
			ok = false;
			continue;
		}
		/* The id is ours and with the server: take the buffer back whatever the
		 * rest says, so a bad record cannot make us lose it. */
		r->posted[id] = CLIENT_BUF_OURS;
		r->nb_posted--;
		r->held[r->nb_held++] = (uint32_t)id;
		if (bufs[k].offset != id * r->buf_size || bufs[k].size > r->buf_size)
			ok = false;
		sum += bufs[k].size;
	}
	return ok && sum >= total;
}

/* The buffers held since @from, to post again. */
static void
client_rx_unhold(struct client_rx *r, uint32_t from)
{
	while (r->nb_held > from)
		r->repost[r->nb_repost++] = r->held[--r->nb_held];
}

/* A lent frame's token: its first buffer's id, and how many times that buffer was lent. */
static uint64_t
client_token(const struct client_rx *r, uint32_t id)
{
	return (uint64_t)r->lent_gen[id] << 32 | id;
}

/*
 * rx_hold: lend the buffers held since @from, the frame of @token's slot, to the caller;
 * if @added is false the frame was dropped and they are posted again instead.
 */
static void
client_rx_lend(struct client_rx *r, uint32_t from, bool added, uint64_t *token)
{
	uint32_t k;

	if (!added) {
		client_rx_unhold(r, from);
		return;
	}
	for (k = from; k < r->nb_held; k++) {
		r->posted[r->held[k]] = CLIENT_BUF_LENT;
		r->lent_next[r->held[k]] = k + 1 < r->nb_held ? r->held[k + 1] : EP_NONE;
		r->lent_gen[r->held[k]]++;
	}
	*token = client_token(r, r->held[from]);
	r->nb_held = from;
	r->nb_lent++;
}

static unsigned int
client_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames, unsigned int max,
		struct shmlink_seg *segs, unsigned int max_segs, uint64_t *tokens)
{
	struct client_rx *r = &ep->rx.c;
	struct shmlink_buf bufs[SHMLINK_FRAME_MAX_BUFS];
	unsigned int nf = 0, nsegs = 0;
	bool pulled = false;

	if (r->nb_repost > 0)
		client_rx_post(r);
	while (nf < max && (tokens == NULL || r->nb_lent < ep->conf.rx_hold)) {
		uint32_t from = r->nb_held;
		unsigned int before = nf;
		uint64_t mark = shmlink_pipe_rx_mark(&r->compl);
		const void *rec;
		uint32_t len, total, nb;
		int64_t n;

		rec = pipe_rx_pull(&r->compl, &len);
		if (rec == NULL)
			break;
		if (!pulled) {	/* frames are there: fetch the burst's records together */
			pipe_rx_prefetch(&r->compl, (uint64_t)(max - 1) *
					shmlink_pipe_slot_bytes(shmlink_rxc_len(1)));
			pulled = true;
		}
		n = q_rxc_decode(rec, len, &total, bufs, SHMLINK_FRAME_MAX_BUFS);
		if (n <= 0) {
			ep->rx.st.err[SHMLINK_ERR_RX_COMPL]++;
			continue;
		}
		nb = n > SHMLINK_FRAME_MAX_BUFS ? SHMLINK_FRAME_MAX_BUFS : (uint32_t)n;
		if (nsegs + nb > max_segs && nf > 0) {
			/* No room for its segments in this burst: leave it for the next. */
			shmlink_pipe_rx_rewind(&r->compl, mark);
			break;
		}
		if (!client_rx_take(r, bufs, nb, total) || nb < n) {
			ep->rx.st.err[SHMLINK_ERR_RX_COMPL]++;
			if (tokens != NULL)
				client_rx_unhold(r, from);
			continue;
		}
		ep_rx_add(ep, r->data, bufs, nb, total, frames, &nf, segs, &nsegs, max_segs);
		if (tokens != NULL)
			client_rx_lend(r, from, nf > before, &tokens[before]);
	}
	/* The records are decoded; the buffers stay held until the release. */
	pipe_rx_flush(&r->compl);
	ep->rx.pending = r->nb_held > 0;
	return nf;
}

static void
client_rx_release(struct shmlink_ep *ep)
{
	struct client_rx *r = &ep->rx.c;

	client_rx_unhold(r, 0);
	client_rx_post(r);
}

/* The chain of a lent frame, walked no further than a frame's buffers can be. A token
 * whose buffer is not lent, or was lent again since (another count), is ignored. */
static void
client_rx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n)
{
	struct client_rx *r = &ep->rx.c;
	unsigned int i, k;

	for (i = 0; i < n; i++) {
		uint64_t id = (uint32_t)tokens[i];

		if (id >= r->nb_bufs || r->posted[id] != CLIENT_BUF_LENT ||
				client_token(r, (uint32_t)id) != tokens[i])
			continue;
		for (k = 0; k < SHMLINK_FRAME_MAX_BUFS && id < r->nb_bufs &&
				r->posted[id] == CLIENT_BUF_LENT; k++) {
			r->posted[id] = CLIENT_BUF_OURS;
			r->repost[r->nb_repost++] = (uint32_t)id;
			id = r->lent_next[id];
		}
		r->nb_lent--;
	}
	client_rx_post(r);
}

static uint32_t
client_rx_lent(const struct shmlink_ep *ep)
{
	return ep->rx.c.nb_lent;
}

/* A lent TX chunk's token: its index, and how many times it was lent. */
static uint64_t
client_tx_token(const struct client_tx *t, uint32_t c)
{
	return (uint64_t)t->chunk_gen[c] << 32 | c;
}

static unsigned int
client_tx_lend(struct shmlink_ep *ep, struct shmlink_tx_chunk *chunks, unsigned int n)
{
	struct client_tx *t = &ep->tx.c;
	unsigned int i;

	client_tx_reap(ep);
	for (i = 0; i < n && t->nb_lent < ep->conf.tx_hold && t->nb_free_chunks > 0; i++) {
		uint32_t c = client_chunk_take(t);

		t->chunk_state[c] = CHUNK_LENT;
		t->chunk_gen[c]++;
		chunks[i].addr = t->data + (uint64_t)c * t->buf_size;
		chunks[i].size = t->buf_size;
		chunks[i].token = client_tx_token(t, c);
		t->nb_lent++;
	}
	return i;
}

static void
client_tx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n)
{
	struct client_tx *t = &ep->tx.c;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t c = (uint32_t)tokens[i];

		if (c >= t->nb_chunks || !(t->chunk_state[c] & CHUNK_LENT) ||
				client_tx_token(t, c) != tokens[i])
			continue;
		t->chunk_state[c] &= ~CHUNK_LENT;
		t->nb_lent--;
		if (t->chunk_state[c] == 0)
			client_chunk_put(t, c);
	}
}

static uint32_t
client_tx_lent(const struct shmlink_ep *ep)
{
	return ep->tx.c.nb_lent;
}

static void
client_buffers_get(const struct shmlink_ep *ep, struct shmlink_ep_buffers *b)
{
	b->tx_chunks = ep->tx.c.nb_chunks;
	b->tx_chunks_inflight = ep->tx.c.nb_chunks - ep->tx.c.nb_free_chunks;
	b->rx_bufs = ep->rx.c.nb_bufs;
	b->rx_bufs_posted = ep->rx.c.nb_posted;
}

const struct ep_role_ops client_ops = {
	.create = client_create,
	.destroy = client_destroy,
	.tx_burst = client_tx_burst,
	.rx_burst = client_rx_burst,
	.rx_release = client_rx_release,
	.rx_return = client_rx_return,
	.rx_lent = client_rx_lent,
	.tx_lend = client_tx_lend,
	.tx_return = client_tx_return,
	.tx_lent = client_tx_lent,
	.buffers_get = client_buffers_get,
};
